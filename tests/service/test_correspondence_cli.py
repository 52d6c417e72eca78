"""Correspondence tables from the command line, and their use by `iccs classify` and batch jobs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from iccs.cli import app as iccs_app
from service import cli as service_cli
from service.config import get_settings
from service.db import Database
from service.decision_memory import memory_rows
from tests.service.test_correspondence import NATIONAL, VALIDATED

runner = CliRunner()
ENV = {"COLUMNS": "200"}
UNSEEN = "Abigeato agravado de ganado mayor"


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_bundle: Path
) -> Iterator[typer.Typer]:
    monkeypatch.setenv("ICCS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ICCS_MODEL_PATH", str(tiny_bundle))
    monkeypatch.delenv("ICCS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    app = typer.Typer()
    service_cli.register(app)
    yield app
    get_settings.cache_clear()


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def test_draft_then_export_from_the_cli(cli: typer.Typer, tmp_path: Path) -> None:
    national = write(tmp_path / "national.csv", NATIONAL.replace("national_code", "codigo"))
    wrong = runner.invoke(cli, ["correspondence", "draft", str(national), "--scheme", "EC"])
    assert wrong.exit_code == 2 and "missing columns: national_code" in wrong.stderr
    result = runner.invoke(
        cli, ["correspondence", "draft", str(national), "--scheme", "EC", "--code-column", "codigo"]
    )
    assert result.exit_code == 0, result.output
    assert "drafted 3 national codes of EC" in result.stderr
    exported = runner.invoke(cli, ["correspondence", "export", "--scheme", "EC"])
    assert exported.exit_code == 0, exported.output
    lines = exported.stdout.splitlines()
    assert lines[0] == "national_code,title,iccs_code,level,iccs_title,status,validator,comment"
    assert len(lines) == 4 and all(",draft,," in line for line in lines[1:])
    missing = runner.invoke(cli, ["correspondence", "export", "--scheme", "XX"])
    assert missing.exit_code == 2 and "no correspondence table XX" in missing.stderr


def test_import_refuses_bad_rows_then_loads_a_good_table(cli: typer.Typer, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", VALIDATED.replace("050221", "0x"))
    args = ["--code-column", "code", "--title-column", "name", "--iccs-column", "iccs"]
    result = runner.invoke(cli, ["correspondence", "import", str(bad), "--scheme", "EC", *args])
    assert result.exit_code == 2
    assert "row 2: not an ICCS code" in result.stderr and "nothing was imported" in result.stderr
    good = write(tmp_path / "good.csv", VALIDATED)
    result = runner.invoke(
        cli, ["correspondence", "import", str(good), "--scheme", "EC", *args, "--validator", "me"]
    )
    assert result.exit_code == 0 and "imported 3 rows into EC (3 new" in result.stderr
    out = tmp_path / "table.csv"
    runner.invoke(cli, ["correspondence", "export", "--scheme", "EC", "-o", str(out)])
    assert ",0502,division," in out.read_text() and ",validated,me," in out.read_text()
    with Database(f"sqlite:///{tmp_path / 'iccs.db'}").session() as session:
        assert {(r.text, r.code) for r in memory_rows(session)} >= {(UNSEEN, "0502")}


def test_iccs_classify_uses_the_table_and_the_memory_of_the_database(
    cli: typer.Typer, tmp_path: Path, tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--code-column", "code", "--title-column", "name", "--iccs-column", "iccs"]
    good = write(tmp_path / "good.csv", VALIDATED)
    runner.invoke(cli, ["correspondence", "import", str(good), "--scheme", "EC", *args])
    backlog = write(
        tmp_path / "backlog.csv",
        f"id,text,codigo\n1,hurto,A1\n2,{UNSEEN.upper()},\n3,drink driving,ZZ\n",
    )
    command = ["classify", str(backlog), "--model", str(tiny_bundle), "--top-k", "1"]
    out = tmp_path / "out.jsonl"
    needs_db = runner.invoke(
        iccs_app, [*command, "-o", str(out), "--scheme", "EC", "--national-code-column", "codigo"]
    )
    assert needs_db.exit_code == 2 and "ICCS_DATABASE_URL" in needs_db.output
    alone = runner.invoke(iccs_app, [*command, "-o", str(tmp_path / "alone.jsonl")], env=ENV)
    assert alone.exit_code == 0, alone.output
    monkeypatch.setenv("ICCS_DATABASE_URL", f"sqlite:///{tmp_path / 'iccs.db'}")
    result = runner.invoke(
        iccs_app,
        [*command, "-o", str(out), "--scheme", "EC", "--national-code-column", "codigo"],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    before = [json.loads(line) for line in (tmp_path / "alone.jsonl").read_text().splitlines()]
    assert records[0]["source"] == "correspondence" and not records[0]["needs_review"]
    assert records[0]["suggestions"] == [
        {
            "code": "050221",
            "title": records[0]["suggestions"][0]["title"],
            "level": "class",
            "path": records[0]["suggestions"][0]["path"],
            "confidence": 1.0,
        }
    ]
    assert [step["code"] for step in records[0]["suggestions"][0]["path"]][-1] == "050221"
    # the imported title is remembered: its wording, in capitals, now gets the validated code
    assert before[1]["suggestions"][0]["code"] != "0502"
    assert records[1]["suggestions"][0]["code"] == "0502" and records[1]["source"] == "model"
    assert records[2]["suggestions"][0]["code"] == before[2]["suggestions"][0]["code"]
