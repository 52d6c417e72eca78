"""Evaluation figures for hierarchical, calibrated suggestions.

Definitions (also in the model card):
- exact@k: the gold code is among the first k suggestions (the first is the back-off decision).
- level accuracy: the most probable node at that level equals the gold code's ancestor at that
  level, over the records whose gold code is at least that deep.
- a suggestion is *right* when the gold code is that code or lies below it (a backed-off `0201`
  is right for gold `020111`); its confidence estimates exactly this.
- ECE: 15 equal-width bins of the first suggestion's confidence against being right.
- autocoding rate at precision p: records that would be coded without review (not backed off,
  not NONE) are admitted in order of confidence; the rate is the largest share of all records
  whose exact precision is at least p; the threshold is the lowest confidence admitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score

from iccs.calibration import calibration_error

LEVELS = {"section": 2, "division": 4, "group": 5, "class": 6}
TARGET_PRECISIONS = (0.95, 0.97, 0.99)


@dataclass(frozen=True)
class ScoredRecords:
    """What evaluation needs per record: gold, ranked codes, first confidence, level argmaxes."""

    gold: list[str]
    ranked: list[list[str]]
    confidence: np.ndarray
    level_argmax: dict[str, list[str | None]]
    eligible: np.ndarray  # first suggestion may be auto-coded: not backed off, not NONE

    @property
    def first(self) -> list[str]:
        return [r[0] for r in self.ranked]

    @property
    def correct(self) -> np.ndarray:
        return np.array([g == p for g, p in zip(self.gold, self.first, strict=True)])

    @property
    def right(self) -> np.ndarray:
        return np.array(
            [
                g == p or (p != "NONE" and g.startswith(p))
                for g, p in zip(self.gold, self.first, strict=True)
            ]
        )

    def subset(self, mask: np.ndarray) -> ScoredRecords:
        idx = np.flatnonzero(mask)
        return ScoredRecords(
            gold=[self.gold[i] for i in idx],
            ranked=[self.ranked[i] for i in idx],
            confidence=self.confidence[idx],
            level_argmax={k: [v[i] for i in idx] for k, v in self.level_argmax.items()},
            eligible=self.eligible[idx],
        )


def gold_at_level(code: str, depth: int) -> str | None:
    if code == "NONE":
        return "NONE"
    return code[:depth] if len(code) >= depth else None


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 15
) -> float:
    if len(confidence) == 0:
        return float("nan")
    return calibration_error(confidence, correct, bins)


def reliability_table(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 15
) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) per non-empty bin, for the reliability diagram."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return [
        (
            float(confidence[which == b].mean()),
            float(correct[which == b].mean()),
            int((which == b).sum()),
        )
        for b in range(bins)
        if (which == b).any()
    ]


def precision_coverage_curve(
    confidence: np.ndarray, correct: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, coverage, precision) with records admitted in order of confidence."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    n = np.arange(1, len(order) + 1)
    return confidence[order], n / len(order), hits / n


def autocoding_threshold(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    """Lowest confidence threshold whose admitted records reach `target` precision (1.01: none).

    Pass only the records eligible for auto-coding. A threshold admits every record at its
    confidence, so only cuts at the end of a run of equal confidences are candidates.
    """
    if len(confidence) == 0:
        return 1.01
    thresholds, _, precision = precision_coverage_curve(confidence, correct)
    end_of_tie = np.r_[thresholds[1:] != thresholds[:-1], True]
    ok = np.flatnonzero(end_of_tie & (precision >= target))
    return float(thresholds[ok[-1]]) if ok.size else 1.01


def summarize(
    records: ScoredRecords, thresholds: dict[float, float] | None = None
) -> dict[str, object]:
    """All figures for one set of records; `thresholds` (from dev) are applied if given."""
    n = len(records.gold)
    if n == 0:
        return {"n": 0}
    correct = records.correct
    out: dict[str, object] = {
        "n": n,
        "exact_at_1": float(correct.mean()),
        "exact_at_3": float(
            np.mean([g in r[:3] for g, r in zip(records.gold, records.ranked, strict=True)])
        ),
        "macro_f1": float(
            f1_score(
                records.gold,
                records.first,
                labels=sorted(set(records.gold)),
                average="macro",
                zero_division=0,
            )
        ),
        "ece": expected_calibration_error(records.confidence, records.right),
        "backed_off_share": float(
            np.mean(
                [
                    not e and f != "NONE"
                    for e, f in zip(records.eligible, records.first, strict=True)
                ]
            )
        ),
        "mean_confidence": float(records.confidence.mean()),
    }
    for level, depth in LEVELS.items():
        pairs = [
            (gold_at_level(g, depth), p)
            for g, p in zip(records.gold, records.level_argmax[level], strict=True)
            if gold_at_level(g, depth) is not None
        ]
        out[f"{level}_accuracy"] = (
            float(np.mean([g == p for g, p in pairs])) if pairs else float("nan")
        )
    autocoding: dict[str, dict[str, float]] = {}
    for target in TARGET_PRECISIONS:
        threshold = (thresholds or {}).get(target)
        if threshold is None:
            eligible = records.eligible
            threshold = autocoding_threshold(
                records.confidence[eligible], correct[eligible], target
            )
        admitted = records.eligible & (records.confidence >= threshold)
        autocoding[f"{target:.2f}"] = {
            "threshold": float(threshold),
            "rate": float(admitted.mean()),
            "precision": float(correct[admitted].mean()) if admitted.any() else float("nan"),
        }
    out["autocoding"] = autocoding
    return out


def breakdown(
    records: ScoredRecords,
    groups: dict[str, Sequence[str]],
    thresholds: dict[float, float] | None = None,
) -> dict[str, dict[str, object]]:
    """summarize() per value of each grouping column (language, origin, ...)."""
    result: dict[str, dict[str, object]] = {}
    for column, values in groups.items():
        array = np.asarray(values)
        for value in sorted(set(values)):
            result[f"{column}={value}"] = summarize(records.subset(array == value), thresholds)
    return result
