"""The batch queue in the database: claiming jobs with a lease, and the checkpoint store.

Claims are conditional UPDATEs (`... WHERE id = ? AND <still claimable>`) so two workers never
get the same job, on SQLite and PostgreSQL alike. Every checkpoint also renews the lease and
stores the rows needing review since the previous one, in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from iccs.bulk import Checkpoint, ReviewRow
from iccs.records import tag_dicts
from service.classification import guess_language
from service.db import Database
from service.db.base import utcnow
from service.db.models import Batch, Classification

logger = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """Another worker took the job over (this one was presumed dead); stop touching it."""


def _claimable(now: Any) -> ColumnElement[bool]:
    return or_(
        Batch.state == "queued",
        and_(Batch.state == "running", Batch.lease_expires_at < now),
    )


def claim_next(database: Database, worker_id: str, lease_seconds: float) -> str | None:
    """Take the oldest queued job, or a running one whose worker's lease ran out."""
    now = utcnow()
    with database.session() as session:
        candidates = session.scalars(
            select(Batch.id).where(_claimable(now)).order_by(Batch.created_at).limit(10)
        ).all()
        for batch_id in candidates:
            claimed = session.execute(
                update(Batch)
                .where(Batch.id == batch_id, _claimable(now))
                .values(
                    state="running",
                    worker_id=worker_id,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    attempts=Batch.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                return batch_id
    return None


def renew_lease(database: Database, batch_id: str, worker_id: str, lease_seconds: float) -> bool:
    """Extend the lease; returns whether cancellation was asked. Raises LeaseLost."""
    now = utcnow()
    with database.session() as session:
        renewed = session.execute(
            update(Batch)
            .where(Batch.id == batch_id, Batch.worker_id == worker_id, Batch.state == "running")
            .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        if renewed.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(batch_id)
        return bool(session.scalar(select(Batch.cancel_requested).where(Batch.id == batch_id)))


def finish(database: Database, batch_id: str, worker_id: str, state: str, error: str = "") -> None:
    """End a job this worker holds: succeeded, failed, cancelled, or queued (handed back)."""
    now = utcnow()
    values: dict[str, Any] = {"state": state, "worker_id": None, "lease_expires_at": None}
    if state != "queued":
        values.update(finished_at=now, checkpoint=None, error=error or None)
    values["updated_at"] = now
    with database.session() as session:
        session.execute(
            update(Batch)
            .where(Batch.id == batch_id, Batch.worker_id == worker_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _review_classification(batch: Batch, row: ReviewRow) -> Classification:
    """The stored row of a batch row the model was unsure about: its record, as the results
    file and an HTTP answer carry it."""
    record = row.outcome.record
    return Classification(
        case_id=str(row.id)[:200],
        text=row.text,
        language=guess_language(row.text, None),
        suggestions=record.to_dict()["suggestions"],
        top_code=record.first.code,
        tags=tag_dicts(record.tags) or None,
        confidence=record.first.confidence,
        needs_review=True,
        model_version=batch.model_version or record.model_version,
        taxonomy_version=batch.taxonomy_version or record.taxonomy_version,
        source=batch.id,
        api_key_id=batch.api_key_id,
        agency=batch.agency,  # the batch's, whoever runs it
    )


class BatchCheckpointStore:
    """`iccs.bulk.CheckpointStore` on the `batches` row of one job held by one worker."""

    collects_review_rows = True

    def __init__(
        self, database: Database, batch_id: str, worker_id: str, lease_seconds: float
    ) -> None:
        self.database, self.batch_id, self.worker_id = database, batch_id, worker_id
        self.lease_seconds = lease_seconds
        self.cancel_requested = False

    def _held(self, session: Any) -> Batch:
        batch = session.get(Batch, self.batch_id, with_for_update=True)
        if batch is None or batch.worker_id != self.worker_id or batch.state != "running":
            raise LeaseLost(self.batch_id)
        return batch

    def load(self) -> Checkpoint | None:
        with self.database.session() as session:
            batch = self._held(session)
            return Checkpoint(**batch.checkpoint) if batch.checkpoint else None

    def save(self, checkpoint: Checkpoint, review_rows: list[ReviewRow]) -> None:
        now = utcnow()
        with self.database.session() as session:
            batch = self._held(session)
            summary = checkpoint.summary
            batch.checkpoint = asdict(checkpoint)
            batch.rows_done = checkpoint.rows_done
            batch.rows_rejected = int(summary.get("rejected", 0))
            batch.rows_need_review = int(summary.get("needs_review", 0))
            batch.distinct_texts = int(summary.get("distinct_texts", 0))
            batch.reject_reasons = dict(summary.get("reject_reasons", {}))
            batch.seconds = float(summary.get("seconds", 0.0))
            batch.lease_expires_at = now + timedelta(seconds=self.lease_seconds)
            batch.updated_at = now
            session.add_all(_review_classification(batch, row) for row in review_rows)
            self.cancel_requested = batch.cancel_requested

    def clear(self) -> None:
        """The run is complete (the bulk engine calls this after the output is in place)."""
        now = utcnow()
        with self.database.session() as session:
            batch = self._held(session)
            batch.state, batch.finished_at, batch.updated_at = "succeeded", now, now
            batch.checkpoint, batch.worker_id, batch.lease_expires_at = None, None, None
