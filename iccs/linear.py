"""A fitted linear layer stored as plain arrays: no pickle, and sparse when pruned.

Both experts end in one of these. `kind` says how scores become log-probabilities:
`softmax` for a multinomial logistic regression, `margin` for SVM scores that the blend and the
temperature turn into probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import sparse

Kind = Literal["softmax", "margin"]


def log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@dataclass
class LinearHead:
    coef: np.ndarray | sparse.csr_matrix  # (n_classes, n_features)
    intercept: np.ndarray  # (n_classes,)
    kind: Kind

    @classmethod
    def from_estimator(cls, estimator: object, kind: Kind, prune_below: float = 0.0) -> LinearHead:
        coef = np.asarray(estimator.coef_, dtype=np.float32)  # type: ignore[attr-defined]
        intercept = np.asarray(estimator.intercept_, dtype=np.float32)  # type: ignore[attr-defined]
        if prune_below > 0:
            coef[np.abs(coef) < prune_below] = 0.0
            return cls(sparse.csr_matrix(coef), intercept, kind)
        return cls(coef, intercept, kind)

    def __post_init__(self) -> None:
        # Transposed once, in the layout the product needs; transposing a sparse matrix per
        # call costs more than the product itself.
        self._coef_t = sparse.csr_matrix(self.coef.T) if sparse.issparse(self.coef) else self.coef.T

    def log_scores(self, features: np.ndarray | sparse.spmatrix) -> np.ndarray:
        raw = features @ self._coef_t
        scores = np.asarray(raw.toarray() if sparse.issparse(raw) else raw) + self.intercept
        return log_softmax(scores) if self.kind == "softmax" else scores

    def save(self, path: Path) -> None:
        if isinstance(self.coef, sparse.csr_matrix):
            coef = self.coef
            np.savez_compressed(
                path,
                kind=self.kind,
                intercept=self.intercept,
                shape=np.array(coef.shape),
                data=coef.data.astype(np.float32),
                indices=coef.indices,
                indptr=coef.indptr,
            )
        else:
            np.savez_compressed(path, kind=self.kind, intercept=self.intercept, coef=self.coef)

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path, allow_pickle=False) as f:
            kind: Kind = "softmax" if str(f["kind"]) == "softmax" else "margin"
            if "coef" in f:
                return cls(f["coef"], f["intercept"], kind)
            coef = sparse.csr_matrix(
                (f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"])
            )
            return cls(coef, f["intercept"], kind)
