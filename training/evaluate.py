"""Score a model on labelled records and write the evaluation report (plots: `training.plots`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iccs.classifier import ICCSClassifier
from iccs.hierarchy import NONE_CODE
from training.metrics import LEVELS, TARGET_PRECISIONS, ScoredRecords, breakdown, summarize

logger = logging.getLogger(__name__)


def score(
    model: ICCSClassifier, texts: list[str], gold: list[str], top_k: int = 3
) -> ScoredRecords:
    """Run the model once and keep what every metric needs."""
    return score_proba(model, model.predict_proba(texts), gold, top_k)


def score_proba(
    model: ICCSClassifier, class_proba: np.ndarray, gold: list[str], top_k: int = 3
) -> ScoredRecords:
    """ScoredRecords from class probabilities (the model's own, or held-out ones)."""
    taxonomy = model.taxonomy
    canonical = [g if g == NONE_CODE else taxonomy.normalize(g) for g in gold]
    h = model.hierarchy
    node_proba = h.node_proba(class_proba)
    predictions = model.suggestions_from_proba(class_proba, top_k)
    level_argmax: dict[str, list[str | None]] = {}
    for level, depth in LEVELS.items():
        cols = [k for k, n in enumerate(h.nodes) if n == NONE_CODE or len(n) == depth]
        best = np.asarray(cols)[np.argmax(node_proba[:, cols], axis=1)]
        level_argmax[level] = [h.nodes[k] for k in best]
    return ScoredRecords(
        gold=canonical,
        ranked=[[s.code for s in p.suggestions] for p in predictions],
        confidence=np.array([p.suggestions[0].confidence for p in predictions]),
        level_argmax=level_argmax,
        eligible=np.array(
            [not p.backed_off and p.suggestions[0].code != NONE_CODE for p in predictions]
        ),
    )


def evaluate_frame(
    model: ICCSClassifier,
    frame: pd.DataFrame,
    thresholds: dict[float, float] | None = None,
) -> tuple[dict[str, Any], ScoredRecords]:
    records = score(model, frame["text"].tolist(), frame["iccs_code"].tolist())
    groups = {c: frame[c].tolist() for c in ("language", "origin") if c in frame.columns}
    report: dict[str, Any] = {"overall": summarize(records, thresholds)}
    report["by"] = breakdown(records, groups, thresholds)
    return report, records


def dev_thresholds(report: dict[str, Any]) -> dict[float, float]:
    """The autocoding thresholds found on dev, to be applied unchanged to test."""
    autocoding = report["overall"]["autocoding"]
    return {t: autocoding[f"{t:.2f}"]["threshold"] for t in TARGET_PRECISIONS}


def write_report(report: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "evaluation.json"
    path.write_text(json.dumps(report, indent=2, default=float))
    return path
