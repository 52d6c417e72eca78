"""Training and evaluating the tag model: `iccs tags train` and the tag step of `iccs train`.

The labels file (`datasets/corpus/tags.csv`: `id, text, cyber, attempt, weapon, context,
tag_labeller`) has one row per corpus row, joined on `id`. The tag model is fitted on every row
outside the frozen test split and evaluated on the test split and by leave-one-jurisdiction-out
(the same units as the codes, see `training.lojo.plan`); `unknown` is a class like the others,
so it counts in accuracy and macro-F1 as an answer the model may give.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from iccs.bundle import load_bundle, read_bundle_config, save_tags
from iccs.embedders import memoize_embedder
from iccs.paths import corpus_path
from iccs.tags import (
    CYBER_RELATED,
    TAGS,
    TagConfig,
    TagError,
    TagPredictor,
    best_cyber_threshold,
    check_value,
    related_choice,
)
from training.corpus_tags import TAGS_FILE
from training.lojo import plan

logger = logging.getLogger(__name__)

TAXONOMY_WEIGHT = 0.5  # as for the codes: taxonomy rows count less than labelled texts


def tags_path_beside(corpus: Path) -> Path:
    """Where the labels of a corpus live: `tags.csv` in the corpus's folder."""
    return corpus.parent / TAGS_FILE


def load_tag_labels(path: Path) -> pd.DataFrame:
    """`id` and one column per tag, every value checked against its closed set."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in ("id", *TAGS) if c not in frame.columns]
    if missing:
        raise TagError(f"{path}: missing columns {', '.join(missing)}")
    for tag in TAGS:
        frame[tag] = frame[tag].str.strip()
        for value in set(frame[tag]) - {""}:
            check_value(tag, value)
    if frame["id"].duplicated().any():
        raise TagError(f"{path}: duplicate ids")
    return frame[["id", *TAGS]]


def join_tags(corpus: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Corpus rows that have tag labels, with one column per tag ('' where a tag is missing)."""
    joined = corpus.drop(columns=[t for t in TAGS if t in corpus.columns]).merge(
        labels, on="id", how="inner"
    )
    return joined.reset_index(drop=True)


def fit_tagger(frame: pd.DataFrame, config: TagConfig | None = None) -> TagPredictor:
    weights = np.where(frame["origin"] == "taxonomy", TAXONOMY_WEIGHT, 1.0)
    labels = {tag: frame[tag].tolist() for tag in TAGS}
    return TagPredictor(config).fit(frame["text"].tolist(), labels, sample_weight=weights)


def _scores(gold: np.ndarray, predicted: np.ndarray, tag: str) -> dict[str, Any]:
    keep = gold != ""
    gold, predicted = gold[keep], predicted[keep]
    out: dict[str, Any] = {"n": len(gold)}
    if not len(gold):
        return out | {"accuracy": None, "macro_f1": None}  # None, not NaN: JSON everywhere
    out["accuracy"] = float(np.mean(gold == predicted))
    out["macro_f1"] = float(f1_score(gold, predicted, average="macro", zero_division=0))
    if tag == "cyber":
        related = np.isin(gold, list(CYBER_RELATED))
        said = np.isin(predicted, list(CYBER_RELATED))
        hits = int(np.sum(related & said))
        out["cyber_related"] = {
            "n": int(related.sum()),
            "precision": hits / int(said.sum()) if said.any() else None,
            "recall": hits / int(related.sum()) if related.any() else None,
        }
    return out


def tag_report(frame: pd.DataFrame, predicted: dict[str, list[str]]) -> dict[str, Any]:
    """Per tag: overall and per language accuracy, macro-F1 (and cyber-related P/R)."""
    report: dict[str, Any] = {}
    languages = frame["language"].to_numpy()
    for tag in TAGS:
        if tag not in predicted:
            continue
        gold, said = frame[tag].to_numpy(dtype=object), np.asarray(predicted[tag], dtype=object)
        report[tag] = {"all": _scores(gold, said, tag)} | {
            language: _scores(gold[languages == language], said[languages == language], tag)
            for language in sorted(set(languages))
        }
    return report


def predicted_values(tagger: TagPredictor, texts: list[str]) -> dict[str, list[str]]:
    chosen = tagger.decide(tagger.predict_proba(texts))
    return {tag: [tagger.classes_[tag][i] for i in c] for tag, c in chosen.items()}


def cyber_threshold(gold: np.ndarray, proba: np.ndarray) -> float | None:
    """`best_cyber_threshold` over probabilities in TAGS["cyber"] column order."""
    return best_cyber_threshold(gold, proba, TAGS["cyber"])


def _cyber_columns(tagger: TagPredictor, proba: dict[str, np.ndarray]) -> np.ndarray:
    """The unit model's cyber probabilities in TAGS["cyber"] order (0 for unseen values)."""
    out = np.zeros((len(next(iter(proba.values()))), len(TAGS["cyber"])))
    for j, value in enumerate(tagger.classes_.get("cyber", [])):
        out[:, TAGS["cyber"].index(value)] = proba["cyber"][:, j]
    return out


def lojo_report(pool: pd.DataFrame, config: TagConfig | None = None) -> dict[str, Any] | None:
    """Pooled held-out figures over every jurisdiction the codes' LOJO holds out.

    Argmax does not depend on the temperature, so the unit models skip it (half the time).
    With `cyber_operating` set, the report also carries the cyber threshold chosen on every
    unit's held-out rows (the operating point to serve), and the pooled cyber figures decide
    each unit's rows with the threshold chosen on the *other* units (nested, so honest).
    """
    units = plan(pool)
    if not units:
        return None
    config = config or TagConfig()
    unit_config = TagConfig(**{**vars(config), "calibration_share": 0.0})
    held_frames: list[pd.DataFrame] = []
    predictions: dict[str, list[str]] = {tag: [] for tag in TAGS}
    cyber_proba, names = [], []
    by_unit = {}
    for unit in units:
        held = pool[unit.held_out]
        if held.empty:
            continue
        tagger = fit_tagger(pool[unit.train], unit_config)
        proba = tagger.predict_proba(held["text"].tolist())
        chosen = tagger.decide(proba)
        said = {tag: [tagger.classes_[tag][i] for i in c] for tag, c in chosen.items()}
        by_unit[unit.name] = tag_report(held, said)
        held_frames.append(held)
        cyber_proba.append(_cyber_columns(tagger, proba))
        names += [unit.name] * len(held)
        for tag in TAGS:
            predictions[tag] += said.get(tag, ["" for _ in range(len(held))])
    frame = pd.concat(held_frames, ignore_index=True)
    report: dict[str, Any] = {"pooled": tag_report(frame, predictions), "by_unit": by_unit}
    if config.cyber_operating:
        gold, held_proba = frame["cyber"].to_numpy(dtype=object), np.vstack(cyber_proba)
        report["cyber_threshold"] = cyber_threshold(gold, held_proba)
        report["pooled_argmax_cyber"] = report["pooled"]["cyber"]
        report["pooled"]["cyber"] = _nested_cyber(frame, held_proba, np.asarray(names))
    return report


def _nested_cyber(frame: pd.DataFrame, proba: np.ndarray, units: np.ndarray) -> dict[str, Any]:
    """Cyber figures where each unit's rows use the threshold chosen on the other units."""
    gold = frame["cyber"].to_numpy(dtype=object)
    chosen = proba.argmax(axis=1)
    for unit in np.unique(units):
        mine = units == unit
        threshold = cyber_threshold(gold[~mine], proba[~mine])
        if threshold is not None:
            chosen[mine] = related_choice(proba[mine], TAGS["cyber"], threshold)
    said = np.asarray(TAGS["cyber"], dtype=object)[chosen]
    return tag_report(frame[["language", "cyber"]], {"cyber": list(said)})["cyber"]


def train_tags(
    corpus: pd.DataFrame,
    labels: pd.DataFrame,
    config: TagConfig | None = None,
    extra: pd.DataFrame | None = None,
    lojo: bool = True,
) -> tuple[TagPredictor, dict[str, Any]]:
    """Fit on every labelled row outside the test split (plus `extra`, e.g. reviewed items);
    evaluate on the test split and, when asked, by leave-one-jurisdiction-out."""
    started = time.perf_counter()
    if config is not None and config.embedder:
        memoize_embedder(config.embedder)  # each text once, not once per held-out unit
    frame = join_tags(corpus, labels)
    if frame.empty:
        raise TagError("no corpus row has tag labels (the files share no id)")
    pool = frame[frame["split"] != "test"].reset_index(drop=True)
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    training = pool if extra is None else pd.concat([pool, extra], ignore_index=True)
    tagger = fit_tagger(training, config)
    metrics: dict[str, Any] = {
        "rows": {
            "train": len(training),
            "test": len(test),
            "reviews": 0 if extra is None else len(extra),
        },
        "temperatures": tagger.temperatures,
    }
    if lojo:
        metrics["lojo"] = lojo_report(pool, config)
        if metrics["lojo"] and metrics["lojo"].get("cyber_threshold") is not None:
            tagger.cyber_threshold = metrics["lojo"]["cyber_threshold"]
    metrics["cyber_threshold"] = tagger.cyber_threshold
    metrics["test"] = tag_report(test, predicted_values(tagger, test["text"].tolist()))
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    return tagger, metrics


def write_tags(bundle: Path, tagger: TagPredictor, metrics: dict[str, Any], source: str) -> None:
    """Save the tag model in the bundle; its figures go to evaluation.json and the model card."""
    from training.tags_card import replace_card_section

    save_tags(bundle, tagger, {"labels": source, "metrics": metrics})
    evaluation = bundle / "evaluation.json"
    report = json.loads(evaluation.read_text()) if evaluation.is_file() else {}
    report["tags"] = metrics
    evaluation.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=float))
    replace_card_section(bundle / "MODEL_CARD.md", metrics)


def refresh_bundle_tags(
    bundle: Path,
    tags_file: Path,
    corpus_file: Path | None = None,
    config: TagConfig | None = None,
    lojo: bool = True,
    embedding_cache: Path | None = None,
) -> dict[str, Any]:
    """`iccs tags train`: add or replace the tag model of an existing bundle (codes untouched).

    `embedding_cache` keeps the embedder's vectors on disk, as `iccs train` does."""
    from training.corpus import load_corpus

    read_bundle_config(bundle)
    if config is not None and config.embedder:
        memoize_embedder(config.embedder, embedding_cache)
    corpus = load_corpus(corpus_file or corpus_path())
    tagger, metrics = train_tags(corpus, load_tag_labels(tags_file), config, lojo=lojo)
    write_tags(bundle, tagger, metrics, tags_file.name)
    load_bundle(bundle)  # fails loudly if what was written does not load
    return metrics
