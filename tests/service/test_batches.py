"""Batch jobs over HTTP: upload, progress, results, cancel, review rows, hand-back and resume."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from sqlalchemy import func, select

from service.config import BatchSettings
from service.db.models import Batch, Classification
from service.jobs import store
from service.jobs.worker import BatchWorker
from tests.service.conftest import Service, ServiceFactory

TEXTS = [
    "theft of a pedal cycle from outside the station",
    "common assault by beating",
    "lost wallet reported",  # not a crime: always needs review
    "possession of cannabis for personal use",
    "Robo con violencia de un teléfono celular",
    "missing person report",
]


def backlog_csv(rows: int, distinct: int = 50, bad: bool = True) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["case_id", "offence", "station"])
    for i in range(rows):
        k = i % distinct
        writer.writerow([f"C{i:05d}", f"{TEXTS[k % len(TEXTS)]} ref {k}", f"S{i % 3}"])
    if bad:
        writer.writerow(["C-empty", "", "S1"])
    return buffer.getvalue().encode()


def submit(svc: Service, content: bytes, role: str = "submitter", **form: str) -> dict:
    response = svc.client.post(
        "/v1/batches",
        files={"file": ("backlog.csv", content, "text/csv")},
        data={"id_column": "case_id", "text_column": "offence", **form},
        headers=svc.headers(role),
    )
    assert response.status_code == 202, response.text
    return response.json()


def worker(svc: Service, **options: float) -> BatchWorker:
    settings = BatchSettings(
        **{"lease_seconds": 30, "checkpoint_seconds": 0, "chunk_size": 50, **options}
    )
    return BatchWorker(svc.db, svc.settings, settings, lambda: svc.app.state.models.current)


def results(svc: Service, batch_id: str, fmt: str = "jsonl") -> str:
    response = svc.client.get(
        f"/v1/batches/{batch_id}/results", params={"format": fmt}, headers=svc.headers()
    )
    assert response.status_code == 200, response.text
    return response.text


def review_rows(svc: Service, batch_id: str) -> list[str]:
    with svc.db.session() as session:
        return list(
            session.scalars(
                select(Classification.case_id)
                .where(Classification.source == batch_id)
                .order_by(Classification.case_id)
            )
        )


def test_batch_runs_and_reports_progress_results_and_review_rows(svc: Service) -> None:
    queued = submit(svc, backlog_csv(400))
    assert queued["state"] == "queued" and queued["rows_done"] == 0
    assert queued["top_k"] == 3 and queued["results_url"] is None

    assert worker(svc).run_once() == "succeeded"
    body = svc.client.get(f"/v1/batches/{queued['id']}", headers=svc.headers()).json()
    assert body["state"] == "succeeded" and body["rows_total"] == body["rows_done"] == 401
    assert body["rows_rejected"] == 1 and body["reject_reasons"] == {"missing text": 1}
    assert body["distinct_texts"] == 50 and body["rows_per_second"] > 0
    assert body["model_version"] == "iccs-classifier:tiny-1" and body["eta_seconds"] is None
    assert body["results_url"] == f"/v1/batches/{queued['id']}/results"

    records = [json.loads(line) for line in results(svc, queued["id"]).splitlines()]
    assert [r["id"] for r in records] == [f"C{i:05d}" for i in range(400)] + ["C-empty"]
    assert records[-1]["rejected"] == "missing text"
    rows = list(csv.DictReader(io.StringIO(results(svc, queued["id"], "csv"))))
    assert len(rows) == 401 and rows[0]["iccs_code_1"] == records[0]["suggestions"][0]["code"]

    unsure = sorted(r["id"] for r in records if r["needs_review"] and "rejected" not in r)
    assert unsure and review_rows(svc, queued["id"]) == unsure  # the analysts' queue
    assert body["rows_need_review"] == len(unsure)
    with svc.db.session() as session:
        row = session.scalars(
            select(Classification).where(Classification.source == queued["id"])
        ).first()
        assert row is not None and row.needs_review and row.text.startswith(("lost", "missing"))
        assert row.suggestions[0]["code"] == row.top_code and row.case_id.startswith("C")
    leftovers = sorted(p.name for p in (svc.settings.batches_dir / queued["id"]).iterdir())
    assert leftovers == ["results.jsonl"]  # the upload (case text) is gone


def test_wrong_columns_and_formats_are_refused_at_once(svc: Service) -> None:
    response = svc.client.post(
        "/v1/batches",
        files={"file": ("backlog.csv", backlog_csv(5), "text/csv")},
        data={"id_column": "case_id", "text_column": "narrative"},
        headers=svc.headers(),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and "'narrative' not found" in error["message"]
    assert "backlog.csv" in error["message"] and str(svc.settings.data_dir) not in error["message"]
    response = svc.client.post(
        "/v1/batches", files={"file": ("backlog.xls", b"x", "text/plain")}, headers=svc.headers()
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "unsupported_format"
    with svc.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 0


def test_jobs_need_a_key_and_are_private_to_their_submitter(
    service_factory: ServiceFactory,
) -> None:
    with service_factory(roles=("submitter", "analyst")) as svc:
        assert (
            svc.client.post("/v1/batches", files={"file": ("a.csv", b"id,text\n")}).status_code
            == 401
        )
        batch = submit(svc, backlog_csv(5), role="analyst")
        assert (
            svc.client.get(f"/v1/batches/{batch['id']}", headers=svc.headers()).status_code == 404
        )
        mine = submit(svc, backlog_csv(5))
        seen = svc.client.get(f"/v1/batches/{mine['id']}", headers=svc.headers("analyst"))
        assert seen.status_code == 200
        missing = svc.client.get("/v1/batches/nope", headers=svc.headers())
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "batch_not_found"


def test_cancel_a_queued_job(svc: Service) -> None:
    batch = submit(svc, backlog_csv(20))
    response = svc.client.delete(f"/v1/batches/{batch['id']}", headers=svc.headers())
    assert response.status_code == 202 and response.json()["state"] == "cancelled"
    assert svc.client.delete(f"/v1/batches/{batch['id']}", headers=svc.headers()).status_code == 409
    response = svc.client.get(f"/v1/batches/{batch['id']}/results", headers=svc.headers())
    assert response.status_code == 409 and response.json()["error"]["code"] == "batch_not_finished"
    assert worker(svc).run_once() is None  # nothing left to run
    assert not (svc.settings.batches_dir / batch["id"]).exists()


def test_cancel_a_running_job(svc: Service) -> None:
    batch = submit(svc, backlog_csv(200))
    runner = worker(svc)
    assert store.claim_next(svc.db, runner.worker_id, 30) == batch["id"]
    response = svc.client.delete(f"/v1/batches/{batch['id']}", headers=svc.headers())
    assert response.json()["state"] == "running" and response.json()["cancel_requested"]
    from service.jobs.runner import run_batch

    directory = svc.settings.batches_dir / batch["id"]
    model = svc.app.state.models.current
    state = run_batch(
        svc.db,
        directory,
        batch["id"],
        runner.worker_id,
        model,
        runner.batch_settings,
        runner.stopping,
    )
    assert state == "cancelled"
    body = svc.client.get(f"/v1/batches/{batch['id']}", headers=svc.headers()).json()
    assert body["state"] == "cancelled" and body["finished_at"] is not None
    assert list(directory.iterdir()) == []


def test_a_stopping_worker_hands_the_job_back_and_the_next_resumes_it(svc: Service) -> None:
    batch = submit(svc, backlog_csv(600, distinct=300))
    first = worker(svc)
    first.stopping.set()  # stop at the first checkpoint
    assert first.run_once() == "queued"
    with svc.db.session() as session:
        saved = session.get(Batch, batch["id"])
        assert saved is not None and 0 < saved.rows_done < 601 and saved.checkpoint is not None
        assert saved.worker_id is None and saved.state == "queued"
        partial_reviews = len(review_rows(svc, batch["id"]))

    assert worker(svc).run_once() == "succeeded"
    records = [json.loads(line) for line in results(svc, batch["id"]).splitlines()]
    assert [r["id"] for r in records] == [f"C{i:05d}" for i in range(600)] + ["C-empty"]
    unsure = sorted(r["id"] for r in records if r["needs_review"] and "rejected" not in r)
    assert review_rows(svc, batch["id"]) == unsure and len(unsure) >= partial_reviews


def test_an_expired_lease_lets_another_worker_take_over(svc: Service) -> None:
    batch = submit(svc, backlog_csv(100))
    dead = worker(svc)
    assert store.claim_next(svc.db, dead.worker_id, lease_seconds=0.2) == batch["id"]
    alive = worker(svc)
    assert store.claim_next(svc.db, alive.worker_id, 30) is None  # still leased
    time.sleep(0.3)
    assert alive.run_once() == "succeeded"
    with pytest.raises(store.LeaseLost):
        store.renew_lease(svc.db, batch["id"], dead.worker_id, 30)


def test_in_service_worker_runs_jobs_in_development(service_factory: ServiceFactory) -> None:
    with service_factory(env="development") as svc:
        batch = submit(svc, backlog_csv(100))
        deadline = time.monotonic() + 30
        body = batch
        while body["state"] != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.1)
            body = svc.client.get(f"/v1/batches/{batch['id']}", headers=svc.headers()).json()
        assert body["state"] == "succeeded" and body["rows_done"] == 101
