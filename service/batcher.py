"""Dynamic batching: concurrent small requests share one model call.

A model call has a large fixed cost (vectorising, sparse products, validation) and a small cost
per text, so under load one call for 16 queued texts takes little longer than one for a single
text. One worker thread takes whatever is queued (no waiting when idle, so a lone request pays
nothing extra), runs the core's `classify_texts` once over all of it and hands each request its
records. Large requests bypass the queue and run in their own thread, so they never hold small
ones up.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass, field

from iccs.predict import Predictor, classify_texts
from iccs.records import ClassificationRecord, Versions
from service.queues import BatchingWorker

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    predictor: Predictor
    versions: Versions
    texts: list[str]
    top_k: int
    languages: list[str | None]
    future: Future[list[ClassificationRecord]] = field(default_factory=Future)


Request = tuple[list[str], int, list[str | None]]  # texts, top_k, one language per text


def classify_many(
    predictor: Predictor, versions: Versions, requests: list[Request]
) -> list[list[ClassificationRecord]]:
    """The records of several requests for one model, from one `classify_texts` call (each
    text with its request's top_k and language), split back per request."""
    records = classify_texts(
        predictor,
        [text for texts, _, _ in requests for text in texts],
        [language for _, _, languages in requests for language in languages],
        top_k=[top_k for texts, top_k, _ in requests for _ in texts],
        versions=versions,
    )
    out, start = [], 0
    for texts, _, _ in requests:
        out.append(records[start : start + len(texts)])
        start += len(texts)
    return out


def _classify_jobs(jobs: list[_Job]) -> list[list[ClassificationRecord]]:
    requests = [(job.texts, job.top_k, job.languages) for job in jobs]
    return classify_many(jobs[0].predictor, jobs[0].versions, requests)


class SuggestionBatcher(BatchingWorker[_Job]):
    """Runs `classify_texts` for queued requests in batches of up to `max_texts` texts."""

    def __init__(self, max_texts: int = 64) -> None:
        super().__init__("iccs-batcher", max_texts)

    @property
    def max_texts(self) -> int:
        return self.limit

    def classify(
        self,
        predictor: Predictor,
        versions: Versions,
        texts: list[str],
        top_k: int,
        languages: list[str | None] | None = None,
    ) -> list[ClassificationRecord]:
        """The records of `texts` (one language per text, None to guess), in order."""
        job = _Job(predictor, versions, texts, top_k, languages or [None] * len(texts))
        if len(texts) > self.max_texts or not self.running:
            return _classify_jobs([job])[0]
        self._queue.put(job)
        return job.future.result()

    def _size(self, job: _Job) -> int:
        return len(job.texts)

    def _handle(self, jobs: list[_Job]) -> None:
        self._process(jobs)

    @staticmethod
    def _process(jobs: list[_Job]) -> None:
        # A reload may leave jobs for two models in one batch: one call per model.
        by_model: dict[tuple[int, Versions], list[_Job]] = {}
        for job in jobs:
            by_model.setdefault((id(job.predictor), job.versions), []).append(job)
        for group in by_model.values():
            try:
                results = _classify_jobs(group)
            except Exception as exc:
                if len(group) == 1:
                    group[0].future.set_exception(exc)
                else:  # one request's texts may have broken the shared call: only it fails
                    for job in group:
                        _run_alone(job)
                continue
            for job, records in zip(group, results, strict=True):
                job.future.set_result(records)


def _run_alone(job: _Job) -> None:
    try:
        [records] = _classify_jobs([job])
    except Exception as exc:
        job.future.set_exception(exc)
    else:
        job.future.set_result(records)
