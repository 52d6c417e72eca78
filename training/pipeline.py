"""`iccs train`: corpus -> calibrated classifier -> evaluation -> bundle -> MLflow -> champion."""

from __future__ import annotations

import logging
import time
import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iccs.bundle import champion_path, load_bundle, save_bundle, save_tags, set_champion
from iccs.classifier import ClassifierConfig, ICCSClassifier
from iccs.embedders import memoize_embedder
from iccs.paths import corpus_path, models_dir
from iccs.tags import TagConfig
from iccs.taxonomy import load_taxonomy
from training.corpus import data_version, load_corpus
from training.evaluate import dev_thresholds, evaluate_frame, write_report
from training.lojo import (
    cached_held_out_scores,
    calibrate_on,
    nested_report,
    plan,
    policy_comparison,
)
from training.model_card import write_model_card
from training.plots import write_plots
from training.reviews_import import ReviewImport, learning_loop_section, load_review_rows
from training.tags import load_tag_labels, tags_path_beside, train_tags
from training.tracking import TrackingResult, track_run

logger = logging.getLogger(__name__)

PROMOTION_METRIC = "exact_at_1"


class StageLog:
    """Logs each training stage as it starts and how long it took: a full run takes an hour."""

    STAGES = ("corpus", "experts", "calibration", "evaluation", "tags", "bundle", "tracking")

    def __init__(self) -> None:
        self.current: str | None = None
        self.started = 0.0

    def start(self, name: str) -> None:
        self.finish()
        self.current, self.started = name, time.perf_counter()
        logger.info("[%d/%d] %s ...", self.STAGES.index(name) + 1, len(self.STAGES), name)

    def finish(self) -> None:
        if self.current is not None:
            logger.info(
                "[%d/%d] %s done in %.1f s",
                self.STAGES.index(self.current) + 1,
                len(self.STAGES),
                self.current,
                time.perf_counter() - self.started,
            )
        self.current = None


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
    # Leave-one-jurisdiction-out: calibration, review threshold and promotion on held-out
    # jurisdictions (off: calibrate on the dev split, for small corpora without folds).
    lojo: bool = True
    embedding_cache: Path | None = None  # folder for text -> vector caches across runs
    lojo_cache: Path | None = None  # folder for held-out scores per expert across runs
    # Tag labels (`id, cyber, attempt, weapon, context`); None: `tags.csv` beside the corpus.
    # No tag model when the file is absent.
    tags: Path | None = None
    tag_model: TagConfig = field(default_factory=TagConfig)  # TOML `[tag_model]`
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)

    @classmethod
    def from_file(cls, path: Path | None) -> TrainingConfig:
        if path is None:
            return cls()
        raw = tomllib.loads(path.read_text())
        try:
            classifier = ClassifierConfig.from_dict(raw.pop("classifier", {}))
            tag_model = TagConfig(**raw.pop("tag_model", {}))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        config = cls(classifier=classifier, tag_model=tag_model)
        for key, value in raw.items():
            if not hasattr(config, key):
                raise ValueError(f"{path}: unknown setting {key!r}")
            if key in ("corpus", "embedding_cache", "lojo_cache", "tags"):
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
    """Train split, plus dev when calibration comes from LOJO (dev is then not needed)."""
    splits = ("train", "dev") if config.lojo else ("train",)
    frames = [corpus[corpus["split"].isin(splits)]]
    for extra in config.extra_training_data:
        extra_frame = load_corpus(extra)
        frames.append(extra_frame[extra_frame["split"] != "test"])
    frames += [review.rows for review in reviews]
    return pd.concat(frames, ignore_index=True)


def row_weights(frame: pd.DataFrame, taxonomy_weight: float) -> np.ndarray:
    """Training weight per row: taxonomy rows count less than labelled texts."""
    return np.where(frame["origin"] == "taxonomy", taxonomy_weight, 1.0)


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


def _lojo_metrics(report: dict[str, Any]) -> dict[str, float]:
    flat = {}
    for language, summary in report["pooled"].items():
        for key in ("exact_at_1", "exact_at_3", "section_accuracy", "division_accuracy", "ece"):
            flat[f"lojo_{language}_{key}"] = float(summary[key])
        flat[f"lojo_{language}_autocoding_rate_p97"] = summary["autocoding"]["0.97"]["rate"]
    return {k: v for k, v in flat.items() if np.isfinite(v)}


def _champion_score(name: str, dev: pd.DataFrame, lojo: bool) -> tuple[float | None, Path | None]:
    """The champion's promotion figure: its stored LOJO exact@1, or its dev exact@1."""
    current = champion_path(name=name)
    if current is None or not (current / "config.json").is_file():
        return None, None
    try:
        champion, metadata = load_bundle(current)
        if lojo:
            stored = metadata.get("metrics", {}).get("lojo", {}).get("all", {})
            value = stored.get(PROMOTION_METRIC)
            return (None if value is None else float(value)), current
        thresholds = {float(k): v for k, v in metadata.get("thresholds", {}).items()}
        report, _ = evaluate_frame(champion, dev, thresholds or None)
        return float(report["overall"][PROMOTION_METRIC]), current
    except Exception:  # an unloadable champion must not block a new model
        logger.exception("could not evaluate the current champion %s", current)
        return None, current


def _champion_test_report(champion: Path | None, test: pd.DataFrame) -> dict[str, Any] | None:
    """The champion's figures on the test split: the "before" of the learning loop."""
    if champion is None:
        return None
    try:
        model, metadata = load_bundle(champion)
        thresholds = {float(k): v for k, v in metadata.get("thresholds", {}).items()}
        return evaluate_frame(model, test, thresholds or None)[0]
    except Exception:
        logger.exception("could not evaluate the current champion %s", champion)
        return None


def _calibrate_on_lojo(
    model: ICCSClassifier, config: TrainingConfig, corpus: pd.DataFrame
) -> tuple[dict[str, Any], dict[float, float]]:
    """Held-out scores per jurisdiction -> blend and thresholds; the nested LOJO report."""
    pool = corpus[corpus["split"] != "test"].reset_index(drop=True)
    held = cached_held_out_scores(
        pool,
        config.classifier,
        model.classes_,
        row_weights(pool, config.taxonomy_weight),
        config.lojo_cache,
        data_version(config.corpus),
    )
    report = nested_report(model, held)
    everyone = np.ones(len(held.frame), dtype=bool)
    thresholds = calibrate_on(model, held, everyone)
    report["calibration"] = held.stats
    report["policies"] = policy_comparison(model, held)
    report["seconds_per_unit"] = held.seconds
    return report, thresholds


def train(config: TrainingConfig, output_root: Path | None = None) -> TrainingResult:
    started = time.perf_counter()
    stages = StageLog()
    stages.start("corpus")
    corpus = load_corpus(config.corpus)
    reviews = [load_review_rows(path, corpus) for path in config.review_exports]
    train_frame = _training_frame(config, corpus, reviews)
    dev = corpus[corpus["split"] == "dev"]
    test = corpus[corpus["split"] == "test"]
    logger.info(
        "%d corpus rows: training on %d texts, dev %d, test %d",
        len(corpus),
        len(train_frame),
        len(dev),
        len(test),
    )
    stages.start("experts")  # the classifier logs each expert with its time
    knn = [config.classifier.knn_embedder] if config.classifier.knn_embedder else []
    for name in dict.fromkeys([*config.classifier.embedders, *knn]):
        memoize_embedder(name, config.embedding_cache)
    model = ICCSClassifier(config.classifier).fit_experts(
        train_frame["text"].tolist(),
        train_frame["iccs_code"].tolist(),
        sample_weight=row_weights(train_frame, config.taxonomy_weight),
    )
    lojo_report = None
    use_lojo = config.lojo and bool(plan(corpus[corpus["split"] != "test"]))
    if config.lojo and not use_lojo:
        logger.warning("the corpus has no real rows with a jurisdiction: calibrating on dev")
    stages.start("calibration")
    if use_lojo:
        logger.info("calibrating on held-out jurisdictions (a model per jurisdiction)")
        lojo_report, thresholds = _calibrate_on_lojo(model, config, corpus)
        fitted_on = "lojo"
        dev_report = None
    else:
        logger.info("calibrating on the dev split (%d texts)", len(dev))
        model.calibrate(dev["text"].tolist(), dev["iccs_code"].tolist())
        dev_report, _ = evaluate_frame(model, dev)
        thresholds = dev_thresholds(dev_report)
        fitted_on = "dev"
    # Records below the 97%-precision threshold go to people; the cascade threshold fitted
    # with the blend stays.
    model.operating = replace(
        model.operating,
        review_threshold=float(np.clip(thresholds[0.97], 0.5, 0.99)),
        fitted_on=fitted_on,
    )
    fit_seconds = time.perf_counter() - started
    stages.start("evaluation")
    test_report, test_records = evaluate_frame(model, test, thresholds)
    stages.start("tags")
    tags_file = config.tags or tags_path_beside(config.corpus)
    tagger, tag_metrics = None, None
    if tags_file.is_file():
        extra = pd.concat([r.tag_rows for r in reviews], ignore_index=True) if reviews else None
        tagger, tag_metrics = train_tags(
            corpus, load_tag_labels(tags_file), config.tag_model, extra=extra, lojo=use_lojo
        )
    else:
        logger.info("no tag labels at %s: the bundle gets no tag model", tags_file)
    stages.start("bundle")
    version = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    bundle = (output_root or models_dir()) / config.name / version
    reports = {"test": test_report} | ({"dev": dev_report} if dev_report else {})
    metadata = {
        "name": config.name,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_version": data_version(config.corpus),
        "taxonomy_version": load_taxonomy().version,
        "train_rows": len(train_frame),
        "review_rows": sum(len(review.rows) for review in reviews),
        "training_seconds": round(fit_seconds, 1),
        "thresholds": {f"{k:.2f}": v for k, v in thresholds.items()},
        "metrics": {
            split: {k: v for k, v in report["overall"].items() if k != "autocoding"}
            | {"autocoding": report["overall"]["autocoding"]}
            for split, report in reports.items()
        }
        | ({"lojo": lojo_report["pooled"]} if lojo_report else {}),
    }
    save_bundle(model, bundle, metadata)
    metrics: dict[str, Any] = {**reports, "thresholds": thresholds}
    if tagger is not None:
        save_tags(bundle, tagger, {"labels": tags_file.name, "metrics": tag_metrics})
        model.tagger = tagger
        metrics["tags"] = tag_metrics
    if lojo_report:
        metrics["lojo"] = lojo_report
    write_report(metrics, bundle)
    plots = write_plots(
        test_records, bundle / "plots", "test split", model.operating.review_threshold
    )
    champion_score, champion_dir = _champion_score(config.name, dev, use_lojo)
    loop = None
    if reviews:
        champion = None if champion_dir is None else f"{config.name} {champion_dir.name}"
        loop = learning_loop_section(
            reviews, champion, {"test": _champion_test_report(champion_dir, test)}, reports
        )
    write_model_card(bundle, model, metadata, metrics, loop)
    if lojo_report:
        candidate_score = float(lojo_report["pooled"]["all"][PROMOTION_METRIC])
    else:
        assert dev_report is not None
        candidate_score = float(dev_report["overall"][PROMOTION_METRIC])
    promoted = champion_score is None or candidate_score >= champion_score
    if promoted:
        set_champion(bundle)
    logger.info(
        "%s %s: candidate %.4f vs champion %s -> %s",
        "LOJO" if use_lojo else "dev",
        PROMOTION_METRIC,
        candidate_score,
        "none" if champion_score is None else f"{champion_score:.4f} ({champion_dir})",
        "promoted" if promoted else "kept the champion",
    )
    stages.start("tracking")
    flat = _flat_metrics(test_report, "test")
    if dev_report:
        flat |= _flat_metrics(dev_report, "dev")
    if lojo_report:
        flat |= _lojo_metrics(lojo_report)
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
    stages.finish()
    return TrainingResult(bundle=bundle, metrics=metrics, promoted=promoted, tracking=tracking)
