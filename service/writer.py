"""Group commit: one thread writes the classifications of all concurrent requests together.

Sixteen request threads each committing their own row fight over SQLite's single write lock
(and PostgreSQL's WAL flush); one writer that takes everything queued and commits it in one
transaction does the same work in one round. Each request still waits until its rows are
committed, so an id it returns can be looked up at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from service.db.models import Classification
from service.queues import BatchingWorker

logger = logging.getLogger(__name__)


@dataclass
class _Write:
    rows: Sequence[Classification]
    done: Future[None] = field(default_factory=Future)


class ClassificationWriter(BatchingWorker[_Write]):
    """Commits queued rows in batches of up to `max_rows`; `write` blocks until committed."""

    def __init__(self, session_factory: Callable[[], Session], max_rows: int = 2000) -> None:
        super().__init__("iccs-writer", max_rows)
        self._session_factory = session_factory

    @property
    def max_rows(self) -> int:
        return self.limit

    def write(self, rows: Sequence[Classification]) -> None:
        if not rows:
            return
        if not self.running:
            self._commit([_Write(rows)])
            return
        job = _Write(rows)
        self._queue.put(job)
        job.done.result()

    def _size(self, job: _Write) -> int:
        return len(job.rows)

    def _handle(self, jobs: list[_Write]) -> None:
        self._commit_each_on_failure(jobs)

    def _commit(self, jobs: list[_Write]) -> None:
        with self._session_factory() as session:
            session.add_all([row for job in jobs for row in job.rows])
            session.commit()

    def _commit_each_on_failure(self, jobs: list[_Write]) -> None:
        try:
            self._commit(jobs)
        except Exception:
            if len(jobs) == 1:
                self._settle(jobs[0])
                return
            logger.warning("group commit of %d writes failed; committing one by one", len(jobs))
            for job in jobs:
                self._settle(job)
            return
        for job in jobs:
            job.done.set_result(None)

    def _settle(self, job: _Write) -> None:
        try:
            self._commit([job])
        except Exception as exc:
            job.done.set_exception(exc)
        else:
            job.done.set_result(None)
