"""`iccs train`: corpus -> calibrated classifier -> evaluation -> bundle -> MLflow -> champion."""

from __future__ import annotations

import logging
import time
import tomllib
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iccs.bundle import champion_path, load_bundle, save_bundle, set_champion
from iccs.classifier import ClassifierConfig, ICCSClassifier
from iccs.paths import corpus_path, models_dir
from iccs.taxonomy import load_taxonomy
from training.corpus import data_version, load_corpus
from training.evaluate import dev_thresholds, evaluate_frame, write_plots, write_report
from training.model_card import write_model_card
from training.tracking import TrackingResult, track_run

logger = logging.getLogger(__name__)

PROMOTION_METRIC = "exact_at_1"


@dataclass
class TrainingConfig:
    """What `--config FILE` (TOML) may set; `[classifier]` holds ClassifierConfig fields."""

    name: str = "iccs-classifier"
    corpus: Path = field(default_factory=corpus_path)
    extra_training_data: list[Path] = field(default_factory=list)
    taxonomy_weight: float = 0.5
    experiment: str = "iccs"
    register: bool = True
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)

    @classmethod
    def from_file(cls, path: Path | None) -> TrainingConfig:
        if path is None:
            return cls()
        raw = tomllib.loads(path.read_text())
        known = {f.name for f in fields(ClassifierConfig)}
        unknown = set(raw.get("classifier", {})) - known
        if unknown:
            raise ValueError(f"{path}: unknown classifier settings {sorted(unknown)}")
        config = cls(classifier=ClassifierConfig(**raw.pop("classifier", {})))
        for key, value in raw.items():
            if not hasattr(config, key):
                raise ValueError(f"{path}: unknown setting {key!r}")
            if key == "corpus":
                value = Path(value)
            if key == "extra_training_data":
                value = [Path(v) for v in value]
            setattr(config, key, value)
        return config


@dataclass
class TrainingResult:
    bundle: Path
    metrics: dict[str, Any]
    promoted: bool
    tracking: TrackingResult | None


def _training_frame(config: TrainingConfig, corpus: pd.DataFrame) -> pd.DataFrame:
    frames = [corpus[corpus["split"] == "train"]]
    for extra in config.extra_training_data:
        extra_frame = load_corpus(extra)
        frames.append(extra_frame[extra_frame["split"] != "test"])
    return pd.concat(frames, ignore_index=True)


def _flat_metrics(report: dict[str, Any], prefix: str) -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in report["overall"].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            flat[f"{prefix}_{key}"] = float(value)
    for target, row in report["overall"]["autocoding"].items():
        flat[f"{prefix}_autocoding_rate_p{target[2:]}"] = row["rate"]
    for group, summary in report["by"].items():
        if summary.get("n"):
            flat[f"{prefix}_{group.replace('=', '_')}_exact_at_1"] = float(summary["exact_at_1"])
    return {k: v for k, v in flat.items() if np.isfinite(v)}


def _champion_score(dev: pd.DataFrame, name: str) -> tuple[float | None, Path | None]:
    current = champion_path(name=name)
    if current is None or not (current / "config.json").is_file():
        return None, None
    try:
        champion, _ = load_bundle(current)
        report, _ = evaluate_frame(champion, dev)
    except Exception:  # an unloadable champion must not block a new model
        logger.exception("could not evaluate the current champion %s", current)
        return None, current
    return float(report["overall"][PROMOTION_METRIC]), current


def train(config: TrainingConfig, output_root: Path | None = None) -> TrainingResult:
    started = time.perf_counter()
    corpus = load_corpus(config.corpus)
    train_frame = _training_frame(config, corpus)
    dev = corpus[corpus["split"] == "dev"]
    test = corpus[corpus["split"] == "test"]
    weights = np.where(train_frame["origin"] == "taxonomy", config.taxonomy_weight, 1.0)
    logger.info("training on %d texts (dev %d, test %d)", len(train_frame), len(dev), len(test))
    model = ICCSClassifier(config.classifier).fit(
        train_frame["text"].tolist(),
        train_frame["iccs_code"].tolist(),
        sample_weight=weights,
        dev_texts=dev["text"].tolist(),
        dev_codes=dev["iccs_code"].tolist(),
    )
    fit_seconds = time.perf_counter() - started
    dev_report, _ = evaluate_frame(model, dev)
    thresholds = dev_thresholds(dev_report)
    # Records below the 97%-precision threshold found on dev go to people.
    model.config.review_threshold = float(np.clip(thresholds[0.97], 0.5, 0.99))
    test_report, test_records = evaluate_frame(model, test, thresholds)
    version = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    bundle = (output_root or models_dir()) / config.name / version
    metadata = {
        "name": config.name,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_version": data_version(config.corpus),
        "taxonomy_version": load_taxonomy().version,
        "train_rows": len(train_frame),
        "training_seconds": round(fit_seconds, 1),
        "dev_thresholds": {f"{k:.2f}": v for k, v in thresholds.items()},
        "metrics": {
            split: {k: v for k, v in report["overall"].items() if k != "autocoding"}
            | {"autocoding": report["overall"]["autocoding"]}
            for split, report in (("dev", dev_report), ("test", test_report))
        },
    }
    save_bundle(model, bundle, metadata)
    metrics = {"dev": dev_report, "test": test_report, "dev_thresholds": thresholds}
    write_report(metrics, bundle)
    plots = write_plots(test_records, bundle / "plots", "test split")
    write_model_card(bundle, model, metadata, metrics)
    champion_score, champion_dir = _champion_score(dev, config.name)
    candidate_score = float(dev_report["overall"][PROMOTION_METRIC])
    promoted = champion_score is None or candidate_score >= champion_score
    if promoted:
        set_champion(bundle)
    logger.info(
        "dev %s: candidate %.4f vs champion %s -> %s",
        PROMOTION_METRIC,
        candidate_score,
        "none" if champion_score is None else f"{champion_score:.4f} ({champion_dir})",
        "promoted" if promoted else "kept the champion",
    )
    flat = {**_flat_metrics(dev_report, "dev"), **_flat_metrics(test_report, "test")}
    tracking = track_run(
        experiment=config.experiment,
        model_name=config.name,
        params=model.params(),
        metrics={**flat, "training_seconds": fit_seconds},
        bundle=bundle,
        plots=plots,
        promote=promoted,
        register=config.register,
    )
    return TrainingResult(bundle=bundle, metrics=metrics, promoted=promoted, tracking=tracking)
