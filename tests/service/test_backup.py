"""`iccs db backup` / `iccs db restore`: an online, consistent copy of the SQLite database, and
a restore that brings exactly that content back (then migrates it)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from service import cli as service_cli
from service.config import get_settings
from service.db import Database
from service.db.models import Classification
from tests.service.conftest import ServiceFactory
from tests.service.test_auth import CLASSIFY

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("ICCS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ICCS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    app = typer.Typer()
    service_cli.register(app)
    yield app
    get_settings.cache_clear()


def count(path: Path) -> int:
    database = Database(f"sqlite:///{path}")
    with database.session() as session:
        n = int(session.scalar(select(func.count()).select_from(Classification)) or 0)
    database.dispose()
    return n


def test_backup_while_requests_write_then_restore(
    cli: typer.Typer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    target = tmp_path / "backups" / "iccs-backup.db"
    with service_factory() as svc:
        for _ in range(5):
            assert svc.client.post("/v1/classify", json=CLASSIFY, headers=svc.headers()).is_success
        stop = threading.Event()

        def keep_writing() -> None:
            while not stop.is_set():
                svc.client.post("/v1/classify", json=CLASSIFY, headers=svc.headers())

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            result = runner.invoke(cli, ["db", "backup", str(target)])
        finally:
            stop.set()
            writer.join()
        assert result.exit_code == 0, result.output
        live = svc.settings.data_dir / "iccs.db"
        after = count(live)
    with closing(sqlite3.connect(target)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    in_backup = count(target)
    assert 5 <= in_backup <= after
    assert not target.with_name(target.name + ".partial").exists()

    result = runner.invoke(cli, ["db", "restore", str(target)])
    assert result.exit_code == 0, result.output
    assert count(live) == in_backup
    assert "restored" in result.stderr


def test_backup_refuses_to_overwrite_without_force(cli: typer.Typer, tmp_path: Path) -> None:
    Database(f"sqlite:///{tmp_path / 'iccs.db'}").upgrade()
    target = tmp_path / "existing.db"
    target.write_bytes(b"keep me")
    result = runner.invoke(cli, ["db", "backup", str(target)])
    assert result.exit_code == 1 and "--force" in result.stderr
    assert target.read_bytes() == b"keep me"
    assert runner.invoke(cli, ["db", "backup", str(target), "--force"]).exit_code == 0
    assert count(target) == 0


def test_restore_refuses_what_is_no_backup(cli: typer.Typer, tmp_path: Path) -> None:
    Database(f"sqlite:///{tmp_path / 'iccs.db'}").upgrade()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    result = runner.invoke(cli, ["db", "restore", str(junk)])
    assert result.exit_code == 2 and "not a service database" in result.stderr
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999_future')")
        connection.commit()
    result = runner.invoke(cli, ["db", "restore", str(other)])
    assert result.exit_code == 2 and "9999_future" in result.stderr
    assert runner.invoke(cli, ["db", "restore", str(tmp_path / "missing.db")]).exit_code == 2


def test_postgres_is_pointed_to_pg_dump(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICCS_DATABASE_URL", "postgresql+psycopg://iccs@127.0.0.1:1/iccs")
    get_settings.cache_clear()
    result = runner.invoke(cli, ["db", "backup", str(tmp_path / "b.db")])
    assert result.exit_code == 2 and "pg_dump" in result.stderr
