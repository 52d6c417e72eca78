"""Nothing acknowledged is lost: a result is stored before its 200, or the request gets 503.

Faults are injected into the real SQLite database: a commit that fails as on a full disk, a
database that really runs out of pages (`max_page_count`), and a read-only connection
(`query_only`, since chmod does not stop root).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError

from service.db.models import Classification
from tests.service.conftest import Service, ServiceFactory
from tests.service.test_auth import assert_error

TEXTS = [
    "theft of a pedal cycle from outside the station",
    "possession of cannabis for personal use",
    "drink driving over the prescribed limit",
    "common assault by beating",
]
SECRET = "secret-case-text-7731"


class CommitFault:
    """Makes COMMIT fail like a full disk while `failing` (counts how many it failed)."""

    def __init__(self, engine: Engine, failures: int | None = None) -> None:
        self.failing, self.remaining, self.failed = True, failures, 0
        self._lock = threading.Lock()
        self.engine = engine
        event.listen(engine, "commit", self._commit)

    def _commit(self, connection: Any) -> None:
        with self._lock:
            if not self.failing or self.remaining == 0:
                return
            if self.remaining is not None:
                self.remaining -= 1
            self.failed += 1
        connection.connection.dbapi_connection.rollback()  # as SQLite does on SQLITE_FULL
        raise OperationalError("COMMIT", None, sqlite3.OperationalError("database or disk is full"))

    def remove(self) -> None:
        event.remove(self.engine, "commit", self._commit)


def classify(svc: Service, text: str, role: str = "submitter") -> Any:
    return svc.client.post("/v1/classify", json={"text": text}, headers=svc.headers(role))


def stored_count(svc: Service) -> int:
    with svc.db.sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(Classification)) or 0)


def assert_stored(svc: Service, response: Any) -> None:
    """A 200 means the result can be read back at once."""
    classification_id = response.json()["classification_id"]
    got = svc.client.get(f"/v1/classifications/{classification_id}", headers=svc.headers())
    assert got.status_code == 200, got.text


def test_a_failed_commit_is_retried_with_fresh_rows_not_acknowledged_empty(svc: Service) -> None:
    # The writer's first try fails after the INSERT ran; the old retry re-added the same ORM
    # objects, which SQLAlchemy took for saved, committed nothing and answered 200.
    fault = CommitFault(svc.db.engine, failures=1)
    try:
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda t: classify(svc, t), TEXTS))
    finally:
        fault.remove()
    assert fault.failed == 1
    ok = [r for r in responses if r.status_code == 200]
    for response in responses:
        if response.status_code != 200:
            assert_error(response, 503, "database_unavailable")
    for response in ok:
        assert_stored(svc, response)
    assert stored_count(svc) == len(ok)


def test_full_disk_answers_503_and_readiness_fails_until_a_write_succeeds(
    svc: Service, caplog: pytest.LogCaptureFixture
) -> None:
    assert svc.client.get("/readyz").status_code == 200
    fault = CommitFault(svc.db.engine)
    try:
        with caplog.at_level(logging.INFO):
            response = classify(svc, f"{SECRET} stole a bicycle")
        assert_error(response, 503, "database_unavailable")
        assert stored_count(svc) == 0
        ready = svc.client.get("/readyz")  # its own write probe fails too
        assert_error(ready, 503, "not_ready")
        assert "OperationalError" in ready.json()["error"]["details"]["reason"]
    finally:
        fault.remove()
    assert SECRET not in caplog.text
    assert "database write failed" in caplog.text
    assert svc.client.get("/readyz").status_code == 200  # the probe's write works again
    assert_stored(svc, classify(svc, TEXTS[0]))


def test_concurrent_requests_during_a_failing_disk_never_get_an_unstored_200(
    svc: Service,
) -> None:
    fault = CommitFault(svc.db.engine)
    fault.failing = False
    texts = [f"{TEXTS[n % len(TEXTS)]} {n}" for n in range(48)]

    def send(n: int) -> Any:
        if n == 12:
            fault.failing = True
        if n == 36:
            fault.failing = False
        return classify(svc, texts[n])

    try:
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(send, range(len(texts))))
    finally:
        fault.remove()
    statuses = {r.status_code for r in responses}
    assert statuses <= {200, 503}
    ok = [r for r in responses if r.status_code == 200]
    for response in ok:
        assert_stored(svc, response)
    assert stored_count(svc) == len(ok)
    assert fault.failed == 0 or 503 in statuses


@contextmanager
def sqlite_pragma(svc: Service, pragma: str) -> Iterator[None]:
    """Every new connection of the app's engine runs `pragma`; pooled ones are replaced."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(pragma)

    engine = svc.db.engine
    event.listen(engine, "connect", on_connect)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", on_connect)
        engine.dispose()


def test_database_that_runs_out_of_pages_loses_no_acknowledged_result(svc: Service) -> None:
    with svc.db.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
    long_text = "theft of a pedal cycle " * 400  # ~9 KB per row: pages run out fast
    limit = f"PRAGMA max_page_count = {int(pages) + 8}"
    with sqlite_pragma(svc, limit), ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda n: classify(svc, f"{long_text} {n}"), range(24)))
    ok = [r for r in responses if r.status_code == 200]
    failed = [r for r in responses if r.status_code != 200]
    assert ok and failed  # some fitted, then the database was full
    for response in failed:
        assert_error(response, 503, "database_unavailable")
    for response in ok:
        assert_stored(svc, response)
    assert stored_count(svc) == len(ok)


def test_read_only_database_answers_503_and_is_not_ready(service_factory: ServiceFactory) -> None:
    with service_factory() as svc:
        with sqlite_pragma(svc, "PRAGMA query_only = ON"):
            for text in TEXTS:
                assert_error(classify(svc, text), 503, "database_unavailable")
            ready = svc.client.get("/readyz")
            assert_error(ready, 503, "not_ready")
        assert stored_count(svc) == 0
        assert svc.client.get("/readyz").status_code == 200
        assert_stored(svc, classify(svc, TEXTS[0]))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files anyway")
def test_read_only_database_file(service_factory: ServiceFactory) -> None:
    with service_factory() as svc:
        path = svc.settings.data_dir / "iccs.db"
        svc.db.engine.dispose()
        paths = [path, path.with_name("iccs.db-wal"), path.with_name("iccs.db-shm")]
        modes = {p: p.stat().st_mode for p in paths if p.exists()}
        for p in modes:
            p.chmod(0o444)
        try:
            responses = [classify(svc, text) for text in TEXTS]
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
            svc.db.engine.dispose()
        for response in responses:
            if response.status_code == 200:
                assert_stored(svc, response)
            else:
                assert_error(response, 503, "database_unavailable")


def test_a_read_only_database_is_not_ready_before_any_request(
    service_factory: ServiceFactory,
) -> None:
    with service_factory() as svc, sqlite_pragma(svc, "PRAGMA query_only = ON"):
        assert_error(svc.client.get("/readyz"), 503, "not_ready")
