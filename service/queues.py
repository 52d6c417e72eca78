"""One worker thread draining a queue in batches, shared by the model batcher and the writer."""

from __future__ import annotations

import queue
import threading
from typing import Generic, TypeVar

Job = TypeVar("Job")


class BatchingWorker(Generic[Job]):
    """Runs `_handle` on everything queued, up to `limit` units of work, in one thread.

    An idle worker waits for the first job and then takes what else is already queued without
    waiting, so a lone job pays nothing extra. `stop` lets queued jobs finish first.
    """

    def __init__(self, name: str, limit: int) -> None:
        self.limit = limit
        self._name = name
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if not self.running:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _size(self, job: Job) -> int:
        raise NotImplementedError

    def _handle(self, jobs: list[Job]) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs, stopping = self._take_queued(job)
            self._handle(jobs)
            if stopping:
                return

    def _take_queued(self, first: Job) -> tuple[list[Job], bool]:
        """`first` plus what is already queued; True when the stop sentinel was met."""
        taken, total = [first], self._size(first)
        while total < self.limit:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                return taken, True
            taken.append(more)
            total += self._size(more)
        return taken, False
