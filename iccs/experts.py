"""The classifier's experts: each turns canonical texts into log-scores over the label classes.

An expert is fitted on texts already passed through `iccs.text.normalize`, so every expert sees
the same key and case, accent or spacing variants of a text get the same scores. Adding an
expert means one class here and one entry in `build_experts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from iccs.embedders import encode_shared, file_stem
from iccs.linear import LinearHead


class Expert(Protocol):
    name: str

    @property
    def kind(self) -> str:
        """`margin` (scores to be scaled before the softmax) or `softmax` (log-probabilities)."""
        ...

    def fit(
        self, texts: Sequence[str], y: np.ndarray, sample_weight: np.ndarray | None
    ) -> None: ...

    def scores(self, texts: Sequence[str]) -> np.ndarray: ...

    def save(self, directory: Path) -> None: ...

    def load(self, directory: Path) -> None: ...


class LexicalExpert:
    """Word and character TF-IDF n-grams into a linear SVM (margins) or a logistic regression.

    Character n-grams carry most of what transfers to another jurisdiction's wording (shared
    stems such as `hurt`, `homicid`, `절도`); word n-grams add phrase-level evidence.
    """

    name = "lexical"

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.word_vectorizer: TfidfVectorizer | None = None
        self.char_vectorizer: TfidfVectorizer | None = None
        self.head: LinearHead | None = None

    @property
    def kind(self) -> str:
        return "margin" if self.settings["lexical_model"] == "svm" else "softmax"

    def _features(self, texts: Sequence[str], fit: bool = False) -> sparse.csr_matrix:
        blocks = []
        for vectorizer in (self.word_vectorizer, self.char_vectorizer):
            if vectorizer is not None:
                blocks.append(
                    vectorizer.fit_transform(texts) if fit else vectorizer.transform(texts)
                )
        return sparse.hstack(blocks).tocsr()

    def fit(self, texts: Sequence[str], y: np.ndarray, sample_weight: np.ndarray | None) -> None:
        s = self.settings
        self.word_vectorizer = (
            TfidfVectorizer(
                ngram_range=(1, s["word_ngram_max"]),
                sublinear_tf=True,
                max_features=s["max_word_features"],
                token_pattern=r"(?u)\b\w+\b",
                dtype=np.float32,
            )
            if s["word_ngram_max"] > 0
            else None
        )
        self.char_vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(s["char_ngram_min"], s["char_ngram_max"]),
            sublinear_tf=True,
            min_df=2,
            max_features=s["max_char_features"],
            dtype=np.float32,
        )
        x = self._features(texts, fit=True)
        estimator: LinearSVC | LogisticRegression
        if s["lexical_model"] == "svm":
            estimator = LinearSVC(C=s["lexical_c"], random_state=s["seed"], max_iter=2000)
        else:
            estimator = LogisticRegression(
                C=s["lexical_c"], max_iter=s["max_iter"], random_state=s["seed"]
            )
        estimator.fit(x, y, sample_weight=sample_weight)
        self.head = LinearHead.from_estimator(
            estimator,
            kind="margin" if self.kind == "margin" else "softmax",
            prune_below=s["prune_below"],
        )

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        assert self.head is not None, "the lexical expert is not fitted"
        return self.head.log_scores(self._features(texts))

    def save(self, directory: Path) -> None:
        assert self.head is not None
        joblib.dump(
            {"word": self.word_vectorizer, "char": self.char_vectorizer},
            directory / "vectorizers.joblib",
            compress=3,
        )
        self.head.save(directory / "lexical.npz")

    def load(self, directory: Path) -> None:
        vectorizers = joblib.load(directory / "vectorizers.joblib")
        self.word_vectorizer, self.char_vectorizer = vectorizers["word"], vectorizers["char"]
        self.head = LinearHead.load(directory / "lexical.npz")


class SemanticExpert:
    """A sentence embedder (named, loaded once per process) and a multinomial logistic head."""

    def __init__(self, embedder: str, settings: dict[str, Any]) -> None:
        self.embedder = embedder
        self.name = f"semantic:{embedder}"
        self.settings = settings
        self.head: LinearHead | None = None

    @property
    def kind(self) -> str:
        return "softmax"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return encode_shared(self.embedder, texts)

    def fit(self, texts: Sequence[str], y: np.ndarray, sample_weight: np.ndarray | None) -> None:
        s = self.settings
        estimator = LogisticRegression(
            C=s["semantic_c"], max_iter=s["max_iter"], random_state=s["seed"]
        )
        estimator.fit(self.embed(texts), y, sample_weight=sample_weight)
        self.head = LinearHead.from_estimator(estimator, kind="softmax")

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        assert self.head is not None, f"the {self.name} expert is not fitted"
        return self.head.log_scores(self.embed(texts))

    def _file(self, directory: Path) -> Path:
        return directory / f"semantic-{file_stem(self.embedder)}.npz"

    def save(self, directory: Path) -> None:
        assert self.head is not None
        self.head.save(self._file(directory))

    def load(self, directory: Path) -> None:
        path = self._file(directory)
        if not path.is_file():
            raise FileNotFoundError(f"{directory} names embedder {self.embedder} but has no head")
        self.head = LinearHead.load(path)


class NearestNeighbourExpert:
    """A memory of the labelled rows: per class, the cosine similarity of the text to the
    closest training text of that class (a margin the blend scales). It remembers exact
    wordings of other jurisdictions that a linear head averages away."""

    def __init__(self, embedder: str, settings: dict[str, Any]) -> None:
        self.embedder = embedder
        self.name = f"knn:{embedder}"
        self.settings = settings
        self.vectors: np.ndarray | None = None  # training rows sorted by class, float16
        self.starts: np.ndarray | None = None  # first row of each present class
        self.present: np.ndarray | None = None  # class index of each run
        self.n_classes = 0
        self._columns: np.ndarray | None = None

    @property
    def kind(self) -> str:
        return "margin"

    def fit(self, texts: Sequence[str], y: np.ndarray, sample_weight: np.ndarray | None) -> None:
        order = np.argsort(y, kind="stable")
        self.vectors = encode_shared(self.embedder, texts)[order].astype(np.float16)
        labels = y[order]
        self.starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        self.present = labels[self.starts]
        self.n_classes = int(y.max()) + 1
        self._columns = None

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        assert self.vectors is not None and self.starts is not None and self.present is not None
        out = np.full((len(texts), self.n_classes), -1.0, dtype=np.float32)
        if len(texts):
            sims = encode_shared(self.embedder, texts) @ self._matrix()
            out[:, self.present] = np.maximum.reduceat(sims, self.starts, axis=1)
        return out

    def _matrix(self) -> np.ndarray:
        """The rows as float32 columns, made once: converting per call cost more than the
        product itself."""
        if self._columns is None:
            assert self.vectors is not None
            self._columns = np.ascontiguousarray(self.vectors.T, dtype=np.float32)
        return self._columns

    def _file(self, directory: Path) -> Path:
        return directory / f"knn-{file_stem(self.embedder)}.npz"

    def save(self, directory: Path) -> None:
        assert self.vectors is not None and self.starts is not None and self.present is not None
        np.savez_compressed(
            self._file(directory),
            vectors=self.vectors,
            starts=self.starts,
            present=self.present,
            n_classes=self.n_classes,
        )

    def load(self, directory: Path) -> None:
        with np.load(self._file(directory), allow_pickle=False) as f:
            self.vectors, self.starts, self.present = f["vectors"], f["starts"], f["present"]
            self.n_classes = int(f["n_classes"])
        self._columns = None


def build_experts(settings: dict[str, Any]) -> list[Expert]:
    """The experts a configuration names: lexical, one head per embedder, then the memory."""
    experts: list[Expert] = [LexicalExpert(settings)]
    experts += [SemanticExpert(name, settings) for name in settings["embedders"]]
    if settings.get("knn_embedder"):
        experts.append(NearestNeighbourExpert(settings["knn_embedder"], settings))
    return experts
