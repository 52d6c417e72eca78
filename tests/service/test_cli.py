from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from service import cli as service_cli
from service.api_keys import find_active_key
from service.classification import TextToClassify, classify_texts
from service.config import get_settings
from service.db import Database
from service.db.base import utcnow
from service.db.models import Classification
from service.model_holder import load_served_model

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("ICCS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ICCS_DATABASE_URL", raising=False)
    # `serve` with several workers sets PROMETHEUS_MULTIPROC_DIR for them in this process:
    # recorded as unset here so that it is unset again after each test
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    monkeypatch.setenv("ICCS_EMBEDDER_THREADS", "")  # the same for the workers' thread share
    monkeypatch.delenv("ICCS_EMBEDDER_THREADS")
    get_settings.cache_clear()
    app = typer.Typer()
    service_cli.register(app)
    yield app
    get_settings.cache_clear()


def database(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'iccs.db'}")


def test_keys_create_prints_the_key_alone_on_stdout(cli: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["keys", "create", "--role", "analyst", "--name", "coding team"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert result.stdout == key + "\n" and key.startswith("iccs_") and len(key) > 40
    assert "created analyst key" in result.stderr
    with database(tmp_path).session() as session:
        principal = find_active_key(session, key)
    assert principal is not None
    assert (principal.role, principal.name) == ("analyst", "coding team")


def test_keys_create_refuses_an_unknown_role(cli: typer.Typer) -> None:
    result = runner.invoke(cli, ["keys", "create", "--role", "superuser"])
    assert result.exit_code == 2 and "unknown role" in result.stderr
    assert result.stdout == ""


def test_keys_list_and_revoke(cli: typer.Typer, tmp_path: Path) -> None:
    key = runner.invoke(cli, ["keys", "create", "--role", "admin"]).stdout.strip()
    listing = runner.invoke(cli, ["keys", "list"]).stdout
    assert key[:12] in listing and "admin" in listing and "active" in listing
    assert "production" in listing  # the ICCS_ENV it was made under (the default)
    assert key not in listing
    assert runner.invoke(cli, ["keys", "revoke", key[:12]]).exit_code == 0
    assert "revoked" in runner.invoke(cli, ["keys", "list"]).stdout
    with database(tmp_path).session() as session:
        assert find_active_key(session, key) is None
    assert runner.invoke(cli, ["keys", "revoke", key[:12]]).exit_code == 1


def test_keys_create_for_an_agency_with_the_cross_agency_grant(
    cli: typer.Typer, tmp_path: Path
) -> None:
    args = ["keys", "create", "--role", "analyst", "--agency", "met-police"]
    key = runner.invoke(cli, [*args, "--cross-agency"]).stdout.strip()
    plain = runner.invoke(cli, ["keys", "create", "--role", "submitter"]).stdout.strip()
    with database(tmp_path).session() as session:
        granted, default = find_active_key(session, key), find_active_key(session, plain)
    assert granted is not None and (granted.agency, granted.cross_agency) == ("met-police", True)
    assert default is not None and (default.agency, default.cross_agency) == ("default", False)
    listing = runner.invoke(cli, ["keys", "list"]).stdout
    assert "met-police+" in listing and "default " in listing
    refused = runner.invoke(cli, ["keys", "create", "--role", "submitter", "--cross-agency"])
    assert refused.exit_code == 2 and "cross-agency" in refused.stderr
    bad = runner.invoke(cli, ["keys", "create", "--role", "admin", "--agency", "Met Police"])
    assert bad.exit_code == 2 and "agency" in bad.stderr and bad.stdout == ""


def test_db_upgrade(cli: typer.Typer, tmp_path: Path) -> None:
    from service.db.migrate import is_up_to_date

    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0 and "database at" in result.stderr
    assert (tmp_path / "iccs.db").is_file()
    assert is_up_to_date(database(tmp_path).engine)


def test_purge_deletes_only_expired_classifications(
    cli: typer.Typer, tmp_path: Path, tiny_bundle: Path
) -> None:
    db = database(tmp_path)
    db.upgrade()
    model = load_served_model(tiny_bundle)
    _, rows = classify_texts(
        model, [TextToClassify("drink driving"), TextToClassify("common assault")], 3
    )
    rows[0].created_at = utcnow() - timedelta(days=91)
    rows[1].created_at = utcnow() - timedelta(days=89)
    with db.session() as session:
        session.add_all(rows)
    dry = runner.invoke(cli, ["purge", "--dry-run"])
    assert dry.exit_code == 0 and dry.stdout.strip() == "1" and "would delete 1" in dry.stderr
    result = runner.invoke(cli, ["purge"])
    assert result.exit_code == 0 and result.stdout.strip() == "1"
    with db.session() as session:
        left = session.scalars(select(Classification.text)).all()
    assert left == ["common assault"]
    assert runner.invoke(cli, ["purge", "--days", "30"]).stdout.strip() == "1"


def test_development_key_is_created_once_and_reused(tmp_path: Path) -> None:
    db = database(tmp_path)
    db.upgrade()
    key = service_cli._development_key(db, tmp_path)
    assert service_cli._development_key(db, tmp_path) == key
    assert (tmp_path / "dev-api-key").stat().st_mode & 0o077 == 0
    with db.session() as session:
        principal = find_active_key(session, key)
    assert principal is not None and principal.role == "admin"


def test_iccs_command_registers_the_service_commands() -> None:
    from iccs.cli import _register_plugins, app

    _register_plugins()
    result = runner.invoke(app, ["--help"])
    for command in ("serve", "keys", "purge", "db"):
        assert command in result.stdout


def test_serve_in_development_prints_a_ready_key(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("ICCS_ENV", "development")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    get_settings.cache_clear()
    result = runner.invoke(cli, ["serve", "--port", "8123", "--workers", "2"])
    assert result.exit_code == 0, result.output
    key = (tmp_path / "dev-api-key").read_text().strip()
    assert f"admin API key: {key}" in result.stderr
    assert calls and calls[0]["port"] == 8123 and calls[0]["workers"] == 2
    with database(tmp_path).session() as session:
        assert find_active_key(session, key) is not None


def test_serve_defaults_to_the_available_cores_with_shared_metrics(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.delenv("ICCS_WORKERS", raising=False)
    get_settings.cache_clear()
    result = runner.invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert calls[0]["workers"] == 3
    # several workers: /metrics must add them up, so a multiprocess folder is set for them
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "prometheus")
    assert (tmp_path / "prometheus").is_dir()
    assert os.environ["ICCS_EMBEDDER_THREADS"] == "1"  # 3 cores / 3 workers


def test_serve_in_production_prints_no_key(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    monkeypatch.setenv("ICCS_ENV", "production")
    monkeypatch.setenv("ICCS_PORT", "8124")
    get_settings.cache_clear()
    result = runner.invoke(cli, ["serve"])
    assert result.exit_code == 0
    assert "API key" not in result.output and not (tmp_path / "dev-api-key").exists()
