"""The ICCS classifier: experts blended per language and calibrated on held-out predictions.

`ICCSClassifier` follows scikit-learn's contract where it can (`fit`, `predict_proba` over
`classes_`, `predict` returning labels from `classes_`) and adds what a coding service needs:
ranked suggestions with confidences (`suggest`), and `save`/`load` of itself as a bundle folder.

Every expert sees `normalize(text)`: letter case, accents, spacing and abbreviations do not
change an answer. The first suggestion is the most probable label class, at whatever level the
training labels put texts like it ("theft" alone is `0502`); its confidence is the probability
that the gold code is that code or lies below it. Backing off to a broader code is a review hint
(`Prediction.fallback`), not a replacement of the first suggestion, unless the config asks for
the older `decision="backoff"` policy. Turning probabilities into suggestions lives in
`iccs.suggestions`, the configuration in `iccs.classifier_config`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from iccs.calibration import Blend, calibration_error, fit_blend
from iccs.classifier_config import ClassifierConfig, OperatingPoint
from iccs.experts import Expert, build_experts
from iccs.hierarchy import NONE_CODE, Hierarchy
from iccs.language import guess_language
from iccs.predict import predictions
from iccs.suggestions import Prediction, Suggestion, suggestions_from_proba
from iccs.tags import TagPredictor
from iccs.taxonomy import Taxonomy, load_taxonomy
from iccs.text import normalize

__all__ = ["ClassifierConfig", "ICCSClassifier", "OperatingPoint", "Prediction", "Suggestion"]

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = 2
CASCADE_TOLERANCE = 0.005  # exact@1 the first stage may give up on the texts it decides


class ICCSClassifier:
    """Experts -> per-language blend -> temperature -> hierarchical suggestions."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        self.config = config or ClassifierConfig()
        self.operating = OperatingPoint()
        self.classes_: list[str] = []
        self.experts: list[Expert] = build_experts(asdict(self.config))
        self.blend = Blend(scales=[1.0] * len(self.experts))
        self.first_stage: Blend | None = None
        self._hierarchy: Hierarchy | None = None
        self._taxonomy: Taxonomy | None = None
        self.tagger: TagPredictor | None = None  # set by load_bundle when the bundle has tags/

    # ---- training -------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        codes: Sequence[str],
        sample_weight: np.ndarray | None = None,
        dev_texts: Sequence[str] | None = None,
        dev_codes: Sequence[str] | None = None,
    ) -> ICCSClassifier:
        """Fit the experts; calibrate on the dev texts when given (else an even blend).

        Training calibrates on leave-one-jurisdiction-out predictions instead: see
        `training.lojo`, which calls `fit_experts` and `calibrate_scores`.
        """
        self.fit_experts(texts, codes, sample_weight)
        if dev_texts is not None and dev_codes is not None and len(dev_texts):
            self.calibrate(dev_texts, dev_codes)
        return self

    def fit_experts(
        self, texts: Sequence[str], codes: Sequence[str], sample_weight: np.ndarray | None = None
    ) -> ICCSClassifier:
        canonical = [self._canonical(c) for c in codes]
        self.classes_ = sorted(set(canonical))
        index = {c: i for i, c in enumerate(self.classes_)}
        y = np.array([index[c] for c in canonical])
        keys = [normalize(t) for t in texts]
        for number, expert in enumerate(self.experts, start=1):
            logger.info(
                "expert %d/%d: fitting %s on %d texts",
                number,
                len(self.experts),
                expert.name,
                len(keys),
            )
            started = time.perf_counter()
            expert.fit(keys, y, sample_weight)
            logger.info("expert %s fitted in %.1f s", expert.name, time.perf_counter() - started)
        self._hierarchy = None
        self.first_stage = None
        self.blend = Blend(
            scales=[1.0] * len(self.experts),
            by_language={"all": (self._even_weights(), self.config.temperature or 1.0)},
        )
        return self

    def _even_weights(self) -> list[float]:
        if self.config.blend_weights:
            return list(self.config.blend_weights)
        return [1.0 / len(self.experts)] * len(self.experts)

    def expert_scores(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Raw scores of every expert (margins or log-probabilities) over `classes_`."""
        return self._scores([normalize(t) for t in texts], self.experts)

    @staticmethod
    def _scores(keys: Sequence[str], experts: Sequence[Expert]) -> list[np.ndarray]:
        """Scores of already normalised texts."""
        return [expert.scores(keys) for expert in experts]

    def calibrate(
        self, texts: Sequence[str], codes: Sequence[str], languages: Sequence[str] | None = None
    ) -> None:
        keys = [normalize(t) for t in texts]
        scores = self._scores(keys, self.experts)
        self.calibrate_scores(scores, codes, languages or self.languages(keys))

    def calibrate_scores(
        self, scores: Sequence[np.ndarray], codes: Sequence[str], languages: Sequence[str]
    ) -> dict[str, float]:
        """Fit the blend on held-out scores (columns = `classes_`), then scale every temperature
        so the first suggestion's confidence is honest (least calibration error).

        Log-likelihood fits the whole distribution; what people read is the confidence of the
        first suggestion, so that is what the last step calibrates.
        """
        index = {c: i for i, c in enumerate(self.classes_)}
        canonical = [self._canonical(c) for c in codes]
        keep = np.array([c in index for c in canonical])
        y = np.array([index[c] for c, k in zip(canonical, keep, strict=True) if k])
        scores = [s[keep] for s in scores]
        langs = [lang for lang, k in zip(languages, keep, strict=True) if k]
        gold = [c for c, k in zip(canonical, keep, strict=True) if k]
        kinds = [e.kind for e in self.experts]
        self.blend, stats = self._fitted_blend(
            scores, kinds, y, langs, gold, self.config.blend_weights
        )
        k = self.config.cascade_experts
        if 0 < k < len(self.experts):
            self.first_stage, first = self._fitted_blend(
                scores[:k], kinds[:k], y, langs, gold, None
            )
            stats |= {f"first_stage_{key}": value for key, value in first.items()}
            stats |= self._fit_cascade(scores, langs, gold)
        else:
            self.first_stage = None
        return stats

    def _fitted_blend(
        self,
        scores: Sequence[np.ndarray],
        kinds: list[str],
        y: np.ndarray,
        langs: list[str],
        gold: list[str],
        fixed_weights: list[float] | None,
    ) -> tuple[Blend, dict[str, float]]:
        fitted = fit_blend(scores, kinds, y, langs, fixed_weights, self.config.temperature)
        best: tuple[float, float] | None = None
        factors = [1.0] if self.config.temperature else np.arange(0.6, 1.81, 0.05)
        for factor in factors:
            candidate = fitted.scaled(float(factor))
            confidence, right = self._first_confidence(candidate.proba(scores, langs), gold)
            error = calibration_error(confidence, right)
            if best is None or error < best[0] - 1e-9:
                best = (error, float(factor))
        assert best is not None
        blend = fitted.scaled(best[1])
        logger.info(
            "blend %s, confidence scale %.2f (held-out calibration error %.3f)",
            {k: ([round(x, 2) for x in w], round(t, 3)) for k, (w, t) in blend.by_language.items()},
            best[1],
            best[0],
        )
        return blend, {"calibration_error": best[0], "confidence_scale": best[1]}

    def _fit_cascade(
        self, scores: Sequence[np.ndarray], langs: list[str], gold: list[str]
    ) -> dict[str, float]:
        """The first-stage confidence above which its answer is as exact as the full blend's
        on the held-out rows (within half a point): those texts skip the remaining experts."""
        assert self.first_stage is not None
        k = self.config.cascade_experts
        first1, c1 = self._most_probable(self.first_stage.proba(scores[:k], langs))
        exact1 = np.array([self.classes_[i] == g for i, g in zip(first1, gold, strict=True)])
        full = self.blend.proba(scores, langs).argmax(1)
        exact = np.array([self.classes_[i] == g for i, g in zip(full, gold, strict=True)])
        order = np.argsort(-c1, kind="stable")
        n = np.arange(1, len(order) + 1)
        ok = np.cumsum(exact1[order]) >= np.cumsum(exact[order]) - CASCADE_TOLERANCE * n
        end_of_tie = np.r_[c1[order][1:] != c1[order][:-1], True]
        admissible = np.flatnonzero(ok & end_of_tie)
        threshold = float(c1[order][admissible[-1]]) if admissible.size else 1.01
        self.operating.cascade_threshold = threshold
        skipped = c1 >= threshold
        mixed = np.where(skipped, exact1, exact)
        logger.info(
            "cascade: first stage decides %.1f%% of held-out texts (threshold %.3f)",
            100 * skipped.mean(),
            threshold,
        )
        return {
            "cascade_threshold": threshold,
            "cascade_first_stage_share": float(skipped.mean()),
            "cascade_exact_at_1": float(mixed.mean()),
            "full_exact_at_1": float(exact.mean()),
        }

    def _first_confidence(
        self, class_proba: np.ndarray, gold: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """First suggestions' confidences and whether each is right, vectorised for the
        specific policy (the calibration search runs it many times)."""
        if self.config.decision != "specific":
            predictions = self.suggestions_from_proba(class_proba, top_k=1)
            confidence = np.array([p.suggestions[0].confidence for p in predictions])
            right = np.array(
                [
                    _is_right(g, p.suggestions[0].code)
                    for g, p in zip(gold, predictions, strict=True)
                ]
            )
            return confidence, right
        first, confidence = self._most_probable(class_proba)
        right = np.array([_is_right(g, self.classes_[i]) for g, i in zip(gold, first, strict=True)])
        return confidence, right

    def _most_probable(self, class_proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's most probable class and its confidence (the mass at or below it)."""
        h = self.hierarchy
        first = np.argmax(class_proba, axis=1)
        confidence = h.subtree_proba(class_proba)[np.arange(len(first)), h.class_node[first]]
        return first, np.minimum(confidence, 1.0)

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

    @staticmethod
    def languages(keys: Sequence[str]) -> list[str]:
        return [guess_language(k) for k in keys]

    def predict_proba(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Calibrated probabilities over `classes_` (label classes at any level, and NONE).

        `languages` (en, es, ko, other; None to guess) choose the blend per text.
        """
        keys = [normalize(t) for t in texts]
        guessed = self.languages(keys)
        given = list(languages) if languages is not None else [None] * len(keys)
        langs = [lang or guess for guess, lang in zip(guessed, given, strict=True)]
        k = self.config.cascade_experts
        if self.first_stage is None or not keys:
            return self.blend.proba(self._scores(keys, self.experts), langs)
        first = self._scores(keys, self.experts[:k])
        proba, rest = self._first_stage(first, langs)
        if rest.size:
            later = self._scores([keys[i] for i in rest], self.experts[k:])
            scores = [s[rest] for s in first] + later
            proba[rest] = self.blend.proba(scores, [langs[i] for i in rest])
        return proba

    def _first_stage(
        self, scores: Sequence[np.ndarray], langs: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """First-stage probabilities, and the rows not confident enough to stop there."""
        assert self.first_stage is not None
        proba = self.first_stage.proba(scores, langs)
        _, confidence = self._most_probable(proba)
        return proba, np.flatnonzero(confidence < self.operating.cascade_threshold)

    def proba_from_scores(self, scores: Sequence[np.ndarray], langs: Sequence[str]) -> np.ndarray:
        """What `predict_proba` gives for texts whose expert scores are known (held-out rows)."""
        if self.first_stage is None:
            return self.blend.proba(scores, langs)
        k = self.config.cascade_experts
        proba, rest = self._first_stage(scores[:k], langs)
        if rest.size:
            proba[rest] = self.blend.proba([s[rest] for s in scores], [langs[i] for i in rest])
        return proba

    def predict(self, texts: Sequence[str]) -> list[str]:
        proba = self.predict_proba(texts)
        return [self.classes_[i] for i in np.argmax(proba, axis=1)]

    def warm_up(self) -> None:
        """Load every expert's embedder and build the lazy structures now: with the cascade,
        the later experts may not be called for a while, and the first text that needs them
        should not pay for loading them."""
        self._scores([normalize("warm-up")], self.experts)
        _ = self.hierarchy

    def suggest(
        self, texts: Sequence[str], top_k: int = 3, languages: Sequence[str | None] | None = None
    ) -> list[Prediction]:
        """Ranked suggestions per text; the first is the model's best code."""
        return predictions(self, texts, languages, top_k)

    def with_tags(self, predictions: list[Prediction], texts: Sequence[str]) -> list[Prediction]:
        """The predictions with their texts' tags (one vectorised call), when there is a tagger."""
        if self.tagger is None or not predictions:
            return predictions
        tags = self.tagger.predict(texts)
        return [replace(p, tags=t) for p, t in zip(predictions, tags, strict=True)]

    def suggestions_from_proba(self, class_proba: np.ndarray, top_k: int) -> list[Prediction]:
        return suggestions_from_proba(self, class_proba, top_k)

    def params(self) -> dict[str, object]:
        return {
            **{
                k: json.dumps(v) if isinstance(v, list) else v
                for k, v in asdict(self.config).items()
            },
            "experts": json.dumps([e.name for e in self.experts]),
            "fitted_blend": json.dumps(self.blend.by_language),
            "review_threshold": self.operating.review_threshold,
            "n_classes": len(self.classes_),
        }

    # ---- persistence ----------------------------------------------------------------------
    def save(self, directory: Path, metadata: dict[str, Any] | None = None) -> Path:
        """One self-contained folder: config.json and one weights file per expert."""
        if not self.classes_:
            raise ValueError("cannot save an unfitted model")
        directory.mkdir(parents=True, exist_ok=True)
        for expert in self.experts:
            expert.save(directory)
        config = {
            "format": BUNDLE_FORMAT,
            "config": asdict(self.config),
            "operating_point": asdict(self.operating),
            "classes": self.classes_,
            "experts": [e.name for e in self.experts],
            "blend": self.blend.to_json(),
            "first_stage": None if self.first_stage is None else self.first_stage.to_json(),
            "taxonomy_version": self.taxonomy.version,
            "metadata": metadata or {},
        }
        (directory / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))
        return directory

    @classmethod
    def load(cls, directory: Path) -> tuple[ICCSClassifier, dict[str, Any]]:
        """The classifier and the metadata saved with it."""
        raw = json.loads((directory / "config.json").read_text())
        if raw.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"unsupported bundle format {raw.get('format')!r} in {directory}")
        # settings added after a bundle was made are off for it
        settings = {"knn_embedder": None, "cascade_experts": 0} | raw["config"]
        model = cls(ClassifierConfig.from_dict(settings))
        model.operating = OperatingPoint(**raw.get("operating_point", {}))
        model.classes_ = list(raw["classes"])
        model.blend = Blend.from_json(raw["blend"])
        if raw.get("first_stage"):
            model.first_stage = Blend.from_json(raw["first_stage"])
        for expert in model.experts:
            expert.load(directory)
        metadata = dict(raw.get("metadata", {}))
        metadata.setdefault("taxonomy_version", raw.get("taxonomy_version"))
        return model, metadata


def _is_right(gold: str, code: str) -> bool:
    """A suggestion is right when the gold code is that code or lies below it."""
    return gold == code or (code != NONE_CODE and gold.startswith(code))
