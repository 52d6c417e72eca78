"""Group commit: one thread writes the classifications of all concurrent requests together.

Sixteen request threads each committing their own row fight over SQLite's single write lock
(and PostgreSQL's WAL flush); one writer that takes everything queued and commits it in one
transaction does the same work in one round. Each request still waits until its rows are
committed, so an id it returns can be looked up at once; when the commit fails, the request
gets the error (the route answers 503) instead of an id that was never stored.

Rows are written as plain column values with core INSERTs, never as ORM objects: an ORM object
that took part in a failed commit still looks "saved" to SQLAlchemy, and a retry with it would
silently commit nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from service.db.models import Classification
from service.queues import BatchingWorker
from service.store_health import StoreHealth, error_kind

logger = logging.getLogger(__name__)

_COLUMNS = tuple(column.key for column in Classification.__mapper__.column_attrs)


def row_values(row: Classification) -> dict[str, Any]:
    """The column values of a not-yet-stored row."""
    return {key: getattr(row, key) for key in _COLUMNS}


@dataclass
class _Write:
    values: list[dict[str, Any]]
    done: Future[None] = field(default_factory=Future)


class ClassificationWriter(BatchingWorker[_Write]):
    """Commits queued rows in batches of up to `max_rows`; `write` blocks until committed."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        max_rows: int = 2000,
        health: StoreHealth | None = None,
    ) -> None:
        super().__init__("iccs-writer", max_rows)
        self._session_factory = session_factory
        self.health = health or StoreHealth()

    @property
    def max_rows(self) -> int:
        return self.limit

    def write(self, rows: Sequence[Classification]) -> None:
        """Store `rows`; returns once they are committed, raises when they could not be."""
        if not rows:
            return
        job = _Write([row_values(row) for row in rows])
        if not self.running:
            self._settle(job)
        else:
            self._queue.put(job)
        job.done.result()

    def _size(self, job: _Write) -> int:
        return len(job.values)

    def _handle(self, jobs: list[_Write]) -> None:
        if len(jobs) == 1:
            self._settle(jobs[0])
            return
        try:
            self._commit(jobs)
        except Exception as exc:
            # One bad row must not fail the others: each write gets its own transaction.
            logger.warning("group commit of %d writes failed (%s)", len(jobs), error_kind(exc))
            for job in jobs:
                self._settle(job)
            return
        for job in jobs:
            job.done.set_result(None)

    def _commit(self, jobs: list[_Write]) -> None:
        try:
            with self._session_factory() as session:
                session.execute(insert(Classification), [v for job in jobs for v in job.values])
                session.commit()
        except Exception as exc:
            self.health.write_failed(exc)
            raise
        self.health.write_succeeded()

    def _settle(self, job: _Write) -> None:
        try:
            self._commit([job])
        except Exception as exc:
            job.done.set_exception(exc)
        else:
            job.done.set_result(None)
