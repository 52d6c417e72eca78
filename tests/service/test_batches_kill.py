"""A batch worker killed mid-job: the next worker resumes it; no row is lost or doubled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from iccs.bulk import BulkJob, LocalSuggester, run_bulk
from service.db.models import Batch, Classification
from tests.service.conftest import Service
from tests.service.test_batches import backlog_csv, results, submit

pytestmark = pytest.mark.slow


def start_worker(svc: Service, bundle: Path, *extra: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ICCS_ENV": "test",
        "ICCS_DATA_DIR": str(svc.settings.data_dir),
        "ICCS_MODEL_PATH": str(bundle),
        "ICCS_BATCH_LEASE_SECONDS": "2",
        "ICCS_BATCH_CHECKPOINT_SECONDS": "0",
        "ICCS_BATCH_CHUNK_SIZE": "200",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "iccs.cli", "worker", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def progress(svc: Service, batch_id: str) -> tuple[str, int]:
    with svc.db.session() as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        return batch.state, batch.rows_done


def test_killed_worker_resumes_without_losing_or_doubling_rows(
    svc: Service, tiny_bundle: Path, tiny_model, tmp_path: Path
) -> None:
    content = backlog_csv(6000, distinct=1500)
    batch = submit(svc, content)
    reference = tmp_path / "reference.jsonl"
    (tmp_path / "reference.csv").write_bytes(content)
    run_bulk(
        BulkJob(
            tmp_path / "reference.csv", reference, "iccs-classifier:tiny-1", "case_id", "offence"
        ),
        LocalSuggester(tiny_model),
    )

    first = start_worker(svc, tiny_bundle)
    deadline = time.monotonic() + 60
    while progress(svc, batch["id"])[1] < 1000:
        assert first.poll() is None and time.monotonic() < deadline, first.stdout
        time.sleep(0.01)
    first.kill()
    first.communicate(timeout=30)
    state, done_at_kill = progress(svc, batch["id"])
    assert state == "running" and done_at_kill < 6001  # the dead worker still holds the lease

    time.sleep(2.1)  # the lease runs out
    second = start_worker(svc, tiny_bundle, "--until-idle")
    said, _ = second.communicate(timeout=120)
    assert second.returncode == 0, said
    assert progress(svc, batch["id"]) == ("succeeded", 6001)

    body = results(svc, batch["id"])
    assert body.encode() == reference.read_bytes()  # every row once, in order
    records = [json.loads(line) for line in body.splitlines()]
    unsure = sorted(r["id"] for r in records if r["needs_review"] and "rejected" not in r)
    with svc.db.session() as session:
        stored = sorted(
            session.scalars(
                select(Classification.case_id).where(Classification.source == batch["id"])
            )
        )
    assert unsure and stored == unsure  # review rows: none lost, none doubled
    with svc.db.session() as session:
        finished = session.get(Batch, batch["id"])
        assert finished is not None and finished.attempts == 2
