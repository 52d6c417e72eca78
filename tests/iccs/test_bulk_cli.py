"""`iccs classify` end to end, including a real Ctrl-C and a killed process that resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iccs.bulk import BulkJob, LocalSuggester, run_bulk
from iccs.bulk.checkpoint import FileCheckpointStore, checkpoint_path
from iccs.cli import app

runner = CliRunner()
ENV = {"COLUMNS": "200"}


def write_backlog(path: Path, rows: int, distinct: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "offence", "station"])
        for i in range(rows):
            k = i % distinct
            text = ["theft of pedal cycle", "common assault", "possession of cannabis"][k % 3]
            writer.writerow([f"C{i:06d}", f"{text} ref {k}", f"S{i % 5}"])
    return path


def test_classify_writes_csv_and_prints_a_summary(tmp_path: Path, tiny_bundle: Path) -> None:
    source = write_backlog(tmp_path / "in.csv", 300, 30)
    with source.open("a", encoding="utf-8") as handle:
        handle.write("C999999,,S1\n")
    result = runner.invoke(
        app,
        [
            "classify",
            str(source),
            "--output",
            str(tmp_path / "out.csv"),
            "--id-column",
            "case_id",
            "--text-column",
            "offence",
            "--top-k",
            "2",
            "--model",
            str(tiny_bundle),
        ],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    assert "classified 301 rows (30 distinct texts)" in result.output
    assert "rejected 1 rows" in result.output and "by ICCS section" in result.output
    assert "05   Acts against property only" in result.output and "needs review" in result.output
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 301 and rows[0]["station"] == "S0" and rows[0]["iccs_code_1"]
    assert list(rows[0])[-6:-4] == ["needs_review", "model_version"]
    assert list(rows[0])[-4:] == ["tag_cyber", "tag_attempt", "tag_weapon", "tag_context"]


def test_training_contract_still_holds(tmp_path: Path, tiny_bundle: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n0042,stole a bicycle\n7,common assault\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "classify",
            str(source),
            "--output",
            str(tmp_path / "out.jsonl"),
            "--id-column",
            "id",
            "--text-column",
            "text",
            "--top-k",
            "3",
            "--model",
            str(tiny_bundle),
        ],
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["0042", "7"]
    assert list(records[0]) == [
        "id",
        "suggestions",
        "needs_review",
        "backed_off",
        "fallback",
        "tags",
        "model_version",
        "taxonomy_version",
        "source",
    ]
    assert records[0]["model_version"] == "iccs-classifier:tiny-1"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--text-column", "narrative"], "column(s) 'narrative' not found"),
        (["--format", "parquet"], "not a readable Parquet file"),
        (["--output-format", "xml"], "unsupported format"),
    ],
)
def test_unusable_input_stops_with_a_clear_message(
    tmp_path: Path, tiny_bundle: Path, arguments: list[str], message: str
) -> None:
    source = write_backlog(tmp_path / "in.csv", 10, 5)
    result = runner.invoke(
        app,
        [
            "classify",
            str(source),
            "-o",
            str(tmp_path / "out.jsonl"),
            "--id-column",
            "case_id",
            "--text-column",
            "offence",
            "--model",
            str(tiny_bundle),
            *arguments,
        ],
        env=ENV,
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_missing_input_file(tmp_path: Path, tiny_bundle: Path) -> None:
    result = runner.invoke(
        app, ["classify", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.jsonl")], env=ENV
    )
    assert result.exit_code == 2 and "input file not found" in result.output


def _start(source: Path, output: Path, bundle: Path, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "iccs.cli", "classify", str(source), "--output", str(output),
        "--id-column", "case_id", "--text-column", "offence", "--model", str(bundle),
        "--chunk-size", "200", "--checkpoint-every", "0", *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy()
    )


def _wait_for_rows(process: subprocess.Popen[str], output: Path, at_least: int) -> int:
    store = FileCheckpointStore(checkpoint_path(output))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run finished before it could be interrupted"
        try:
            saved = store.load()
        except (ValueError, OSError):  # caught mid-rename
            saved = None
        if saved is not None and saved.rows_done >= at_least:
            return saved.rows_done
        time.sleep(0.01)
    raise AssertionError("no checkpoint appeared")


@pytest.mark.slow
def test_ctrl_c_and_kill_then_resume_give_every_row_once(
    tmp_path: Path, tiny_bundle, tiny_model
) -> None:
    source = write_backlog(tmp_path / "in.csv", 6_000, 1_500)
    reference = tmp_path / "reference.jsonl"
    run_bulk(
        BulkJob(source, reference, "iccs-classifier:tiny-1", "case_id", "offence", chunk_size=200),
        LocalSuggester(tiny_model),
    )
    output = tmp_path / "out.jsonl"

    first = _start(source, output, tiny_bundle)
    _wait_for_rows(first, output, 400)
    first.send_signal(signal.SIGINT)  # Ctrl-C
    said, _ = first.communicate(timeout=60)
    assert first.returncode == 130 and "--resume" in said

    second = _start(source, output, tiny_bundle, "--resume")
    before_kill = _wait_for_rows(second, output, 1400)
    second.kill()  # no chance to clean up
    second.communicate(timeout=60)
    assert not output.exists()

    third = _start(source, output, tiny_bundle, "--resume")
    said, _ = third.communicate(timeout=120)
    assert third.returncode == 0, said
    assert "classified 6,000 rows" in said and before_kill < 6_000
    assert output.read_bytes() == reference.read_bytes()
    assert not checkpoint_path(output).exists()


def test_missing_output_folder(tmp_path: Path, tiny_bundle: Path) -> None:
    source = write_backlog(tmp_path / "in.csv", 3, 3)
    result = runner.invoke(
        app,
        ["classify", str(source), "-o", str(tmp_path / "nope" / "out.jsonl"),
         "--id-column", "case_id", "--text-column", "offence", "--model", str(tiny_bundle)],
        env=ENV,
    )  # fmt: skip
    assert result.exit_code == 2 and "output folder not found" in result.output
