"""A memory of validated decisions, consulted at prediction time without retraining.

Rows are (text, ICCS code) pairs: validated correspondence-table rows and analysts' final
decisions. A text to classify is compared with every remembered text in the model's own lexical
representation (its TF-IDF word and character n-grams, cosine similarity: cheap, no embedder
call); the codes of its nearest rows form a distribution that is mixed into the model's
calibrated probabilities. How much the memory counts grows with the similarity of the closest
row, along a logistic curve whose parameters were fitted on held-out jurisdictions
(`benchmarks/bench_memory.py`, `fit_mixing`), so an identical wording of a validated row is
almost certain and a distant one changes little.

The classifier's own prediction path is untouched: `RememberingClassifier` wraps its
`predict_proba` and reuses its `suggestions_from_proba`, so confidences, the review threshold
and the suggestion order mean what they mean for the model alone. This module knows nothing of
databases: callers hand it rows.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize as l2_normalize

from iccs.classifier import ICCSClassifier
from iccs.experts import LexicalExpert
from iccs.hierarchy import NONE_CODE
from iccs.predict import Predictor, predictions
from iccs.suggestions import Prediction
from iccs.taxonomy import CodeError
from iccs.text import normalize

logger = logging.getLogger(__name__)

_QUERY_CELLS = 4_000_000  # query rows x memory rows compared at once (bounds the dense block)


@dataclass(frozen=True)
class MemoryRow:
    """One validated decision: a text and the code people settled on."""

    text: str
    code: str


@dataclass(frozen=True)
class MixingParams:
    """How the neighbours' codes are mixed into the model's probabilities.

    weight = ceiling * sigmoid(slope * (closest similarity - midpoint)); neighbour j counts
    exp(sharpness * (s_j - s_closest)) in the memory's distribution. Defaults: fitted by
    `benchmarks/bench_memory.py` on Argentina (a jurisdiction neither the benchmark's model nor
    its reported rows include), see the README.
    """

    neighbours: int = 5
    sharpness: float = 10.0
    slope: float = 8.0
    midpoint: float = 0.6
    ceiling: float = 0.99

    def weight(self, closest: np.ndarray) -> np.ndarray:
        return self.ceiling / (1.0 + np.exp(-self.slope * (closest - self.midpoint)))


class DecisionSource(Protocol):
    """Where `iccs classify` finds validated decisions (the service's database, through the
    `iccs.decisions` entry point; the core never imports the service)."""

    def predictor(self, classifier: ICCSClassifier) -> Predictor:
        """The model with the memory of every validated decision."""
        ...

    def validated_codes(self, scheme: str) -> dict[str, str]:
        """National code -> validated ICCS code, for one scheme."""
        ...


def decision_source() -> DecisionSource | None:
    """The installed source of validated decisions, or None when none is configured."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="iccs.decisions"):
        try:
            source: DecisionSource | None = entry.load()()
        except ImportError as exc:  # a partial install classifies with the model alone
            logger.debug("decision source %s unavailable: %s", entry.name, exc)
            continue
        if source is not None:
            return source
    return None


def lexical_features(classifier: ICCSClassifier, keys: Sequence[str]) -> sparse.csr_matrix:
    """Unit-length TF-IDF rows of normalised texts, from the model's lexical expert."""
    expert = next((e for e in classifier.experts if isinstance(e, LexicalExpert)), None)
    if expert is None or expert.char_vectorizer is None:
        raise ValueError("the memory needs a model with a fitted lexical expert")
    blocks = [
        v.transform(keys) for v in (expert.word_vectorizer, expert.char_vectorizer) if v is not None
    ]
    matrix: sparse.csr_matrix = l2_normalize(sparse.hstack(blocks).tocsr())
    return matrix


@dataclass(frozen=True)
class _Store:
    """The remembered rows in the model's terms (immutable: a refresh swaps in a new one)."""

    columns: sparse.csr_matrix  # features x memory rows, unit-length columns (made once:
    # a CSR query times this is cheap; times the rows' transpose, scipy converts it every call)
    labels: np.ndarray  # class index of each row
    size: int


class DecisionMemory:
    """The rows a model remembers, searchable by similarity; thread-safe to replace."""

    def __init__(
        self,
        classifier: ICCSClassifier,
        rows: Iterable[MemoryRow] = (),
        params: MixingParams | None = None,
    ) -> None:
        self.classifier = classifier
        self.params = params or MixingParams()
        self._class_index = {c: i for i, c in enumerate(classifier.classes_)}
        self._lock = threading.Lock()
        self._store = self._build(list(rows))

    def __len__(self) -> int:
        return self._store.size

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (Ray ships the model to its workers); the lock is made anew."""
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def replace(self, rows: Iterable[MemoryRow]) -> int:
        """Remember exactly these rows (a refresh); returns how many could be used."""
        store = self._build(list(rows))
        with self._lock:
            self._store = store
        return store.size

    def class_of(self, code: str) -> int | None:
        """The model class a remembered code counts for: the code itself, else its deepest
        ancestor the model knows; None for codes outside the taxonomy."""
        if code == NONE_CODE:
            return self._class_index.get(NONE_CODE)
        taxonomy = self.classifier.taxonomy
        try:
            canonical = taxonomy.normalize(code)
        except CodeError:
            return None
        for candidate in [canonical, *reversed(taxonomy.ancestors(canonical))]:
            if candidate in self._class_index:
                return self._class_index[candidate]
        return None

    def _build(self, rows: list[MemoryRow]) -> _Store:
        labelled = [(normalize(r.text), self.class_of(r.code)) for r in rows if r.text.strip()]
        usable = [(key, label) for key, label in labelled if label is not None]
        skipped = len(rows) - len(usable)
        if skipped:
            logger.info("memory: %d rows with unusable codes or empty texts left out", skipped)
        if not usable:
            width = lexical_features(self.classifier, [""]).shape[1]
            return _Store(sparse.csr_matrix((width, 0), dtype=np.float32), np.zeros(0, int), 0)
        keys = [key for key, _ in usable]
        labels = np.array([label for _, label in usable], dtype=np.int64)
        columns = sparse.csr_matrix(lexical_features(self.classifier, keys).T)
        return _Store(columns, labels, len(usable))

    def neighbours(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """For each normalised text, the similarities (descending) and class indexes of its
        closest remembered rows; rows beyond the memory's size have similarity 0, class -1."""
        store = self._store
        k = self.params.neighbours
        sims = np.zeros((len(keys), k), dtype=np.float32)
        labels = np.full((len(keys), k), -1, dtype=np.int64)
        if not store.size or not keys:
            return sims, labels
        features = lexical_features(self.classifier, keys)
        step = max(1, _QUERY_CELLS // store.size)
        for start in range(0, len(keys), step):
            block = (features[start : start + step] @ store.columns).toarray()
            take = min(k, store.size)
            top = np.argpartition(-block, take - 1, axis=1)[:, :take]
            top_sims = np.take_along_axis(block, top, axis=1)
            order = np.argsort(-top_sims, axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            sims[start : start + step, :take] = np.take_along_axis(top_sims, order, axis=1)
            labels[start : start + step, :take] = store.labels[top]
        return np.clip(sims, 0.0, 1.0), labels

    def mix(self, proba: np.ndarray, keys: Sequence[str]) -> np.ndarray:
        """The model's probabilities with the neighbours' codes mixed in."""
        if not len(self):
            return proba
        sims, labels = self.neighbours(keys)
        return mix_neighbours(proba, sims, labels, self.params)


def neighbour_distribution(
    sims: np.ndarray, labels: np.ndarray, n_classes: int, params: MixingParams
) -> np.ndarray:
    """Per text, the neighbours' codes as a distribution over classes (closest weigh most)."""
    valid = labels >= 0
    weights = np.where(valid, np.exp(params.sharpness * (sims - sims[:, :1])), 0.0)
    out = np.zeros((len(sims), n_classes))
    rows = np.repeat(np.arange(len(sims)), labels.shape[1])
    np.add.at(out, (rows[valid.ravel()], labels[valid]), weights[valid])
    total = out.sum(axis=1, keepdims=True)
    return np.divide(out, total, out=np.zeros_like(out), where=total > 0)


def mix_neighbours(
    proba: np.ndarray, sims: np.ndarray, labels: np.ndarray, params: MixingParams
) -> np.ndarray:
    """(1 - w) * model + w * neighbours, w from the closest neighbour's similarity."""
    memory = neighbour_distribution(sims, labels, proba.shape[1], params)
    weight = np.where(labels[:, 0] >= 0, params.weight(sims[:, 0]), 0.0)[:, None]
    mixed: np.ndarray = (1.0 - weight) * proba + weight * memory
    return mixed


def fit_mixing(
    proba: np.ndarray,
    sims: np.ndarray,
    labels: np.ndarray,
    gold: np.ndarray,
    neighbours: int = 5,
) -> MixingParams:
    """The parameters that maximise the log-likelihood of the gold classes on held-out rows
    (rows whose neighbours come from a memory that does not contain them); a grid search,
    since four numbers and a few thousand rows do not need more."""
    best: tuple[float, MixingParams] | None = None
    rows = np.arange(len(gold))
    grid = itertools.product(
        (5.0, 10.0, 20.0, 40.0),  # sharpness
        (4.0, 8.0, 16.0, 32.0),  # slope
        (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),  # midpoint
        (0.5, 0.7, 0.8, 0.9, 0.95, 0.99),  # ceiling
    )
    for sharpness, slope, midpoint, ceiling in grid:
        params = MixingParams(neighbours, sharpness, slope, midpoint, ceiling)
        mixed = mix_neighbours(proba, sims, labels, params)
        loglik = float(np.log(np.maximum(mixed[rows, gold], 1e-9)).mean())
        if best is None or loglik > best[0] + 1e-12:
            best = (loglik, params)
    assert best is not None
    return best[1]


class RememberingClassifier:
    """A classifier whose probabilities take a decision memory into account.

    Offers what `iccs.predict` calls (`predict_proba`, `suggestions_from_proba`, `with_tags`)
    and `suggest`; for anything else use `.classifier`.
    Tags come from the classifier's tag model alone: the memory remembers codes, not tags.
    """

    def __init__(self, classifier: ICCSClassifier, memory: DecisionMemory) -> None:
        self.classifier = classifier
        self.memory = memory

    def predict_proba(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> np.ndarray:
        proba = self.classifier.predict_proba(texts, languages)
        return self.memory.mix(proba, [normalize(t) for t in texts])

    def suggestions_from_proba(self, class_proba: np.ndarray, top_k: int) -> list[Prediction]:
        return self.classifier.suggestions_from_proba(class_proba, top_k)

    def with_tags(self, predictions: list[Prediction], texts: Sequence[str]) -> list[Prediction]:
        return self.classifier.with_tags(predictions, texts)

    def suggest(
        self, texts: Sequence[str], top_k: int = 3, languages: Sequence[str | None] | None = None
    ) -> list[Prediction]:
        """As `ICCSClassifier.suggest`, with the memory (the same one composition)."""
        return predictions(self, texts, languages, top_k)
