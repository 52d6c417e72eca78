"""Leave-one-jurisdiction-out (LOJO): how the model does in a country it never saw.

Each unit holds out one jurisdiction's real texts (and the synthetic texts written in its style)
and trains the experts on everything else outside the frozen test split. A jurisdiction that is
the only one of its language (Korea) is held out one source fold at a time instead, so that
language keeps some real training text. The held-out scores are what calibration and the review
threshold are fitted on; the figures reported per unit use a blend and a threshold fitted on the
*other* units only (nested), so they are honest about a new country.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iccs.classifier import ClassifierConfig, ICCSClassifier
from iccs.embedders import file_stem
from iccs.hierarchy import NONE_CODE
from training.evaluate import score_proba
from training.metrics import TARGET_PRECISIONS, ScoredRecords, autocoding_threshold, summarize

logger = logging.getLogger(__name__)

TARGET_PRECISION = 0.97
_MISSING_SOFTMAX = -30.0  # log-probability of a class the unit's model never saw
_MISSING_MARGIN = -3.0  # below the row's lowest margin, for the same case


@dataclass(frozen=True)
class Unit:
    """One held-out jurisdiction (or one source fold of a single-jurisdiction language)."""

    name: str
    jurisdiction: str
    train: np.ndarray  # boolean masks over the pool
    held_out: np.ndarray


def plan(pool: pd.DataFrame) -> list[Unit]:
    real = pool["origin"] == "real"
    units = []
    languages_of = pool[real].groupby("jurisdiction")["language"].agg(lambda s: set(s))
    jurisdictions_by_language: dict[str, set[str]] = {}
    for jurisdiction, languages in languages_of.items():
        for language in languages:
            jurisdictions_by_language.setdefault(language, set()).add(str(jurisdiction))
    for jurisdiction in sorted(languages_of.index):
        mine = pool["jurisdiction"] == jurisdiction
        alone = all(
            jurisdictions_by_language[lang] == {jurisdiction} for lang in languages_of[jurisdiction]
        )
        folds = sorted(set(pool.loc[mine & real, "fold"]) - {""})
        if alone and len(folds) > 1:
            for fold in folds:
                held = (pool["fold"] == fold).to_numpy()
                units.append(Unit(fold, str(jurisdiction), ~held, held & real.to_numpy()))
        else:
            held = mine.to_numpy()
            units.append(Unit(str(jurisdiction), str(jurisdiction), ~held, held & real.to_numpy()))
    return units


@dataclass
class HeldOutScores:
    """Every unit's held-out expert scores, aligned to one class list."""

    classes: list[str]
    kinds: list[str]
    frame: pd.DataFrame  # held-out rows with a `unit` column
    scores: list[np.ndarray]
    seconds: dict[str, float] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)  # of the last calibration

    def unit_mask(self, unit: str) -> np.ndarray:
        return (self.frame["unit"] == unit).to_numpy()


def _align(scores: np.ndarray, kind: str, source: list[str], target: list[str]) -> np.ndarray:
    out = np.empty((len(scores), len(target)), dtype=np.float32)
    if kind == "margin":
        out[:] = (scores.min(axis=1, keepdims=True) if len(scores) else 0.0) + _MISSING_MARGIN
    else:
        out[:] = _MISSING_SOFTMAX
    position = {c: j for j, c in enumerate(target)}
    cols = [position[c] for c in source]
    out[:, cols] = scores
    return out


def held_out_scores(
    pool: pd.DataFrame,
    config: ClassifierConfig,
    classes: list[str],
    weights: np.ndarray,
    units: Sequence[Unit] | None = None,
    only: Sequence[str] | None = None,
) -> HeldOutScores:
    """Train one model per unit and score its held-out rows with every expert (or with the
    experts named in `only`)."""
    units = list(units or plan(pool))
    frames, parts, seconds = [], [], {}
    kinds: list[str] = []
    for unit in units:
        started = time.perf_counter()
        train = pool[unit.train]
        model = ICCSClassifier(config)
        if only is not None:
            model.experts = [e for e in model.experts if e.name in only]
        model.fit_experts(train["text"].tolist(), train["iccs_code"].tolist(), weights[unit.train])
        held = pool[unit.held_out].assign(unit=unit.name)
        raw = model.expert_scores(held["text"].tolist())
        kinds = [e.kind for e in model.experts]
        parts.append(
            [_align(s, k, model.classes_, classes) for s, k in zip(raw, kinds, strict=True)]
        )
        frames.append(held)
        seconds[unit.name] = round(time.perf_counter() - started, 1)
        logger.info("LOJO %s: %d held out, %.0f s", unit.name, len(held), seconds[unit.name])
    scores = [np.vstack([p[k] for p in parts]) for k in range(len(kinds))]
    return HeldOutScores(classes, kinds, pd.concat(frames, ignore_index=True), scores, seconds)


_NOT_SCORE_SETTINGS = (
    "embedders",
    "knn_embedder",
    "decision",
    "backoff_threshold",
    "blend_weights",
    "temperature",
    "cascade_experts",
)


def _cache_key(
    config: ClassifierConfig, data_version: str, weights: np.ndarray, classes: list[str]
) -> str:
    """What held-out scores depend on: the data, the expert settings, row weights, classes."""
    settings = {k: v for k, v in asdict(config).items() if k not in _NOT_SCORE_SETTINGS}
    payload = json.dumps(
        [data_version, settings, weights.round(6).tolist(), classes], sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def cached_held_out_scores(
    pool: pd.DataFrame,
    config: ClassifierConfig,
    classes: list[str],
    weights: np.ndarray,
    cache: Path | None,
    data_version: str,
) -> HeldOutScores:
    """`held_out_scores`, kept per expert in `cache` (a folder) so that a later run with the
    same data and settings, or with a subset of the experts, does not train them again."""
    if cache is None:
        return held_out_scores(pool, config, classes, weights)
    key = _cache_key(config, data_version, weights, classes)
    names = [e.name for e in ICCSClassifier(config).experts]
    files = {n: cache / f"lojo-{key}-{file_stem(n)}.npz" for n in names}
    frame_file = cache / f"lojo-{key}-rows.csv"
    missing = [n for n in names if not files[n].is_file()]
    if not frame_file.is_file():
        missing = names
    computed = None
    if missing:
        computed = held_out_scores(pool, config, classes, weights, only=missing)
        cache.mkdir(parents=True, exist_ok=True)
        for name, kind, scores in zip(missing, computed.kinds, computed.scores, strict=True):
            np.savez_compressed(files[name], scores=scores, kind=kind, classes=np.array(classes))
        if not frame_file.is_file():
            computed.frame.to_csv(frame_file, index=False)
    else:
        logger.info("LOJO held-out scores from the cache %s (%s)", cache, key)
    frame = pd.read_csv(frame_file, dtype=str, keep_default_na=False)
    loaded = [np.load(files[n], allow_pickle=False) for n in names]
    return HeldOutScores(
        classes,
        [str(x["kind"]) for x in loaded],
        frame,
        [x["scores"] for x in loaded],
        computed.seconds if computed else {},
    )


def _languages(frame: pd.DataFrame) -> list[str]:
    return [lang if lang in ("en", "es", "ko") else "other" for lang in frame["language"]]


def calibrate_on(
    model: ICCSClassifier, held: HeldOutScores, mask: np.ndarray
) -> dict[float, float]:
    """Fit `model`'s blend on the held-out rows in `mask`; return the autocoding threshold
    there for each target precision (the review threshold is the one for 97%)."""
    frame = held.frame[mask]
    held.stats = model.calibrate_scores(
        [s[mask] for s in held.scores], frame["iccs_code"].tolist(), _languages(frame)
    )
    records = lojo_records(model, held, mask)
    eligible = records.eligible
    return {
        target: autocoding_threshold(
            records.confidence[eligible], records.correct[eligible], target
        )
        for target in TARGET_PRECISIONS
    }


def lojo_records(model: ICCSClassifier, held: HeldOutScores, mask: np.ndarray) -> ScoredRecords:
    frame = held.frame[mask]
    proba = model.proba_from_scores([s[mask] for s in held.scores], _languages(frame))
    return score_proba(model, proba, frame["iccs_code"].tolist())


def nested_report(
    model: ICCSClassifier, held: HeldOutScores, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Figures per unit with calibration and threshold fitted on the other units, then pooled
    by language. Leaves `model.blend` as it found it."""
    fitted = (model.blend, model.first_stage, model.operating.cascade_threshold)
    units = list(dict.fromkeys(held.frame["unit"]))
    all_records: list[tuple[np.ndarray, ScoredRecords, float]] = []
    by_unit: dict[str, Any] = {}
    try:
        for unit in units:
            mine = held.unit_mask(unit)
            threshold = calibrate_on(model, held, ~mine)[TARGET_PRECISION]
            records = lojo_records(model, held, mine)
            summary = summarize(records, {TARGET_PRECISION: threshold})
            summary["jurisdiction"] = str(held.frame.loc[mine, "jurisdiction"].iloc[0])
            summary["language"] = str(held.frame.loc[mine, "language"].mode().iloc[0])
            by_unit[unit] = summary
            all_records.append((mine, records, threshold))
            if progress:
                progress(unit)
    finally:
        model.blend, model.first_stage, model.operating.cascade_threshold = fitted
    return {"by_unit": by_unit, "pooled": _pooled(held, all_records)}


def _pooled(
    held: HeldOutScores, parts: list[tuple[np.ndarray, ScoredRecords, float]]
) -> dict[str, Any]:
    """Concatenate the units' records (each with its own nested threshold), per language."""
    order = np.concatenate([np.flatnonzero(mask) for mask, _, _ in parts])
    records = ScoredRecords(
        gold=[g for _, r, _ in parts for g in r.gold],
        ranked=[x for _, r, _ in parts for x in r.ranked],
        confidence=np.concatenate([r.confidence for _, r, _ in parts]),
        level_argmax={
            k: [x for _, r, _ in parts for x in r.level_argmax[k]] for k in parts[0][1].level_argmax
        },
        eligible=np.concatenate([r.eligible for _, r, _ in parts]),
    )
    thresholds = np.concatenate([np.full(len(r.gold), t) for _, r, t in parts])
    languages = held.frame["language"].to_numpy()[order]
    out: dict[str, Any] = {}
    for language in ["all", *sorted(set(languages))]:
        mask = np.ones(len(order), dtype=bool) if language == "all" else languages == language
        sub = records.subset(mask)
        summary = summarize(sub, {TARGET_PRECISION: 0.0})  # replaced just below
        admitted = sub.eligible & (sub.confidence >= thresholds[mask])
        summary["autocoding"] = {
            f"{TARGET_PRECISION:.2f}": {
                "rate": float(admitted.mean()),
                "precision": float(sub.correct[admitted].mean())
                if admitted.any()
                else float("nan"),
                "threshold": "nested: fitted on the other units",
            }
        }
        out[language] = summary
    return out


def policy_comparison(model: ICCSClassifier, held: HeldOutScores) -> dict[str, dict[str, float]]:
    """Exact@1 and section@1 of both first-suggestion policies on the held-out rows."""
    out = {}
    original = model.config.decision
    try:
        for decision in ("specific", "backoff"):
            model.config.decision = decision
            records = lojo_records(model, held, np.ones(len(held.frame), dtype=bool))
            out[decision] = {
                "exact_at_1": float(records.correct.mean()),
                "right_share": float(records.right.mean()),
                "section_accuracy": float(
                    np.mean(
                        [
                            g[:2] == p[:2] or (g == p == NONE_CODE)
                            for g, p in zip(records.gold, records.first, strict=True)
                        ]
                    )
                ),
            }
    finally:
        model.config.decision = original
    return out
