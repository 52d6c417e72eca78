"""Blending expert scores into calibrated probabilities, fitted on held-out predictions.

The fit is meant for out-of-jurisdiction predictions (leave-one-jurisdiction-out, out of fold):
what the experts say about a country they never saw is what the blend and the temperature must
be honest about. Per language, a weight per expert and a temperature are chosen by
log-likelihood; margin experts (SVM) first get the scale that turns margins into log-odds.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from iccs.language import LANGUAGES

MIN_TEXTS_PER_LANGUAGE = 40
MAX_FIT_ROWS = 4_000


def log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, y: np.ndarray) -> float:
    return float(-log_softmax(logits)[np.arange(len(y)), y].mean())


def best_temperature(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    fit = minimize_scalar(lambda t: nll(logits / t, y), bounds=(0.02, 20.0), method="bounded")
    return float(fit.x), float(fit.fun)


def calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error: |confidence - accuracy| averaged over equal-width bins."""
    which = np.clip((confidence * bins).astype(int), 0, bins - 1)
    error = 0.0
    for b in np.unique(which):
        mask = which == b
        error += mask.mean() * abs(confidence[mask].mean() - right[mask].mean())
    return float(error)


def weight_grid(n_experts: int, step: float = 0.1) -> list[tuple[float, ...]]:
    """Every weight vector on the simplex at `step` resolution (one vector for one expert)."""
    if n_experts == 1:
        return [(1.0,)]
    ticks = round(1 / step)
    grid = []
    for combo in itertools.product(range(ticks + 1), repeat=n_experts - 1):
        if sum(combo) <= ticks:
            grid.append((*(c / ticks for c in combo), (ticks - sum(combo)) / ticks))
    return grid


@dataclass
class Blend:
    """Fitted blend: a scale per expert, and per language (weights, temperature)."""

    scales: list[float] = field(default_factory=list)
    by_language: dict[str, tuple[list[float], float]] = field(default_factory=dict)

    def for_language(self, language: str) -> tuple[list[float], float]:
        if language in self.by_language:
            return self.by_language[language]
        if "other" in self.by_language:
            return self.by_language["other"]
        if "all" in self.by_language:
            return self.by_language["all"]
        n = len(self.scales)
        return [1.0 / n] * n, 1.0

    def normalized(self, scores: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [log_softmax(s * scale) for s, scale in zip(scores, self.scales, strict=True)]

    def logits(self, normalized: Sequence[np.ndarray], languages: Sequence[str]) -> np.ndarray:
        out = np.zeros_like(normalized[0])
        langs = np.asarray(languages)
        for language in set(languages):
            rows = langs == language
            weights, temperature = self.for_language(language)
            mixed = sum(w * z[rows] for w, z in zip(weights, normalized, strict=True))
            out[rows] = np.asarray(mixed) / temperature
        return out

    def proba(self, scores: Sequence[np.ndarray], languages: Sequence[str]) -> np.ndarray:
        return softmax(self.logits(self.normalized(scores), languages))

    def scaled(self, factor: float) -> Blend:
        return Blend(
            list(self.scales), {k: (list(w), t * factor) for k, (w, t) in self.by_language.items()}
        )

    def to_json(self) -> dict[str, object]:
        return {"scales": self.scales, "by_language": self.by_language}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Blend:
        by_language = raw.get("by_language", {})
        assert isinstance(by_language, dict)
        return cls(
            [float(s) for s in raw.get("scales", [])],  # type: ignore[attr-defined]
            {k: ([float(x) for x in w], float(t)) for k, (w, t) in by_language.items()},
        )


def fit_blend(
    scores: Sequence[np.ndarray],
    kinds: Sequence[str],
    y: np.ndarray,
    languages: Sequence[str],
    fixed_weights: Sequence[float] | None = None,
    fixed_temperature: float | None = None,
) -> Blend:
    """Scales, then per language the weights and temperature of least held-out NLL.

    Languages with too few held-out texts use the overall fit; unseen languages ("other") get the
    fitted weights that lean least on the first (lexical) expert, which never saw them.
    """
    scales = [
        1.0 / best_temperature(s, y)[0] if kind == "margin" else 1.0
        for s, kind in zip(scores, kinds, strict=True)
    ]
    blend = Blend(scales=scales)
    normalized = blend.normalized(scores)
    step = 0.1 if len(scores) <= 2 else 0.2 if len(scores) == 3 else 0.25
    grid = [tuple(fixed_weights)] if fixed_weights else weight_grid(len(scores), step)
    rng = np.random.default_rng(0)

    def fit(mask: np.ndarray) -> tuple[list[float], float]:
        rows = np.flatnonzero(mask)
        if len(rows) > MAX_FIT_ROWS:  # the grid search needs a good estimate, not every row
            rows = np.sort(rng.choice(rows, MAX_FIT_ROWS, replace=False))
        parts = [z[rows] for z in normalized]
        best: tuple[float, tuple[float, ...], float] | None = None
        for weights in grid:
            mixed = np.asarray(sum(w * z for w, z in zip(weights, parts, strict=True)))
            if fixed_temperature:
                t, loss = fixed_temperature, nll(mixed / fixed_temperature, y[rows])
            else:
                t, loss = best_temperature(mixed, y[rows])
            if best is None or loss < best[0]:
                best = (loss, weights, t)
        assert best is not None
        return list(best[1]), best[2]

    langs = np.asarray(languages)
    blend.by_language["all"] = fit(np.ones(len(y), dtype=bool))
    for language in LANGUAGES:
        mask = langs == language
        if language != "other" and mask.sum() >= MIN_TEXTS_PER_LANGUAGE:
            blend.by_language[language] = fit(mask)
    fitted = [blend.by_language[k] for k in LANGUAGES if k in blend.by_language]
    blend.by_language.setdefault(
        "other", min(fitted, key=lambda wt: wt[0][0]) if fitted else blend.by_language["all"]
    )
    return blend
