"""Logs: level and format from the settings, one line per request with its id, no case text."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from service import cli as service_cli
from service.config import LoggingSettings, Settings, get_settings
from service.logs import JsonFormatter, configure_logging
from tests.service.conftest import Service

runner = CliRunner()
CASE_TEXT = "robo con violencia en la casa de Ana"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    alembic_level = logging.getLogger("alembic").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(alembic_level)


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "service.access"]


def test_each_request_gets_an_id_and_one_line_without_case_text(
    svc: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.access")
    response = svc.client.get("/v1/taxonomy/search", params={"q": CASE_TEXT}, headers=svc.headers())
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32
    (record,) = access_records(caplog)
    assert record.request_id == request_id  # type: ignore[attr-defined]
    assert (record.method, record.route, record.status) == (  # type: ignore[attr-defined]
        "GET",
        "/v1/taxonomy/search",
        200,
    )
    assert record.latency_ms >= 0  # type: ignore[attr-defined]
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert {"time", "level", "logger", "message", "request_id", "route", "status"} <= set(entry)
    assert entry["latency_ms"] == record.latency_ms  # type: ignore[attr-defined]
    assert "robo" not in line and "Ana" not in line and "q=" not in line


def test_a_callers_request_id_is_kept_and_a_bad_one_replaced(
    svc: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.access")
    kept = svc.client.get("/healthz", headers={"X-Request-ID": "trace-42.a_b"})
    assert kept.headers["x-request-id"] == "trace-42.a_b"
    replaced = svc.client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 80})
    assert replaced.headers["x-request-id"] != "a b\tc" + "x" * 80
    unmatched = svc.client.get("/no/such/page")
    assert unmatched.status_code == 404
    routes = [r.route for r in access_records(caplog)]  # type: ignore[attr-defined]
    assert routes == ["/healthz", "/healthz", "unmatched"]


def test_settings_choose_level_and_json_format(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = LoggingSettings(level="warning", format="json")  # type: ignore[arg-type]
    configure_logging(Settings(logging=quiet))
    assert logging.getLogger().level == logging.WARNING
    logging.getLogger("service.test").info("not shown")
    logging.getLogger("service.test").warning("shown %d", 7)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert [(e["level"], e["message"]) for e in lines] == [("WARNING", "shown 7")]
    configure_logging(Settings(logging=LoggingSettings(level="INFO")))
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "iccs-service"]
    assert len(ours) == 1  # configuring again replaces, never doubles
    with pytest.raises(ValueError):
        LoggingSettings(level="LOUD")  # type: ignore[arg-type]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> typer.Typer:
    monkeypatch.setenv("ICCS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ICCS_DATABASE_URL", raising=False)
    # `serve` with several workers sets PROMETHEUS_MULTIPROC_DIR in this process: recorded as
    # unset here so that it is unset again after each test (the metrics tests need it unset)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    get_settings.cache_clear()
    app = typer.Typer()
    service_cli.register(app)
    yield app
    get_settings.cache_clear()


def test_migrations_run_once_and_alembic_stays_quiet(cli: typer.Typer) -> None:
    first = runner.invoke(cli, ["keys", "create", "--role", "admin"])
    assert first.exit_code == 0, first.output
    assert "migrated from empty to" in first.stderr and "alembic" not in first.stderr
    again = runner.invoke(cli, ["keys", "list"])
    assert again.exit_code == 0 and "migrated" not in again.stderr
    assert "alembic" not in again.stderr and "Context impl" not in again.stderr


def test_serve_prints_where_to_open_docs_review_and_dashboard(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("ICCS_ENV", "production")
    monkeypatch.setenv("ICCS_LOG_LEVEL", "debug")
    get_settings.cache_clear()
    result = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8125"])
    assert result.exit_code == 0, result.output
    for path in ("/docs", "/review", "/dashboard"):
        assert f"http://127.0.0.1:8125{path}" in result.stderr
    assert calls[0]["log_level"] == "debug" and calls[0]["log_config"] is None
    assert calls[0]["access_log"] is False  # uvicorn's line would carry the query string
