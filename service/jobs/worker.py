"""The batch worker: claim a job, run it, repeat; standalone (`iccs worker`) or in the service."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from service.config import BatchSettings, Settings
from service.db import Database
from service.jobs import store
from service.jobs.runner import run_batch
from service.logsafe import stack_only
from service.model_holder import ServedModel

logger = logging.getLogger(__name__)


class BatchWorker:
    """Runs queued jobs one at a time until `stop()`; a stop hands the running job back."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        batch_settings: BatchSettings,
        model: Callable[[], ServedModel | None],
    ) -> None:
        self.database, self.settings, self.batch_settings = database, settings, batch_settings
        self.model = model
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> str | None:
        """Claim and run one job; the state it ended in, or None when there was nothing to do."""
        model = self.model()
        if model is None:
            return None
        batch_id = store.claim_next(
            self.database, self.worker_id, self.batch_settings.lease_seconds
        )
        if batch_id is None:
            return None
        logger.info("worker %s took batch %s", self.worker_id, batch_id)
        return run_batch(
            self.database,
            self.settings.batches_dir / batch_id,
            batch_id,
            self.worker_id,
            model,
            self.batch_settings,
            self.stopping,
            self.settings.max_text_chars,
        )

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                ran = self.run_once()
            except Exception as exc:  # the database was unreachable: wait and try again
                logger.error(
                    "batch worker poll failed: %s\n%s", type(exc).__name__, stack_only(exc)
                )
                ran = None
            if ran is None:
                self.stopping.wait(self.batch_settings.poll_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="batch-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)


def start_in_service_worker(app: Any) -> BatchWorker | None:
    """Start a worker thread inside the service (development mode, or when configured)."""
    settings: Settings = app.state.settings
    batch_settings = settings.jobs
    enabled = batch_settings.in_service_worker
    if not (settings.is_development if enabled is None else enabled):
        return None
    worker = BatchWorker(app.state.db, settings, batch_settings, lambda: app.state.models.current)
    worker.start()
    logger.info("batch worker running inside the service")
    return worker
