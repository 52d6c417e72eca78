"""`iccs train` end to end on a tiny corpus: bundle, model card, MLflow registry, champion rule."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iccs.bundle import load_bundle
from iccs.cli import _register_plugins, app
from iccs.tags import TAGS
from tests.conftest import write_tiny_corpus, write_tiny_tags
from training.pipeline import StageLog

runner = CliRunner()
_register_plugins()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, taxonomy) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("train")
    corpus = write_tiny_corpus(root / "corpus.csv", taxonomy)
    config = root / "train.toml"
    config.write_text(
        f'corpus = "{corpus}"\nexperiment = "test"\n[classifier]\n'
        'embedders = []\nknn_embedder = ""\n'
        "max_word_features = 3000\nmax_char_features = 5000\n"
    )
    return {"root": root, "corpus": corpus, "config": config}


@pytest.fixture
def env(workspace: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    root = workspace["root"]
    monkeypatch.setenv("ICCS_MODELS_DIR", str(root / "models"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    monkeypatch.setenv("ICCS_MLFLOW_ARTIFACTS", str(root / "artifacts"))
    monkeypatch.delenv("ICCS_MODEL_PATH", raising=False)
    return workspace


def test_train_registers_a_champion_and_writes_a_bundle(
    env: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    result = runner.invoke(app, ["train", "--config", str(env["config"])])
    assert result.exit_code == 0, result.output
    assert "promoted to champion" in result.output
    # progress per stage, each expert on its own, then where to look at the run
    messages = [r.getMessage() for r in caplog.records if r.name.startswith(("training", "iccs"))]
    for number, name in enumerate(StageLog.STAGES, start=1):
        assert f"[{number}/7] {name} ..." in messages
        assert any(m.startswith(f"[{number}/7] {name} done in ") for m in messages)
    assert any(m.startswith("expert 1/") and "fitting" in m for m in messages)
    assert any(m.startswith("calibrating on the dev split") for m in messages)
    mlflow_ui = f"mlflow ui --backend-store-uri sqlite:///{env['root'] / 'mlflow.db'}"
    assert mlflow_ui in result.output.replace("\n", "")
    base = env["root"] / "models" / "iccs-classifier"
    bundle = base / (base / "CHAMPION").read_text().strip()
    for name in (
        "config.json",
        "vectorizers.joblib",
        "lexical.npz",
        "evaluation.json",
        "MODEL_CARD.md",
        "plots/reliability.png",
        "plots/coverage_precision.png",
        "plots/confusion_sections.png",
    ):
        assert (bundle / name).is_file(), name
    card = (bundle / "MODEL_CARD.md").read_text()
    assert "![Confusion matrix by ICCS section" in card and "(plots/reliability.png)" in card
    assert "exact@1" in card and "Intended use" in card and "Limits" in card
    assert "No tag model in this bundle" in card and not (bundle / "tags").exists()
    metrics = json.loads((bundle / "evaluation.json").read_text())
    assert set(metrics) >= {"dev", "test", "thresholds"}
    assert "language=en" in metrics["test"]["by"]

    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(f"sqlite:///{env['root'] / 'mlflow.db'}")
    version = MlflowClient().get_model_version_by_alias("iccs-classifier", "champion")
    assert version.tags["bundle_version"] == bundle.name


def test_a_worse_model_does_not_take_the_champion(env: dict[str, Path]) -> None:
    base = env["root"] / "models" / "iccs-classifier"
    champion_before = (base / "CHAMPION").read_text()
    worse = env["root"] / "worse.toml"
    # Tiny feature spaces: a clearly weaker model on the same dev split.
    worse.write_text(
        env["config"]
        .read_text()
        .replace("max_word_features = 3000", "max_word_features = 5")
        .replace("max_char_features = 5000", "max_char_features = 5")
    )
    result = runner.invoke(app, ["train", "--config", str(worse)])
    assert result.exit_code == 0, result.output
    assert "champion kept" in result.output
    assert (base / "CHAMPION").read_text() == champion_before


def test_evaluate_writes_report_and_plots(env: dict[str, Path]) -> None:
    out = env["root"] / "report"
    result = runner.invoke(app, ["evaluate", "--data", str(env["corpus"]), "--output", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "evaluation.json").read_text())
    # a table people read: labelled figures with their n, then auto-coding per target
    n = report["overall"]["n"]
    assert f"corpus.csv (n = {n:,})" in result.output
    assert "exact code, first suggestion" in result.output and "Auto-coding" in result.output
    assert f"{report['overall']['exact_at_1']:.1%}" in result.output
    assert "{" not in result.output  # no JSON unless asked
    as_json = runner.invoke(
        app, ["evaluate", "--data", str(env["corpus"]), "--output", str(out), "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    summary = json.loads(as_json.stdout)
    assert summary["overall"]["n"] == n and set(summary["autocoding"]) == {"0.95", "0.97", "0.99"}
    assert summary["overall"]["exact_at_1"] == report["overall"]["exact_at_1"]
    overall = report["overall"]
    for key in (
        "exact_at_1",
        "exact_at_3",
        "section_accuracy",
        "division_accuracy",
        "group_accuracy",
        "class_accuracy",
        "macro_f1",
        "ece",
    ):
        assert 0.0 <= overall[key] <= 1.0
    assert set(overall["autocoding"]) == {"0.95", "0.97", "0.99"}
    assert "origin=synthetic" in report["by"]
    assert (out / "reliability.png").stat().st_size > 1000
    assert (out / "coverage_precision.png").stat().st_size > 1000
    assert (out / "confusion_sections.png").stat().st_size > 1000


def test_classify_honours_the_output_contract(env: dict[str, Path]) -> None:
    source = env["root"] / "in.csv"
    pd.DataFrame(
        {"id": ["a", "b"], "text": ["drink driving over the limit", "lost wallet"]}
    ).to_csv(source, index=False)
    out = env["root"] / "out.jsonl"
    result = runner.invoke(app, ["classify", str(source), "--output", str(out), "--top-k", "2"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "b"]
    for record in records:
        assert set(record) >= {"id", "suggestions", "needs_review", "model_version"}
        assert 1 <= len(record["suggestions"]) <= 2
        for s in record["suggestions"]:
            assert set(s) == {"code", "title", "level", "path", "confidence"}
        confidences = [s["confidence"] for s in record["suggestions"]]
        assert confidences == sorted(confidences, reverse=True)
    assert records[0]["suggestions"][0]["code"].startswith("02")
    assert records[0]["model_version"].startswith("iccs-classifier:")


def test_train_with_jurisdiction_folds_reports_lojo(
    tmp_path: Path,
    taxonomy,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    corpus = write_tiny_corpus(tmp_path / "corpus.csv", taxonomy)
    frame = pd.read_csv(corpus, dtype=str, keep_default_na=False)
    real = frame["origin"] == "synthetic"  # the tiny texts: treat them as three countries' wording
    places = ["AA", "BB", "CC"]
    frame.loc[real, "origin"] = "real"
    frame.loc[real, "jurisdiction"] = [places[(i // 3) % 3] for i in range(int(real.sum()))]
    frame["jurisdiction"] = frame["jurisdiction"].fillna("none")
    frame["fold"] = [f"{j}:titles" if j in places else "" for j in frame["jurisdiction"]]
    frame.to_csv(corpus, index=False)
    write_tiny_tags(corpus)  # tags.csv beside the corpus: the bundle gets a tag model
    config = tmp_path / "train.toml"
    config.write_text(  # two experts and a cascade: the lexical one decides where it is sure
        f'corpus = "{corpus}"\nexperiment = "test"\n[classifier]\n'
        'embedders = ["use-multilingual"]\nknn_embedder = ""\ncascade_experts = 1\n'
        "max_word_features = 3000\nmax_char_features = 5000\n"
    )
    monkeypatch.setenv("ICCS_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("ICCS_MLFLOW_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.delenv("ICCS_MODEL_PATH", raising=False)
    result = runner.invoke(app, ["train", "--config", str(config)])
    assert result.exit_code == 0, result.output
    base = tmp_path / "models" / "iccs-classifier"
    bundle = base / (base / "CHAMPION").read_text().strip()
    report = json.loads((bundle / "evaluation.json").read_text())
    lojo = report["lojo"]
    assert set(lojo["by_unit"]) == set(places)
    held_out = (frame["origin"] == "real") & (frame["split"] != "test")
    assert sum(u["n"] for u in lojo["by_unit"].values()) == int(held_out.sum())
    for summary in lojo["pooled"].values():
        assert 0.0 <= summary["exact_at_1"] <= 1.0
        assert 0.0 <= summary["ece"] <= 1.0
    assert set(lojo["policies"]) == {"specific", "backoff"}
    operating = json.loads((bundle / "config.json").read_text())["operating_point"]
    assert operating["fitted_on"] == "lojo"
    # The cascade threshold fitted with the blend is the one the bundle runs with.
    assert operating["cascade_threshold"] == report["lojo"]["calibration"]["cascade_threshold"]
    assert "Leave-one-jurisdiction-out" in (bundle / "MODEL_CARD.md").read_text()
    tags = report["tags"]
    assert set(tags["lojo"]["by_unit"]) == set(places) and set(tags["test"]) == set(TAGS)
    assert "| LOJO pooled | cyber | en |" in (bundle / "MODEL_CARD.md").read_text()
    assert load_bundle(bundle)[0].tagger is not None
    evaluated = runner.invoke(
        app, ["evaluate", "--model", str(bundle), "--output", str(tmp_path / "r")]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "LOJO (pooled)" in evaluated.output
    assert "NaN" not in evaluated.output and " nan" not in evaluated.output
