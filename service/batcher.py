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
from dataclasses import dataclass, field, replace

from iccs.classifier import Prediction
from iccs.memory import Predictor
from service.queues import BatchingWorker

logger = logging.getLogger(__name__)


def suggest_many(
    classifier: Predictor,
    jobs: list[tuple[list[str], int]],
    languages: list[list[str | None]] | None = None,
) -> list[list[Prediction]]:
    """`classifier.suggest` for several (texts, top_k) jobs with one model call; a job's
    `languages` (one per text, None to guess) choose the blend as in `suggest`."""
    langs = languages or [[None] * len(texts) for texts, _ in jobs]
    pairs = [list(zip(texts, ls, strict=True)) for (texts, _), ls in zip(jobs, langs, strict=True)]
    distinct = list(dict.fromkeys(pair for job in pairs for pair in job))
    index = {pair: n for n, pair in enumerate(distinct)}
    widest = max(top_k for _, top_k in jobs)
    proba = classifier.predict_proba([t for t, _ in distinct], [lang for _, lang in distinct])
    predictions = classifier.with_tags(
        classifier.suggestions_from_proba(proba, widest), [t for t, _ in distinct]
    )
    return [
        [_first(predictions[index[pair]], top_k) for pair in job]
        for job, (_, top_k) in zip(pairs, jobs, strict=True)
    ]


def _first(prediction: Prediction, top_k: int) -> Prediction:
    """The same prediction with at most `top_k` suggestions."""
    if len(prediction.suggestions) <= top_k:
        return prediction
    return replace(prediction, suggestions=prediction.suggestions[:top_k])


@dataclass
class _Job:
    classifier: Predictor
    texts: list[str]
    top_k: int
    languages: list[str | None]
    future: Future[list[Prediction]] = field(default_factory=Future)


class SuggestionBatcher(BatchingWorker[_Job]):
    """Runs `suggest` for queued requests in batches of up to `max_texts` texts."""

    def __init__(self, max_texts: int = 64) -> None:
        super().__init__("iccs-batcher", max_texts)

    @property
    def max_texts(self) -> int:
        return self.limit

    def suggest(
        self,
        classifier: Predictor,
        texts: list[str],
        top_k: int,
        languages: list[str | None] | None = None,
    ) -> list[Prediction]:
        if len(texts) > self.max_texts or not self.running:
            return classifier.suggest(texts, top_k=top_k, languages=languages)
        job = _Job(classifier, texts, top_k, languages or [None] * len(texts))
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
                results = suggest_many(
                    group[0].classifier,
                    [(j.texts, j.top_k) for j in group],
                    [j.languages for j in group],
                )
            except Exception as exc:
                if len(group) == 1:
                    group[0].future.set_exception(exc)
                else:  # one request's texts may have broken the shared call: only it fails
                    for job in group:
                        _run_alone(job)
                continue
            for job, predictions in zip(group, results, strict=True):
                job.future.set_result(predictions)


def _run_alone(job: _Job) -> None:
    try:
        [predictions] = suggest_many(job.classifier, [(job.texts, job.top_k)], [job.languages])
    except Exception as exc:
        job.future.set_exception(exc)
    else:
        job.future.set_result(predictions)
