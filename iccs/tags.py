"""Tags (disaggregating variables): how an act happened, predicted beside its ICCS code.

Four tags, each a closed set of values where `unknown` is an answer like any other (the text
does not say): `cyber`, `attempt`, `weapon`, `context` (see datasets/LABELLING.md section 10).
`TagPredictor` follows scikit-learn's contract (`fit`, `predict_proba`, `predict`): one
multinomial logistic regression per tag on character n-gram TF-IDF of the normalised text, so
the same features work for English, Spanish and Korean (the cyber tag also on word n-grams); one
temperature per tag, fitted on rows held out from the fit, makes the confidences honest, and a
cyber-related threshold chosen on held-out rows is the cyber tag's operating point. Serving costs
one TF-IDF transform and one sparse product for all tags together (the weights are stacked), a
small share of a code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iccs.calibration import best_temperature, softmax
from iccs.text import normalize

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
TAGS: dict[str, tuple[str, ...]] = {
    "cyber": ("cyber_dependent", "cyber_enabled", "not_cyber", UNKNOWN),
    "attempt": ("attempted", "completed", UNKNOWN),
    "weapon": ("firearm", "knife_or_sharp", "other_weapon", "no_weapon", UNKNOWN),
    "context": ("intimate_partner_or_family", "other", UNKNOWN),
}
CYBER_RELATED = frozenset({"cyber_dependent", "cyber_enabled"})
TAGS_FOLDER = "tags"
_VECTORIZER_FILE = "vectorizer.joblib"
_WEIGHTS_FILE = "weights.npz"
_CONFIG_FILE = "config.json"


class TagError(ValueError):
    """Tag labels that are not in the closed sets above, or a tag folder that cannot load."""


@dataclass(frozen=True)
class TagValue:
    tag: str
    value: str
    confidence: float


@dataclass
class TagConfig:
    """Hyperparameters of the tag model (saved with it)."""

    char_ngram_min: int = 2
    char_ngram_max: int = 4
    max_features: int = 60_000
    # > 0: word 1..N-gram TF-IDF beside the character n-grams (whole words such as "internet"
    # keep their weight in long legal texts) for the tags in `word_ngram_tags`; 0: none.
    word_ngram_max: int = 2
    max_word_features: int = 40_000
    word_ngram_tags: list[str] = field(default_factory=lambda: ["cyber"])
    c: float = 4.0
    # Rare values (cyber-related, weapons) weigh more: "sqrt" by 1/sqrt(frequency), "balanced"
    # by 1/frequency, None not at all. More recall on them, a little less precision.
    class_weight: str | None = "sqrt"
    max_iter: int = 300
    tol: float = 1e-3  # 10x faster than scikit-learn's default, same accuracy on the corpus
    calibration_share: float = 0.15  # rows held out of the first fit to fit the temperatures
    seed: int = 13
    # A sentence embedder whose vectors join the character n-grams (the classifier computes
    # them for the same texts, so a served text pays nothing more); "" = n-grams only.
    embedder: str = ""
    embedding_scale: float = 1.0
    # The cyber-related operating point (`TagPredictor.cyber_threshold`): "" keeps the most
    # probable value; "min_pr" picks the threshold on P(cyber_dependent) + P(cyber_enabled)
    # that maximises min(precision, recall), on the rows held out for the temperatures, and
    # `iccs tags train` then on the pooled leave-one-jurisdiction-out rows (unseen countries).
    cyber_operating: str = "min_pr"

    def __post_init__(self) -> None:
        self.class_weight = None if self.class_weight in ("", "none") else self.class_weight
        if self.class_weight not in (None, "sqrt", "balanced"):
            raise ValueError(f"class_weight must be sqrt, balanced or none: {self.class_weight!r}")
        if self.cyber_operating not in ("", "min_pr"):
            raise ValueError(f"cyber_operating must be '' or min_pr: {self.cyber_operating!r}")


def check_value(tag: str, value: str) -> str:
    """The value if it belongs to the tag's closed set, else TagError."""
    if tag not in TAGS:
        raise TagError(f"unknown tag {tag!r} (one of {', '.join(TAGS)})")
    if value not in TAGS[tag]:
        raise TagError(f"unknown value {value!r} for tag {tag!r} (one of {', '.join(TAGS[tag])})")
    return value


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """The temperature of least negative log-likelihood on held-out rows (1 with none)."""
    return best_temperature(logits, gold)[0] if len(gold) else 1.0


class NgramFeatures:
    """Character and word n-gram TF-IDF side by side. scikit-learn's FeatureUnion does the same
    through joblib, whose per-call overhead tripled the time of one text."""

    def __init__(self, chars: Any, words: Any) -> None:
        self.chars, self.words = chars, words

    def fit_transform(self, keys: Sequence[str]) -> Any:
        from scipy import sparse

        blocks = [self.chars.fit_transform(keys), self.words.fit_transform(keys)]
        return sparse.hstack(blocks, format="csr")

    def transform(self, keys: Sequence[str]) -> Any:
        from scipy import sparse

        blocks = [self.chars.transform(keys), self.words.transform(keys)]
        return sparse.hstack(blocks, format="csr")

    @property
    def word_columns(self) -> range:
        first = len(self.chars.vocabulary_)
        return range(first, first + len(self.words.vocabulary_))


def _vectorizer(config: TagConfig) -> Any:
    """Character n-gram TF-IDF, with word n-gram TF-IDF beside it when the config asks."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(config.char_ngram_min, config.char_ngram_max),
        max_features=config.max_features,
        sublinear_tf=True,
        dtype=np.float32,
    )
    if config.word_ngram_max <= 0:
        return chars
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, config.word_ngram_max),
        token_pattern=r"(?u)\b\w+\b",  # one-letter words and Hangul syllables count
        max_features=config.max_word_features,
        sublinear_tf=True,
        dtype=np.float32,
    )
    return NgramFeatures(chars, words)


def _class_weights(gold: np.ndarray, scheme: str | None) -> dict[str, float] | str | None:
    if scheme != "sqrt":
        return scheme
    values, counts = np.unique(gold, return_counts=True)
    weights = 1.0 / np.sqrt(counts / counts.sum())
    weights /= np.average(weights, weights=counts)  # the average row still weighs 1
    return {str(v): float(w) for v, w in zip(values, weights, strict=True)}


class TagPredictor:
    """One calibrated multinomial model per tag over shared character n-gram features."""

    def __init__(self, config: TagConfig | None = None) -> None:
        self.config = config or TagConfig()
        self.classes_: dict[str, list[str]] = {}
        self.temperatures: dict[str, float] = {}
        self.vectorizer: Any = None
        self._coef: np.ndarray = np.zeros((0, 0), dtype=np.float32)  # features x all classes
        self._intercept: np.ndarray = np.zeros(0, dtype=np.float32)
        self._spans: dict[str, slice] = {}  # tag -> its columns in the stacked weights
        # An operating point, chosen on held-out rows after fitting: a text is cyber-related
        # when P(cyber_dependent) + P(cyber_enabled) reaches it (None: the most probable value).
        self.cyber_threshold: float | None = None

    @property
    def tags(self) -> list[str]:
        return list(self.classes_)

    # ---- training -------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        labels: Mapping[str, Sequence[str]],
        sample_weight: np.ndarray | None = None,
    ) -> TagPredictor:
        """Fit on `labels[tag][i]` for text i ('' where a row has no label for that tag).

        A share of the rows is held out of a first fit to fit each tag's temperature; the
        final weights are then fitted on every row and keep that temperature.
        """
        keys = [normalize(t) for t in texts]
        weights = np.ones(len(keys)) if sample_weight is None else np.asarray(sample_weight)
        for tag, values in labels.items():
            for value in set(values) - {""}:
                check_value(tag, value)
        self.vectorizer = _vectorizer(self.config)
        features = self._with_embeddings(self.vectorizer.fit_transform(keys), keys)
        rng = np.random.default_rng(self.config.seed)
        held = rng.random(len(keys)) < self.config.calibration_share
        coefs, intercepts = [], []
        self.classes_, self.temperatures, self._spans = {}, {}, {}
        self.cyber_threshold = None
        start = 0
        for tag in TAGS:
            if tag not in labels:
                continue
            gold = np.asarray(labels[tag], dtype=object)
            labelled = gold != ""
            classes = sorted(set(gold[labelled]))
            if not classes:
                continue
            columns = self._columns(tag, features.shape[1])
            own = features[:, columns]
            self.temperatures[tag] = self._temperature(
                own, gold, weights, labelled & ~held, labelled & held
            )
            fitted, intercept = self._fit_one(own[labelled], gold[labelled], weights[labelled])
            coef = np.zeros((features.shape[1], fitted.shape[1]), dtype=np.float32)
            coef[columns] = fitted  # features a tag does not use weigh nothing for it
            self.classes_[tag] = classes
            coefs.append(coef)
            intercepts.append(intercept)
            self._spans[tag] = slice(start, start + len(classes))
            start += len(classes)
        if not coefs:
            raise TagError("no tag labels to learn from")
        self._coef = np.hstack(coefs).astype(np.float32)
        self._intercept = np.concatenate(intercepts).astype(np.float32)
        return self

    def _columns(self, tag: str, n_features: int) -> np.ndarray:
        """The feature columns a tag learns from: the word n-grams only for the tags in
        `word_ngram_tags` (they help cyber, and cost the other tags on held-out countries)."""
        every = np.arange(n_features)
        if self.config.word_ngram_max <= 0 or tag in self.config.word_ngram_tags:
            return every
        words = self.vectorizer.word_columns
        return every[(every < words.start) | (every >= words.stop)]

    def _with_embeddings(self, ngrams: Any, keys: Sequence[str]) -> Any:
        if not self.config.embedder:
            return ngrams
        from scipy import sparse

        from iccs.embedders import encode_shared

        vectors = encode_shared(self.config.embedder, keys) * self.config.embedding_scale
        return sparse.hstack([ngrams, sparse.csr_matrix(vectors)], format="csr")

    def _fit_one(
        self, features: Any, gold: np.ndarray, weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Weights (features x classes) and intercepts over the sorted classes of `gold`."""
        classes = sorted(set(gold))
        if len(classes) == 1:  # a constant tag: the class is certain
            n = features.shape[1]
            return np.zeros((n, 1), dtype=np.float32), np.zeros(1, dtype=np.float32)
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(
            C=self.config.c,
            max_iter=self.config.max_iter,
            tol=self.config.tol,
            class_weight=_class_weights(gold, self.config.class_weight),
            random_state=self.config.seed,
        )
        model.fit(features, gold, sample_weight=weights)
        coef, intercept = model.coef_, model.intercept_
        if len(classes) == 2:  # scikit-learn keeps one row for two classes
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
        return coef.T.astype(np.float32), intercept.astype(np.float32)

    def _temperature(
        self,
        features: Any,
        gold: np.ndarray,
        weights: np.ndarray,
        fit_rows: np.ndarray,
        held_rows: np.ndarray,
    ) -> float:
        classes = sorted(set(gold[fit_rows]))
        if len(classes) < 2 or not held_rows.any():
            return 1.0
        coef, intercept = self._fit_one(features[fit_rows], gold[fit_rows], weights[fit_rows])
        index = {c: i for i, c in enumerate(classes)}
        known = np.array([g in index for g in gold[held_rows]])
        logits = np.asarray(features[held_rows][known] @ coef) + intercept
        targets = np.array([index[g] for g in gold[held_rows][known]], dtype=int)
        temperature = fit_temperature(logits, targets)
        is_cyber = bool(CYBER_RELATED & set(classes)) and set(classes) <= set(TAGS["cyber"])
        if self.config.cyber_operating and is_cyber:
            # the fallback operating point (`iccs tags train` replaces it by the LOJO one)
            proba = softmax(logits / temperature)
            self.cyber_threshold = best_cyber_threshold(gold[held_rows][known], proba, classes)
        return temperature

    # ---- prediction -------------------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per tag, columns in `classes_[tag]` order."""
        if not texts:
            return {tag: np.zeros((0, len(c))) for tag, c in self.classes_.items()}
        keys = [normalize(t) for t in texts]
        features = self._with_embeddings(self.vectorizer.transform(keys), keys)
        logits = np.asarray(features @ self._coef, dtype=np.float64) + self._intercept
        return {
            tag: softmax(logits[:, span] / self.temperatures[tag])
            for tag, span in self._spans.items()
        }

    def decide(self, proba: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The chosen value (a column of `classes_[tag]`) per text: the most probable one, except
        that the cyber tag's related/not-related split follows `cyber_threshold` when set."""
        chosen = {tag: p.argmax(axis=1) for tag, p in proba.items()}
        if self.cyber_threshold is not None and "cyber" in proba:
            chosen["cyber"] = related_choice(
                proba["cyber"], self.classes_["cyber"], self.cyber_threshold
            )
        return chosen

    def predict(self, texts: Sequence[str]) -> list[tuple[TagValue, ...]]:
        """The chosen value of every tag (see `decide`), with its probability, per text."""
        proba = self.predict_proba(texts)
        decided = self.decide(proba)
        columns = []
        for tag, p in proba.items():
            best = decided[tag]
            confidence = np.round(p[np.arange(len(best)), best], 4)
            classes = self.classes_[tag]
            columns.append(
                [TagValue(tag, classes[b], float(c)) for b, c in zip(best, confidence, strict=True)]
            )
        return [tuple(row) for row in zip(*columns, strict=True)] if columns else []

    # ---- persistence --------------------------------------------------------------------------
    def save(self, directory: Path, metadata: dict[str, Any] | None = None) -> Path:
        """`directory` (a bundle's `tags/` folder): config, vectoriser and stacked weights."""
        import joblib

        if not self.classes_:
            raise TagError("cannot save an unfitted tag model")
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.vectorizer, directory / _VECTORIZER_FILE)
        np.savez_compressed(directory / _WEIGHTS_FILE, coef=self._coef, intercept=self._intercept)
        config = {
            "config": asdict(self.config),
            "classes": self.classes_,
            "temperatures": self.temperatures,
            "operating_point": {"cyber_threshold": self.cyber_threshold},
            "metadata": metadata or {},
        }
        (directory / _CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False))
        return directory

    @classmethod
    def load(cls, directory: Path) -> tuple[TagPredictor, dict[str, Any]]:
        """The tag model in `directory` and the metadata saved with it."""
        import joblib

        try:
            raw = json.loads((directory / _CONFIG_FILE).read_text())
            # settings added after a tag model was made are off for it
            model = cls(TagConfig(**({"word_ngram_max": 0, "cyber_operating": ""} | raw["config"])))
            model.vectorizer = joblib.load(directory / _VECTORIZER_FILE)
            with np.load(directory / _WEIGHTS_FILE) as weights:
                model._coef, model._intercept = weights["coef"], weights["intercept"]
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise TagError(f"cannot load the tag model in {directory}: {exc}") from None
        start = 0
        for tag, classes in raw["classes"].items():
            model.classes_[tag] = list(classes)
            model._spans[tag] = slice(start, start + len(classes))
            start += len(classes)
        model.temperatures = {k: float(v) for k, v in raw["temperatures"].items()}
        threshold = (raw.get("operating_point") or {}).get("cyber_threshold")
        model.cyber_threshold = None if threshold is None else float(threshold)
        return model, dict(raw.get("metadata", {}))


def related_choice(proba: np.ndarray, classes: Sequence[str], threshold: float) -> np.ndarray:
    """Per row, the most probable cyber-related column when the related values together reach
    `threshold`, else the most probable of the other columns."""
    related = np.isin(np.asarray(classes, dtype=object), list(CYBER_RELATED))
    if related.all() or not related.any():
        return np.asarray(proba.argmax(axis=1))
    mass = proba[:, related].sum(axis=1)
    inside = np.where(related, proba, -1.0).argmax(axis=1)
    outside = np.where(related, -1.0, proba).argmax(axis=1)
    return np.where(mass >= threshold, inside, outside)


def best_cyber_threshold(
    gold: np.ndarray, proba: np.ndarray, classes: Sequence[str]
) -> float | None:
    """The related-mass threshold that maximises min(precision, recall) of cyber-related on
    labelled held-out rows (ties to F1, then the lower threshold); None without positives."""
    keep = gold != ""
    related = np.isin(gold[keep], list(CYBER_RELATED))
    columns = np.isin(np.asarray(classes, dtype=object), list(CYBER_RELATED))
    if not related.any() or not columns.any():
        return None
    mass = proba[keep][:, columns].sum(axis=1)
    best: tuple[float, float, float] | None = None
    for threshold in np.round(np.arange(0.05, 0.951, 0.01), 2):
        said = mass >= threshold
        hits = float(np.sum(said & related))
        precision, recall = hits / max(int(said.sum()), 1), hits / int(related.sum())
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        if best is None or (min(precision, recall), f1) > best[:2]:
            best = (min(precision, recall), f1, float(threshold))
    assert best is not None
    return best[2]
