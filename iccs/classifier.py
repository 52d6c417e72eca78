"""The ICCS classifier: lexical and semantic experts, blended and calibrated on held-out data.

`ICCSClassifier` follows scikit-learn's contract where it can (`fit`, `predict_proba` over
`classes_`, `predict`) and adds what a coding service needs: hierarchical suggestions with
back-off (`suggest`). Blend weight and temperature are fitted on a development split that the
experts never saw, never on training data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from iccs.embedders import load_embedder
from iccs.hierarchy import NONE_CODE, NONE_TITLE, Decision, Hierarchy
from iccs.language import LANGUAGES, guess_language
from iccs.linear import LinearHead, log_softmax
from iccs.taxonomy import Taxonomy, load_taxonomy
from iccs.text import normalize

logger = logging.getLogger(__name__)


@dataclass
class ClassifierConfig:
    """Everything that defines a model; saved in the bundle so training can be repeated."""

    embedder: str | None = "use-multilingual"
    lexical_model: str = "svm"  # "svm" (LinearSVC margins) or "logreg"
    word_ngram_max: int = 2
    char_ngram_min: int = 2
    char_ngram_max: int = 5
    max_word_features: int = 60_000
    max_char_features: int = 120_000
    lexical_c: float = 0.5
    semantic_c: float = 20.0
    max_iter: int = 300
    prune_below: float = 1e-3  # lexical weights smaller than this are dropped from the bundle
    backoff_threshold: float = 0.5
    review_threshold: float = 0.8
    seed: int = 13
    blend_weight: float | None = None  # lexical share; None = fit on the dev split
    temperature: float | None = None  # None = fit on the dev split

    def __post_init__(self) -> None:
        if not 0.5 <= self.backoff_threshold < 1.0:
            raise ValueError("backoff_threshold must be in [0.5, 1): it keeps the walk unique")
        if self.lexical_model not in {"svm", "logreg"}:
            raise ValueError(f"unknown lexical_model {self.lexical_model!r}")


@dataclass(frozen=True)
class Suggestion:
    code: str
    title: str
    level: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    suggestions: list[Suggestion]
    needs_review: bool
    backed_off: bool = False
    path: list[str] = field(default_factory=list)


MIN_TEXTS_PER_LANGUAGE = 40


def _nll(logits: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    rows = np.flatnonzero(mask)
    return float(-log_softmax(logits[rows])[np.arange(len(rows)), y[rows]].mean())


def _best_temperature(logits: np.ndarray, y: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    fit = minimize_scalar(
        lambda t: _nll(logits / t, y, mask), bounds=(0.02, 20.0), method="bounded"
    )
    return float(fit.x), float(fit.fun)


def calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error: |confidence - accuracy| averaged over equal-width bins."""
    which = np.clip((confidence * bins).astype(int), 0, bins - 1)
    error = 0.0
    for b in np.unique(which):
        mask = which == b
        error += mask.mean() * abs(confidence[mask].mean() - right[mask].mean())
    return float(error)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class ICCSClassifier:
    """Blend of a TF-IDF linear model and an embedding linear head, with temperature scaling."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        self.config = config or ClassifierConfig()
        self.classes_: list[str] = []
        self.word_vectorizer: TfidfVectorizer | None = None
        self.char_vectorizer: TfidfVectorizer | None = None
        self.lexical: LinearHead | None = None
        self.semantic: LinearHead | None = None
        self.blend_weight = 1.0
        self.temperature = 1.0
        self.blend: dict[str, tuple[float, float]] = {}  # language -> (lexical weight, temperature)
        self.lexical_scale = 1.0
        self._hierarchy: Hierarchy | None = None
        self._taxonomy: Taxonomy | None = None

    # ---- training -------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        codes: Sequence[str],
        sample_weight: np.ndarray | None = None,
        dev_texts: Sequence[str] | None = None,
        dev_codes: Sequence[str] | None = None,
    ) -> ICCSClassifier:
        cfg = self.config
        canonical = [self._canonical(c) for c in codes]
        self.classes_ = sorted(set(canonical))
        index = {c: i for i, c in enumerate(self.classes_)}
        y = np.array([index[c] for c in canonical])
        normalized = [normalize(t) for t in texts]
        self.word_vectorizer = TfidfVectorizer(
            ngram_range=(1, cfg.word_ngram_max),
            sublinear_tf=True,
            min_df=1,
            max_features=cfg.max_word_features,
            token_pattern=r"(?u)\b\w+\b",
            dtype=np.float32,
        )
        self.char_vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(cfg.char_ngram_min, cfg.char_ngram_max),
            sublinear_tf=True,
            min_df=2,
            max_features=cfg.max_char_features,
            dtype=np.float32,
        )
        x_lex = sparse.hstack(
            [
                self.word_vectorizer.fit_transform(normalized),
                self.char_vectorizer.fit_transform(normalized),
            ]
        ).tocsr()
        logger.info("fitting lexical expert on %d texts, %d features", *x_lex.shape)
        self.lexical = LinearHead.from_estimator(
            self._lexical_estimator().fit(x_lex, y, sample_weight=sample_weight),
            kind="margin" if cfg.lexical_model == "svm" else "softmax",
            prune_below=cfg.prune_below,
        )
        if cfg.embedder:
            x_sem = self._embed(texts)
            logger.info("fitting semantic expert on %s embeddings", cfg.embedder)
            estimator = LogisticRegression(
                C=cfg.semantic_c, max_iter=cfg.max_iter, random_state=cfg.seed
            )
            self.semantic = LinearHead.from_estimator(
                estimator.fit(x_sem, y, sample_weight=sample_weight), kind="softmax"
            )
        self._hierarchy = None
        self.blend_weight = (
            cfg.blend_weight
            if cfg.blend_weight is not None
            else (1.0 if self.semantic is None else 0.5)
        )
        self.temperature = cfg.temperature or 1.0
        if dev_texts is not None and dev_codes is not None and len(dev_texts):
            self.calibrate(dev_texts, dev_codes)
        return self

    def _lexical_estimator(self) -> LinearSVC | LogisticRegression:
        cfg = self.config
        if cfg.lexical_model == "svm":
            return LinearSVC(C=cfg.lexical_c, random_state=cfg.seed, max_iter=2000)
        return LogisticRegression(C=cfg.lexical_c, max_iter=cfg.max_iter, random_state=cfg.seed)

    def calibrate(self, texts: Sequence[str], codes: Sequence[str]) -> None:
        """Fit on held-out texts, by log-likelihood: the lexical margins' scale, then per language
        the blend weight and the temperature jointly (each weight gets its best temperature).

        Languages with too few held-out texts use the overall fit; unseen languages ("other")
        get the most semantic of the fitted weights, since the lexical expert never saw them.
        """
        class_set = set(self.classes_)
        index = {c: i for i, c in enumerate(self.classes_)}
        pairs = [(t, self._canonical(c)) for t, c in zip(texts, codes, strict=True)]
        pairs = [(t, c) for t, c in pairs if c in class_set]
        y = np.array([index[c] for _, c in pairs])
        raw_lex, sem = self._expert_scores([t for t, _ in pairs])
        if self.lexical is not None and self.lexical.kind == "margin":
            everyone = np.ones(len(y), dtype=bool)
            self.lexical_scale = 1.0 / _best_temperature(raw_lex, y, everyone)[0]
        lex = log_softmax(raw_lex * self.lexical_scale)
        languages = np.array([guess_language(t) for t, _ in pairs])
        overall = self._fit_blend(lex, sem, y, np.ones(len(y), dtype=bool))
        self.blend = {"all": overall}
        for language in LANGUAGES:
            mask = languages == language
            if mask.sum() >= MIN_TEXTS_PER_LANGUAGE:
                self.blend[language] = self._fit_blend(lex, sem, y, mask)
        fitted = [self.blend[lang] for lang in LANGUAGES if lang in self.blend]
        self.blend.setdefault("other", min(fitted, key=lambda wt: wt[0]) if fitted else overall)
        self.blend_weight, self.temperature = overall
        if self.config.temperature is None:
            self._fit_confidence_scale([t for t, _ in pairs], [c for _, c in pairs])
        logger.info(
            "lexical scale %.2f, blend (weight, temperature) %s",
            self.lexical_scale,
            {k: (round(w, 2), round(t, 3)) for k, (w, t) in self.blend.items()},
        )

    def _fit_confidence_scale(self, texts: list[str], codes: list[str]) -> None:
        """Scale every temperature by the factor that makes the first suggestion's confidence
        honest on held-out texts (lowest expected calibration error).

        Log-likelihood fits the whole distribution; what people read is the confidence of the
        first, possibly backed-off, suggestion, so that is what this last step calibrates.
        """
        fitted = dict(self.blend)
        best: tuple[float, float] | None = None
        for factor in np.arange(0.7, 1.51, 0.05):
            self.blend = {k: (w, t * factor) for k, (w, t) in fitted.items()}
            nodes = self.hierarchy.node_proba(self.predict_proba(texts))
            decisions = [self.hierarchy.decide(row, self.config.backoff_threshold) for row in nodes]
            confidence = np.array([d.confidence for d in decisions])
            right = np.array(
                [
                    c == d.code or (d.code != NONE_CODE and c.startswith(d.code))
                    for c, d in zip(codes, decisions, strict=True)
                ]
            )
            error = calibration_error(confidence, right)
            if best is None or error < best[0] - 1e-9:
                best = (error, float(factor))
        assert best is not None
        self.blend = {k: (w, t * best[1]) for k, (w, t) in fitted.items()}
        self.temperature *= best[1]
        logger.info("confidence scale %.2f (dev calibration error %.3f)", best[1], best[0])

    def _fit_blend(
        self, lex: np.ndarray, sem: np.ndarray | None, y: np.ndarray, mask: np.ndarray
    ) -> tuple[float, float]:
        cfg = self.config
        if sem is None:
            weights = [1.0]
        elif cfg.blend_weight is not None:
            weights = [cfg.blend_weight]
        else:
            weights = [float(w) for w in np.linspace(0.0, 1.0, 21)]
        fits = []
        for w in weights:
            logits = lex * w + (0.0 if sem is None else sem * (1.0 - w))
            if cfg.temperature:
                loss = _nll(logits / cfg.temperature, y, mask)
                fits.append((loss, w, cfg.temperature))
            else:
                temperature, loss = _best_temperature(logits, y, mask)
                fits.append((loss, w, temperature))
        _, weight, temperature = min(fits)
        return weight, temperature

    def _canonical(self, code: str) -> str:
        return code if code == NONE_CODE else self.taxonomy.normalize(code)

    # ---- inference ------------------------------------------------------------------------
    @property
    def taxonomy(self) -> Taxonomy:
        if self._taxonomy is None:
            self._taxonomy = load_taxonomy()
        return self._taxonomy

    @property
    def hierarchy(self) -> Hierarchy:
        if self._hierarchy is None:
            self._hierarchy = Hierarchy(self.classes_, self.taxonomy)
        return self._hierarchy

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        assert self.config.embedder
        return load_embedder(self.config.embedder).encode([t.strip() for t in texts])

    def _expert_scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw lexical scores (margins or log-probabilities) and semantic log-probabilities."""
        assert self.lexical is not None and self.word_vectorizer and self.char_vectorizer
        normalized = [normalize(t) for t in texts]
        x_lex = sparse.hstack(
            [self.word_vectorizer.transform(normalized), self.char_vectorizer.transform(normalized)]
        ).tocsr()
        lex = self.lexical.log_scores(x_lex)
        sem = None if self.semantic is None else self.semantic.log_scores(self._embed(texts))
        return lex, sem

    def predict_proba(
        self, texts: Sequence[str], languages: Sequence[str] | None = None
    ) -> np.ndarray:
        """Calibrated probabilities over `classes_` (label classes, any ICCS level, and NONE).

        `languages` (en, es, ko, other) choose the blend; guessed from the text when absent.
        """
        raw_lex, sem = self._expert_scores(texts)
        lex = log_softmax(raw_lex * self.lexical_scale)
        langs = languages or [guess_language(t) for t in texts]
        weights, temperatures = np.empty(len(texts)), np.empty(len(texts))
        for i, language in enumerate(langs):
            weights[i], temperatures[i] = self.blend.get(
                language if language in self.blend else "other",
                (self.blend_weight, self.temperature),
            )
        logits = lex * weights[:, None]
        if sem is not None:
            logits = logits + sem * (1.0 - weights[:, None])
        return _softmax(logits / temperatures[:, None])

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [p.suggestions[0].code for p in self.suggest(texts, top_k=1)]

    def title(self, code: str, language: str = "en") -> str:
        if code == NONE_CODE:
            return NONE_TITLE
        return self.taxonomy.get(code).title("es" if language == "es" else "en")

    def level(self, code: str) -> str:
        return "none" if code == NONE_CODE else self.taxonomy.level(code)

    def suggest(self, texts: Sequence[str], top_k: int = 3) -> list[Prediction]:
        """Ranked suggestions per text; the first is the back-off decision."""
        if not texts:
            return []
        node_proba = self.hierarchy.node_proba(self.predict_proba(texts))
        return [self.suggestion_from_nodes(row, top_k) for row in node_proba]

    def suggestion_from_nodes(self, row: np.ndarray, top_k: int) -> Prediction:
        """Suggestions from one row of node probabilities (see Hierarchy.node_proba)."""
        h = self.hierarchy
        decision: Decision = h.decide(row, self.config.backoff_threshold)
        chosen = {decision.code: decision.confidence}
        terminal_nodes = np.flatnonzero(h.node_is_terminal)
        for k in terminal_nodes[np.argsort(-row[terminal_nodes], kind="stable")]:
            if len(chosen) >= top_k:
                break
            chosen.setdefault(h.nodes[k], float(row[k]))
        ranked = sorted(chosen.items(), key=lambda kv: -kv[1])
        suggestions = [
            Suggestion(code=c, title=self.title(c), level=self.level(c), confidence=round(p, 4))
            for c, p in ranked
        ]
        needs_review = (
            decision.confidence < self.config.review_threshold
            or decision.backed_off
            or decision.code == NONE_CODE
        )
        path = [] if decision.code == NONE_CODE else list(self.taxonomy.ancestors(decision.code))
        return Prediction(suggestions, bool(needs_review), decision.backed_off, path)

    def params(self) -> dict[str, object]:
        return {
            **asdict(self.config),
            "fitted_blend_weight": self.blend_weight,
            "fitted_temperature": self.temperature,
            "fitted_blend_by_language": json.dumps(self.blend),
            "n_classes": len(self.classes_),
        }
