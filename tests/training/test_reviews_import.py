"""The learning loop: a review export becomes training rows (never test rows), and `iccs train
--include-reviews` shows the champion's and the new model's figures side by side."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iccs.bundle import save_bundle
from iccs.classifier import ICCSClassifier
from iccs.cli import _register_plugins, app
from service.reviews.export import EXPORT_COLUMNS
from tests.conftest import write_tiny_corpus
from training.corpus import COLUMNS
from training.reviews_import import ReviewExportError, load_review_rows

runner = CliRunner()
_register_plugins()


def write_export(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow(
                {
                    "id": f"review-{i}",
                    "language": "en",
                    "origin": "real",
                    "source": "review",
                    "labeller": "review:alice",
                    "split": "train",
                    "action": "recode",
                    "decided_by": "alice",
                    "decided_at": f"2025-11-27T10:{i:02d}:00+00:00",
                    **row,
                }
            )
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, taxonomy) -> Path:  # type: ignore[no-untyped-def]
    return write_tiny_corpus(tmp_path_factory.mktemp("loop") / "corpus.csv", taxonomy)


def test_export_rows_become_training_rows_never_test_rows(corpus: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(corpus, dtype=str, keep_default_na=False)
    test_text = frame.loc[frame["split"] == "test", "text"].iloc[0]
    export = write_export(
        tmp_path / "export.csv",
        [
            {"text": "bicycle taken from the garden shed", "iccs_code": "50229"},
            {"text": "BICYCLE taken from the  garden shed", "iccs_code": "050221"},  # later
            {"text": "lost a glove in the park", "iccs_code": "NONE", "action": "not_an_offence"},
            {"text": test_text.upper(), "iccs_code": "0907"},  # a test text: left out
            {"text": "kicked the door", "iccs_code": "999999"},  # invalid code
            {"text": "sold fake watches", "iccs_code": "0701", "split": "test", "language": ""},
        ],
    )
    loaded = load_review_rows(export, frame)
    rows = loaded.rows
    assert list(rows.columns) == COLUMNS
    assert rows["text"].tolist() == [
        "BICYCLE taken from the  garden shed",
        "lost a glove in the park",
        "sold fake watches",
    ]
    assert rows["iccs_code"].tolist() == ["050221", "NONE", "0701"]
    assert set(rows["split"]) == {"train"} and set(rows["origin"]) == {"real"}
    assert set(rows["source"]) == {"review"} and set(rows["labeller"]) == {"review:alice"}
    assert rows["language"].tolist()[-1] == "en"  # guessed where the export had none
    assert (loaded.read, loaded.held_out_texts, loaded.duplicates, loaded.invalid_codes) == (
        6,
        1,
        1,
        1,
    )
    assert loaded.by_action == {"not_an_offence": 1, "recode": 2}  # of the rows added

    other = tmp_path / "other.csv"
    other.write_text("case,offence\n1,theft\n")
    with pytest.raises(ReviewExportError, match="not a review export"):
        load_review_rows(other, frame)


def test_train_with_reviews_compares_with_the_champion(
    corpus: Path,
    tmp_path: Path,
    tiny_model: ICCSClassifier,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    models = tmp_path / "models"
    champion = models / "iccs-classifier" / "tiny-1"
    save_bundle(
        tiny_model,
        champion,
        {"name": "iccs-classifier", "version": "tiny-1", "taxonomy_version": "ICCS-1.0-2015"},
    )
    (champion.parent / "CHAMPION").write_text("tiny-1\n")
    monkeypatch.setenv("ICCS_MODELS_DIR", str(models))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("ICCS_MLFLOW_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.delenv("ICCS_MODEL_PATH", raising=False)
    config = tmp_path / "train.toml"
    config.write_text(
        f'corpus = "{corpus}"\nexperiment = "loop"\nregister = false\n[classifier]\n'
        "embedders = []\nknn_embedder = ''\nmax_word_features = 3000\nmax_char_features = 5000\n"
    )
    export = write_export(
        tmp_path / "export.csv",
        [
            {"text": "bicycle taken from the garden shed", "iccs_code": "050229"},
            {"text": "lost a glove in the park", "iccs_code": "NONE"},
        ],
    )
    other = tmp_path / "other.csv"
    other.write_text("case,offence\n1,theft\n")
    bad = runner.invoke(app, ["train", "--config", str(config), "--include-reviews", str(other)])
    assert bad.exit_code == 2 and "not a review export" in bad.output

    result = runner.invoke(
        app, ["train", "--config", str(config), "--include-reviews", str(export)]
    )
    assert result.exit_code == 0, result.output
    (bundle,) = [p for p in (models / "iccs-classifier").iterdir() if p.is_dir() and p != champion]
    card = (bundle / "MODEL_CARD.md").read_text()
    assert "## Learning loop: analysts' decisions" in card
    assert "2 reviewed items added to training from `export.csv`" in card
    assert "none enters the frozen test split" in card
    assert "the champion `iccs-classifier tiny-1`" in card
    assert "| test | exact@1 |" in card and "| dev | exact@1 |" in card
    metadata = json.loads((bundle / "config.json").read_text())
    assert metadata["metadata"]["review_rows"] == 2
    evaluation = json.loads((bundle / "evaluation.json").read_text())
    test_rows = pd.read_csv(corpus, dtype=str).query("split == 'test'")
    assert evaluation["test"]["overall"]["n"] == len(test_rows)
