"""Dynamic batching: concurrent small requests share one model call.

A model call has a large fixed cost (vectorising, sparse products, validation) and a small cost
per text, so under load one call for 16 queued texts takes little longer than one for a single
text. One worker thread takes whatever is queued (no waiting when idle, so a lone request pays
nothing extra), runs the model once and hands each request its rows. Large requests bypass the
queue and run in their own thread, so they never hold small ones up.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass, field

from iccs.classifier import ICCSClassifier, Prediction
from service.queues import BatchingWorker

logger = logging.getLogger(__name__)


def suggest_many(
    classifier: ICCSClassifier, jobs: list[tuple[list[str], int]]
) -> list[list[Prediction]]:
    """`classifier.suggest` for several (texts, top_k) jobs with one model call."""
    distinct = list(dict.fromkeys(text for texts, _ in jobs for text in texts))
    index = {text: n for n, text in enumerate(distinct)}
    node_proba = classifier.hierarchy.node_proba(classifier.predict_proba(distinct))
    return [
        [classifier.suggestion_from_nodes(node_proba[index[text]], top_k) for text in texts]
        for texts, top_k in jobs
    ]


@dataclass
class _Job:
    classifier: ICCSClassifier
    texts: list[str]
    top_k: int
    future: Future[list[Prediction]] = field(default_factory=Future)


class SuggestionBatcher(BatchingWorker[_Job]):
    """Runs `suggest` for queued requests in batches of up to `max_texts` texts."""

    def __init__(self, max_texts: int = 64) -> None:
        super().__init__("iccs-batcher", max_texts)

    @property
    def max_texts(self) -> int:
        return self.limit

    def suggest(self, classifier: ICCSClassifier, texts: list[str], top_k: int) -> list[Prediction]:
        if len(texts) > self.max_texts or not self.running:
            return classifier.suggest(texts, top_k=top_k)
        job = _Job(classifier, texts, top_k)
        self._queue.put(job)
        return job.future.result()

    def _size(self, job: _Job) -> int:
        return len(job.texts)

    def _handle(self, jobs: list[_Job]) -> None:
        self._process(jobs)

    @staticmethod
    def _process(jobs: list[_Job]) -> None:
        # A reload may leave jobs for two models in one batch: one call per model.
        by_model: dict[int, list[_Job]] = {}
        for job in jobs:
            by_model.setdefault(id(job.classifier), []).append(job)
        for group in by_model.values():
            try:
                results = suggest_many(group[0].classifier, [(j.texts, j.top_k) for j in group])
            except Exception as exc:  # each waiting request gets the error, the worker lives on
                for job in group:
                    job.future.set_exception(exc)
                continue
            for job, predictions in zip(group, results, strict=True):
                job.future.set_result(predictions)
