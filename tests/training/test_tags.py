"""Tag training and evaluation: labels file, figures per tag and language, `iccs tags train`,
the tag step of `iccs train`, and analysts' tags from a review export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iccs.bundle import load_bundle
from iccs.cli import _register_plugins, app
from iccs.tags import TAGS, TagError
from tests.conftest import write_tiny_corpus, write_tiny_tags
from training.tags import load_tag_labels, tag_report, train_tags

runner = CliRunner()
_register_plugins()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, taxonomy) -> Path:  # type: ignore[no-untyped-def]
    path = write_tiny_corpus(tmp_path_factory.mktemp("tags") / "corpus.csv", taxonomy)
    write_tiny_tags(path)
    return path


def test_report_counts_unknown_as_a_class_and_cyber_related_as_one() -> None:
    frame = pd.DataFrame(
        {
            "language": ["en", "en", "es", "es"],
            "cyber": ["cyber_enabled", "cyber_dependent", "not_cyber", "unknown"],
            "attempt": ["unknown", "completed", "", "attempted"],
            "weapon": ["unknown"] * 4,
            "context": ["other"] * 4,
        }
    )
    said = {
        "cyber": ["cyber_dependent", "cyber_dependent", "cyber_enabled", "unknown"],
        "attempt": ["unknown", "attempted", "completed", "attempted"],
    }
    report = tag_report(frame, said)
    assert set(report) == {"cyber", "attempt"}
    cyber = report["cyber"]["all"]
    assert cyber["accuracy"] == 0.5  # an exact value is needed: enabled != dependent
    assert cyber["cyber_related"] == {"n": 2, "precision": 2 / 3, "recall": 1.0}
    assert report["cyber"]["es"]["cyber_related"]["recall"] is None  # no positives
    attempt = report["attempt"]
    assert attempt["all"]["n"] == 3 and attempt["es"]["n"] == 1  # unlabelled rows left out
    assert attempt["all"]["accuracy"] == pytest.approx(2 / 3)
    assert "cyber_related" not in attempt["all"]


def test_labels_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "tags.csv"
    bad.write_text("id,text,cyber,attempt,weapon,context\nx1,t,online,unknown,unknown,unknown\n")
    with pytest.raises(TagError, match="online"):
        load_tag_labels(bad)
    bad.write_text("id,text,cyber\nx1,t,unknown\n")
    with pytest.raises(TagError, match="missing columns"):
        load_tag_labels(bad)


def test_train_tags_fits_outside_the_test_split_and_evaluates_on_it(corpus: Path) -> None:
    frame = pd.read_csv(corpus, dtype=str, keep_default_na=False)
    labels = load_tag_labels(corpus.parent / "tags.csv")
    tagger, metrics = train_tags(frame, labels, lojo=False)
    labelled = frame[frame["id"].isin(labels["id"])]
    assert metrics["rows"]["test"] == int((labelled["split"] == "test").sum())
    assert metrics["rows"]["train"] == int((labelled["split"] != "test").sum())
    assert set(metrics["test"]) == set(TAGS) and tagger.tags == list(TAGS)
    for tag in TAGS:
        assert metrics["test"][tag]["all"]["n"] == metrics["rows"]["test"]
        assert 0.0 <= metrics["test"][tag]["en"]["accuracy"] <= 1.0
    with pytest.raises(TagError, match="no corpus row"):
        train_tags(frame.assign(id="other-" + frame["id"]), labels, lojo=False)


def test_tags_train_adds_a_tag_model_to_an_existing_bundle(
    tiny_bundle: Path, corpus: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "iccs-classifier" / "v1"
    shutil.copytree(tiny_bundle, bundle)
    shutil.rmtree(bundle / "tags")
    (bundle / "MODEL_CARD.md").write_text("# Model card\n\nFigures.\n")
    codes_before = (bundle / "config.json").read_text()
    args = ["tags", "train", "--model", str(bundle), "--corpus", str(corpus), "--no-lojo"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "cyber: test accuracy" in result.output and "cyber-related precision" in result.output
    model, metadata = load_bundle(bundle)
    assert model.tagger is not None and metadata["tags"]["labels"] == "tags.csv"
    assert set(metadata["metrics"]["tags"]) == set(TAGS)  # what /v1/models/current shows
    assert (bundle / "config.json").read_text() == codes_before  # codes untouched
    assert set(json.loads((bundle / "evaluation.json").read_text())["tags"]["test"]) == set(TAGS)
    card = (bundle / "MODEL_CARD.md").read_text()
    assert card.startswith("# Model card") and "## Tags" in card and "| test | cyber | en |" in card
    assert "`unknown` is a value the model predicts" in card
    again = runner.invoke(app, args)  # refreshing replaces the section, never adds one
    assert again.exit_code == 0 and (bundle / "MODEL_CARD.md").read_text().count("## Tags") == 1

    missing = runner.invoke(app, [*args, "--tags", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "not found" in missing.output
    not_a_bundle = runner.invoke(
        app, ["tags", "train", "--model", str(tmp_path), "--corpus", str(corpus)]
    )
    assert not_a_bundle.exit_code == 2 and "config.json" in not_a_bundle.output


def test_analysts_tags_from_a_review_export_join_the_tag_training_data(
    corpus: Path, tmp_path: Path
) -> None:
    from tests.training.test_reviews_import import write_export
    from training.reviews_import import load_review_rows

    frame = pd.read_csv(corpus, dtype=str, keep_default_na=False)
    export = write_export(
        tmp_path / "export.csv",
        [
            {
                "text": "sold fake concert tickets on a marketplace app",
                "iccs_code": "0701",
                "cyber": "cyber_enabled",
                "attempt": "completed",
                "weapon": "no_weapon",
                "context": "other",
            },
            {"text": "hit him with a bat", "iccs_code": "020111", "weapon": "a bat"},  # invalid
            {"text": "kicked the door", "iccs_code": "0504"},  # no tags: codes only
        ],
    )
    loaded = load_review_rows(export, frame)
    assert len(loaded.rows) == 3
    tagged = loaded.tag_rows
    assert tagged["text"].tolist() == ["sold fake concert tickets on a marketplace app"]
    assert tagged[list(TAGS)].iloc[0].tolist() == [
        "cyber_enabled",
        "completed",
        "no_weapon",
        "other",
    ]
    labels = load_tag_labels(corpus.parent / "tags.csv")
    tagger, metrics = train_tags(frame, labels, extra=tagged, lojo=False)
    assert metrics["rows"]["reviews"] == 1
    assert "other" in tagger.classes_["context"]


def test_the_cyber_threshold_balances_precision_and_recall_on_held_out_rows() -> None:
    import numpy as np

    from training.tags import cyber_threshold

    # related mass 0.9, 0.6, 0.35 for positives; 0.5, 0.3, 0.1 for negatives
    gold = np.array(["cyber_enabled", "cyber_dependent", "cyber_enabled"] + ["not_cyber"] * 3)
    mass = np.array([0.9, 0.6, 0.35, 0.5, 0.3, 0.1])
    proba = np.column_stack([mass / 2, mass / 2, 1 - mass, np.zeros(6)])
    threshold = cyber_threshold(gold, proba)
    assert threshold is not None and 0.3 < threshold <= 0.35  # P 3/4, R 1 beat P 1, R 2/3
    assert cyber_threshold(np.array(["not_cyber", ""]), proba[:2]) is None  # no positives


def test_lojo_chooses_the_served_cyber_threshold_and_reports_it_nested(corpus: Path) -> None:
    from iccs.tags import TagConfig

    frame = pd.read_csv(corpus, dtype=str, keep_default_na=False)
    frame["jurisdiction"] = [("AA", "BB", "CC")[i % 3] for i in range(len(frame))]
    frame["fold"] = ""
    frame["origin"] = frame["origin"].replace("synthetic", "real")  # LOJO holds out real rows
    labels = load_tag_labels(corpus.parent / "tags.csv")
    config = TagConfig(max_features=4000, cyber_operating="min_pr")
    tagger, metrics = train_tags(frame, labels, config, lojo=True)
    lojo = metrics["lojo"]
    assert lojo is not None and "pooled_argmax_cyber" in lojo
    assert tagger.cyber_threshold == lojo["cyber_threshold"] == metrics["cyber_threshold"]
    assert lojo["pooled"]["cyber"]["all"]["n"] == lojo["pooled_argmax_cyber"]["all"]["n"]
    argmax = TagConfig(max_features=4000, cyber_operating="")
    _, plain = train_tags(frame, labels, argmax, lojo=False)
    assert plain["cyber_threshold"] is None


def test_the_card_names_the_cyber_operating_point_when_there_is_one() -> None:
    from training.tags_card import card_section

    metrics = {"rows": {"train": 10, "reviews": 0, "test": 4}, "test": {}, "lojo": None}
    assert "operating point" not in card_section(metrics | {"cyber_threshold": None})
    assert ">= 0.37" in card_section(metrics | {"cyber_threshold": 0.37})
