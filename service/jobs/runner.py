"""Run one claimed batch job with the bulk engine, from its checkpoint to a final state."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from iccs.bulk import BulkJob, Cancelled, InputError, LocalSuggester, ResumeError, run_bulk
from iccs.bulk.formats import InputReader, detect_format
from iccs.text import MAX_TEXT_CHARS
from service.config import BatchSettings
from service.correspondence.store import scheme_codes
from service.db import Database
from service.db.base import utcnow
from service.db.models import Batch
from service.decision_memory import load_predictor
from service.jobs import store
from service.logsafe import stack_only
from service.model_holder import ServedModel

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"


def input_path(directory: Path, input_format: str) -> Path:
    return directory / f"input.{input_format}"


@dataclass(frozen=True)
class BatchSpec:
    id: str
    input_format: str
    id_column: str
    text_column: str
    top_k: int
    rows_total: int | None
    model_version: str | None
    has_checkpoint: bool
    cancel_requested: bool
    scheme: str | None = None
    national_code_column: str | None = None
    agency: str | None = None


class LeaseKeeper:
    """Renews the lease every third of its length while the job runs, in its own thread."""

    def __init__(self, database: Database, batch_id: str, worker_id: str, seconds: float) -> None:
        self.args = (database, batch_id, worker_id, seconds)
        self.cancel_requested = self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{batch_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.args[3] / 3):
            try:
                self.cancel_requested = store.renew_lease(*self.args)
            except store.LeaseLost:
                self.lost = True
                return
            except Exception:  # a database hiccup: the next renewal may work
                logger.warning("could not renew the lease of batch %s", self.args[1])

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _spec(database: Database, batch_id: str) -> BatchSpec:
    with database.session() as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        return BatchSpec(
            batch.id,
            batch.input_format,
            batch.id_column,
            batch.text_column,
            batch.top_k,
            batch.rows_total,
            batch.model_version,
            batch.checkpoint is not None,
            batch.cancel_requested,
            batch.scheme,
            batch.national_code_column,
            batch.agency,
        )


def _validated_codes(database: Database, scheme: str | None) -> dict[str, str]:
    """The scheme's validated national codes, read when the job (re)starts."""
    if scheme is None:
        return {}
    with database.sessionmaker() as session:
        return scheme_codes(session, scheme)


def _count_rows(path: Path, spec: BatchSpec, chunk_size: int) -> int:
    fmt = detect_format(path, spec.input_format)
    with InputReader(path, fmt, spec.id_column, spec.text_column, chunk_size) as reader:
        return sum(len(chunk) for chunk in reader.chunks())


def _start(database: Database, spec: BatchSpec, model: ServedModel, rows_total: int) -> None:
    with database.session() as session:
        batch = session.get(Batch, spec.id)
        assert batch is not None
        batch.rows_total = rows_total
        batch.model_version = model.version
        batch.taxonomy_version = model.taxonomy_version
        batch.started_at = batch.started_at or utcnow()


def remove_case_files(directory: Path, keep_results: bool) -> None:
    """The upload and the reject file hold case text: they go when the job ends."""
    for path in directory.iterdir():
        if not (keep_results and path.name == RESULTS_FILE):
            path.unlink(missing_ok=True)


def run_batch(
    database: Database,
    directory: Path,
    batch_id: str,
    worker_id: str,
    model: ServedModel,
    settings: BatchSettings,
    stop: threading.Event,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> str:
    """Run a job this worker has claimed; returns the state it ends in ('queued' if handed back)."""
    spec = _spec(database, batch_id)
    source = input_path(directory, spec.input_format)

    def end(state: str, error: str = "") -> str:
        store.finish(database, batch_id, worker_id, state, error)
        if state != "queued":
            remove_case_files(directory, keep_results=state == "succeeded")
        logger.info("batch %s %s", batch_id, state)
        return state

    if spec.cancel_requested:
        return end("cancelled")
    if spec.has_checkpoint and spec.model_version not in (None, model.version):
        return end(
            "failed",
            f"the served model changed from {spec.model_version} to {model.version} while the "
            "job was interrupted; submit the file again",
        )
    try:
        rows_total = spec.rows_total
        if rows_total is None or not spec.has_checkpoint:
            rows_total = _count_rows(source, spec, settings.chunk_size)
        _start(database, spec, model, rows_total)
        job = BulkJob(
            input=source,
            output=directory / RESULTS_FILE,
            model_version=model.version,
            taxonomy_version=model.taxonomy_version,
            id_column=spec.id_column,
            text_column=spec.text_column,
            top_k=spec.top_k,
            input_format=spec.input_format,
            output_format="jsonl",
            rejects=directory / "rejects.csv",
            chunk_size=settings.chunk_size,
            max_text_length=max_text_chars,
            checkpoint_seconds=settings.checkpoint_seconds,
            resume=True,
            national_code_column=spec.national_code_column,
            validated=_validated_codes(database, spec.scheme),
        )
        checkpoints = store.BatchCheckpointStore(
            database, batch_id, worker_id, settings.lease_seconds
        )
        with LeaseKeeper(database, batch_id, worker_id, settings.lease_seconds) as lease:
            try:
                run_bulk(
                    job,
                    LocalSuggester(load_predictor(database, model.classifier, spec.agency)),
                    store=checkpoints,
                    should_stop=lambda: (
                        stop.is_set()
                        or lease.lost
                        or lease.cancel_requested
                        or checkpoints.cancel_requested
                    ),
                )
            except Cancelled:
                if lease.lost:
                    raise store.LeaseLost(batch_id) from None
                if lease.cancel_requested or checkpoints.cancel_requested:
                    return end("cancelled")
                return end("queued")  # shutting down: another worker resumes it
        remove_case_files(directory, keep_results=True)
        logger.info("batch %s succeeded", batch_id)
        return "succeeded"
    except store.LeaseLost:
        logger.warning("batch %s was taken over by another worker", batch_id)
        return "lost"
    except (InputError, ResumeError) as exc:
        return end("failed", str(exc))
    except Exception as exc:
        logger.error("batch %s failed with %s\n%s", batch_id, type(exc).__name__, stack_only(exc))
        return end("failed", f"internal error ({type(exc).__name__})")
