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
from training.reviews_import import ReviewImport, learning_loop_section, load_review_rows
from training.tracking import TrackingResult, track_run

logger = logging.getLogger(__name__)

PROMOTION_METRIC = "exact_at_1"


@dataclass
class TrainingConfig:
    """What `--config FILE` (TOML) may set; `[classifier]` holds ClassifierConfig fields."""

    name: str = "iccs-classifier"
    corpus: Path = field(default_factory=corpus_path)
    extra_training_data: list[Path] = field(default_factory=list)
    review_exports: list[Path] = field(default_factory=list)  # GET /v1/reviews/export files
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
            if key in ("extra_training_data", "review_exports"):
                value = [Path(v) for v in value]
            setattr(config, key, value)
        return config


@dataclass
class TrainingResult:
    bundle: Path
    metrics: dict[str, Any]
    promoted: bool
    tracking: TrackingResult | None


def _training_frame(
    config: TrainingConfig, corpus: pd.DataFrame, reviews: list[ReviewImport]
) -> pd.DataFrame:
    frames = [corpus[corpus["split"] == "train"]]
    for extra in config.extra_training_data:
        extra_frame = load_corpus(extra)
        frames.append(extra_frame[extra_frame["split"] != "test"])
    frames += [review.rows for review in reviews]
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


def _champion_reports(
    splits: dict[str, pd.DataFrame], name: str
) -> tuple[dict[str, dict[str, Any] | None], Path | None]:
    """The current champion's evaluation report on each split (None where it has none)."""
    current = champion_path(name=name)
    reports: dict[str, dict[str, Any] | None] = dict.fromkeys(splits)
    if current is None or not (current / "config.json").is_file():
        return reports, None
    try:
        champion, metadata = load_bundle(current)
        thresholds = {float(k): v for k, v in metadata.get("dev_thresholds", {}).items()}
        for split, frame in splits.items():
            reports[split], _ = evaluate_frame(champion, frame, thresholds or None)
    except Exception:  # an unloadable champion must not block a new model
        logger.exception("could not evaluate the current champion %s", current)
        return dict.fromkeys(splits), current
    return reports, current


def train(config: TrainingConfig, output_root: Path | None = None) -> TrainingResult:
    started = time.perf_counter()
    corpus = load_corpus(config.corpus)
    reviews = [load_review_rows(path, corpus) for path in config.review_exports]
    train_frame = _training_frame(config, corpus, reviews)
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
        "review_rows": sum(len(review.rows) for review in reviews),
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
    # The champion on dev decides promotion; with reviews, its test figures are the "before".
    before, champion_dir = _champion_reports(
        {"dev": dev, "test": test} if reviews else {"dev": dev}, config.name
    )
    loop = None
    if reviews:
        champion = None if champion_dir is None else f"{config.name} {champion_dir.name}"
        after = {"dev": dev_report, "test": test_report}
        loop = learning_loop_section(reviews, champion, before, after)
    write_model_card(bundle, model, metadata, metrics, loop)
    dev_before = before["dev"]
    champion_score = None if dev_before is None else float(dev_before["overall"][PROMOTION_METRIC])
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
