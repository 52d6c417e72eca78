"""Group commit: one thread writes the classifications of all concurrent requests together.

Sixteen request threads each committing their own row fight over SQLite's single write lock
(and PostgreSQL's WAL flush); one writer that takes everything queued and commits it in one
transaction does the same work in one round. Each request still waits until its rows are
committed, so an id it returns can be looked up at once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from service.db.models import Classification
from service.queues import take_queued

logger = logging.getLogger(__name__)


@dataclass
class _Write:
    rows: Sequence[Classification]
    done: Future[None] = field(default_factory=Future)


class ClassificationWriter:
    """Commits queued rows in batches of up to `max_rows`; `write` blocks until committed."""

    def __init__(self, session_factory: Callable[[], Session], max_rows: int = 2000) -> None:
        self._session_factory = session_factory
        self.max_rows = max_rows
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if not self.running:
            self._thread = threading.Thread(target=self._run, name="iccs-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def write(self, rows: Sequence[Classification]) -> None:
        if not rows:
            return
        if not self.running:
            self._commit([_Write(rows)])
            return
        job = _Write(rows)
        self._queue.put(job)
        job.done.result()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs, stopping = take_queued(self._queue, job, self.max_rows, lambda j: len(j.rows))
            self._commit_each_on_failure(jobs)
            if stopping:
                return

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
