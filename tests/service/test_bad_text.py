"""One bad text harms no one: NUL and lone surrogates are refused at the edge, per field, on
every backend; a shared model call that fails is retried per request; nothing logs case text."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from iccs.classifier import ICCSClassifier
from iccs.predict import classify_texts
from iccs.records import Versions
from service.batcher import SuggestionBatcher
from service.config import HttpSettings
from service.db.models import Batch, Classification
from tests.service.conftest import Service, ServiceFactory
from tests.service.test_auth import assert_error
from tests.service.test_batches import worker

SECRET = "secret-case-words-5521"
GOOD = "theft of a pedal cycle from outside the station"
VERSIONS = Versions("iccs-classifier:tiny", "ICCS-1.0-2015")


def post_raw(svc: Service, body: str, role: str = "submitter") -> Any:
    """The body as sent on the wire (JSON escapes such as \\ud800 stay escapes)."""
    return svc.client.post(
        "/v1/classify",
        content=body.encode(),
        headers={**svc.headers(role), "Content-Type": "application/json"},
    )


def error_locations(response: Any) -> list[list[Any]]:
    error = assert_error(response, 422, "validation_error")
    return [detail["loc"] for detail in error["details"]]


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ('{"text": "x \\ud800"}', ["body", "text"]),
        ('{"text": "x \\udfff y"}', ["body", "text"]),
        ('{"text": "x \\u0000 y"}', ["body", "text"]),
        ('{"text": "x", "case_id": "C\\u0000"}', ["body", "case_id"]),
        ('{"items": [{"id": "a", "text": "ok"}, {"id": "b", "text": "\\ud83d"}]}', None),
        ('{"items": [{"id": "a\\u0000", "text": "ok"}]}', ["body", "items", 0, "id"]),
    ],
)
def test_nul_and_lone_surrogates_are_422_per_field(
    svc: Service, body: str, location: list[Any] | None
) -> None:
    locations = error_locations(post_raw(svc, body))
    assert locations == [location or ["body", "items", 1, "text"]]


def test_a_surrogate_pair_is_a_character_not_an_error(svc: Service) -> None:
    response = post_raw(svc, '{"text": "theft of a bicycle \\ud83d\\udeb2"}')
    assert response.status_code == 200, response.text


def test_a_bad_text_among_concurrent_requests_of_another_key_harms_none(
    service_factory: ServiceFactory,
) -> None:
    with service_factory(http=HttpSettings(batch_max_texts=64)) as svc:
        bodies = [
            ("submitter", '{"text": "x \\ud800"}')
            if n % 4 == 0
            else ("analyst", json.dumps({"text": f"{GOOD} {n}"}))
            for n in range(32)
        ]
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda rb: post_raw(svc, rb[1], rb[0]), bodies))
    for (role, _), response in zip(bodies, responses, strict=True):
        assert response.status_code == (422 if role == "submitter" else 200), response.text


class FailsOn:
    """A classifier whose model call fails for any batch containing `culprit`."""

    def __init__(self, inner: ICCSClassifier, culprit: str, gate: threading.Event) -> None:
        self.inner, self.culprit, self.gate, self.calls = inner, culprit, gate, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def predict_proba(self, texts: list[str], languages: Any = None) -> Any:
        self.calls += 1
        self.gate.wait(5)
        if self.culprit in texts:
            raise UnicodeEncodeError("utf-8", self.culprit, 0, 1, "surrogates not allowed")
        return self.inner.predict_proba(texts, languages)


def test_a_failing_shared_batch_fails_only_its_culprit(tiny_model: ICCSClassifier) -> None:
    gate = threading.Event()
    model = FailsOn(tiny_model, "culprit", gate)
    batcher = SuggestionBatcher(max_texts=64)
    batcher.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            texts = [[f"{GOOD} {n}"] if n != 5 else ["culprit"] for n in range(8)]
            futures = [pool.submit(batcher.classify, model, VERSIONS, t, 3) for t in texts]
            gate.set()
            outcomes = [f.exception() or f.result() for f in futures]
    finally:
        batcher.stop()
    assert model.calls > 2  # a shared call failed, then each request ran alone
    for n, outcome in enumerate(outcomes):
        if n == 5:
            assert isinstance(outcome, UnicodeEncodeError)
        else:
            assert outcome == classify_texts(tiny_model, texts[n], top_k=3, versions=VERSIONS)


def jsonl_backlog(bad: dict[int, dict[str, str]]) -> bytes:
    rows = [{"case_id": f"C{n:02d}", "offence": f"lost wallet reported {n}"} for n in range(20)]
    for n, row in bad.items():
        rows[n].update(row)
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def run_bad_rows_batch(svc: Service) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    content = jsonl_backlog(
        {
            3: {"offence": f"lost wallet {SECRET}\u0000 reported"},
            7: {"case_id": f"C\u0000{SECRET}"},
            11: {"offence": f"lost wallet {SECRET} \ud800"},
        }
    )
    response = svc.client.post(
        "/v1/batches",
        files={"file": ("backlog.jsonl", content, "application/x-ndjson")},
        data={"id_column": "case_id", "text_column": "offence"},
        headers=svc.headers(),
    )
    assert response.status_code == 202, response.text
    assert worker(svc).run_once() == "succeeded"
    batch = svc.client.get(f"/v1/batches/{response.json()['id']}", headers=svc.headers()).json()
    results = svc.client.get(f"/v1/batches/{batch['id']}/results", headers=svc.headers())
    return batch, [json.loads(line) for line in results.text.splitlines()]


def assert_bad_rows_rejected(svc: Service, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        batch, records = run_bad_rows_batch(svc)
        for body in (
            f'{{"text": "{SECRET} \\u0000"}}',
            f'{{"text": "{SECRET}", "case_id": "\\u0000"}}',
            f'{{"items": [{{"id": "1", "text": "{SECRET} \\u0000"}}]}}',
        ):
            assert_error(post_raw(svc, body), 422, "validation_error")
    assert batch["state"] == "succeeded" and batch["rows_done"] == 20
    assert batch["rows_rejected"] == 3
    assert batch["reject_reasons"] == {
        "text contains a NUL character": 1,
        "id contains a NUL character": 1,
        "text contains a lone surrogate": 1,
    }
    assert len(records) == 20
    assert [n for n, r in enumerate(records) if r.get("rejected")] == [3, 7, 11]
    with svc.db.session() as session:
        stored = session.scalar(select(func.count()).where(Classification.source == batch["id"]))
        assert session.get(Batch, batch["id"]) is not None
    assert stored == 17  # every other row needs review, so each is stored once
    assert SECRET not in caplog.text


def test_bad_rows_go_to_rejects_on_sqlite(svc: Service, caplog: pytest.LogCaptureFixture) -> None:
    assert_bad_rows_rejected(svc, caplog)


@pytest.mark.postgres
def test_nul_is_refused_per_row_on_postgres(
    service_factory: ServiceFactory, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with service_factory(database_url=postgres_url) as svc:
        assert_bad_rows_rejected(svc, caplog)


@pytest.mark.postgres
def test_postgres_errors_never_carry_bound_parameters(
    service_factory: ServiceFactory, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """If a NUL ever reached the database, neither the error nor the log would show the text."""
    from sqlalchemy.exc import StatementError

    with service_factory(database_url=postgres_url) as svc:
        row = Classification(
            case_id="C1",
            text=f"{SECRET}\u0000",
            suggestions=[],
            top_code="NONE",
            confidence=0.0,
            needs_review=True,
            model_version="m",
            taxonomy_version="t",
        )
        with caplog.at_level(logging.DEBUG), pytest.raises(StatementError) as raised:
            svc.app.state.writer.write([row])
    assert SECRET not in str(raised.value)
    assert SECRET not in caplog.text


def test_a_failing_batch_logs_no_case_text(
    svc: Service, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise ValueError(f"cannot classify {SECRET!r}")

    monkeypatch.setattr("service.jobs.runner.run_bulk", explode)
    response = svc.client.post(
        "/v1/batches",
        files={"file": ("backlog.jsonl", jsonl_backlog({}), "application/x-ndjson")},
        data={"id_column": "case_id", "text_column": "offence"},
        headers=svc.headers(),
    )
    with caplog.at_level(logging.DEBUG):
        assert worker(svc).run_once() == "failed"
    assert "ValueError" in caplog.text and SECRET not in caplog.text
    batch = svc.client.get(f"/v1/batches/{response.json()['id']}", headers=svc.headers()).json()
    assert batch["error"] == "internal error (ValueError)"


@pytest.mark.parametrize(
    "url", ["sqlite:///:memory:", "postgresql+psycopg://iccs@127.0.0.1:1/iccs"]
)
def test_every_engine_hides_bound_parameters(url: str) -> None:
    from service.db.database import make_engine

    engine = make_engine(url)  # no connection is made
    assert engine.hide_parameters
    engine.dispose()
