"""Scale-out: the same classifier mapped over Ray Data batches, one actor per worker.

Only the expensive step moves to Ray: this process still reads the input, removes repeats,
writes the output in order and keeps the checkpoint, so formats, rejects and `--resume` behave
exactly as with the default engine. The distinct texts of a window (up to `window_rows` input
rows) become a Ray Dataset; `map_batches` runs them through an actor pool whose actors each
take the model once from the object store. Ray is imported only when this engine is chosen.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Sequence
from typing import Any

from iccs.classifier import ICCSClassifier, Prediction, Suggestion
from iccs.memory import Predictor
from iccs.tags import TagValue

logger = logging.getLogger(__name__)


class SuggestActor:
    """Holds the model for the life of the actor; classifies one Ray Data batch per call."""

    def __init__(self, model_box: list[Any], top_k: int) -> None:
        import ray

        self.model: Predictor = ray.get(model_box[0])
        self.top_k = top_k

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        predictions = self.model.suggest(list(batch["text"]), top_k=self.top_k)
        return {"index": batch["index"], "prediction": [_encode(p) for p in predictions]}


def _encode(prediction: Prediction) -> str:
    return json.dumps(
        [
            [[s.code, s.title, s.level, float(s.confidence)] for s in prediction.suggestions],
            prediction.needs_review,
            prediction.backed_off,
            [[t.tag, t.value, t.confidence] for t in prediction.tags],
        ],
        ensure_ascii=False,
    )


def _decode(payload: str) -> Prediction:
    suggestions, needs_review, backed_off, tags = json.loads(payload)
    return Prediction(
        [
            Suggestion(code, title, level, confidence)
            for code, title, level, confidence in suggestions
        ],
        bool(needs_review),
        bool(backed_off),
        tags=tuple(TagValue(tag, value, confidence) for tag, value, confidence in tags),
    )


class RaySuggester:
    """Suggester backed by a Ray cluster (`address`), or a local Ray started here."""

    window_rows = 262_144
    window_texts = 65_536

    def __init__(
        self,
        model: Predictor,
        address: str | None = None,
        workers: int | None = None,
        batch_size: int = 1024,
        num_cpus: int | None = None,
    ) -> None:
        import ray
        import ray.data

        self._ray = ray
        self._started_here = not ray.is_initialized()
        if self._started_here:
            ray.init(
                address=address,
                num_cpus=None if address else (num_cpus or os.cpu_count() or 1),
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
                configure_logging=True,
            )
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        shipped = copy.copy(model)
        if isinstance(shipped, ICCSClassifier):
            shipped._hierarchy = None  # rebuilt cheaply on the worker; keeps the payload small
        self._model_ref = ray.put(shipped)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, workers or cpus)
        self.batch_size = batch_size
        logger.info("Ray engine: %d actors over %d CPUs", self.workers, cpus)

    def suggest(self, texts: Sequence[str], top_k: int) -> list[Prediction]:
        if not texts:
            return []
        import ray.data

        dataset = ray.data.from_items(
            [{"index": i, "text": t} for i, t in enumerate(texts)],
            override_num_blocks=max(1, min(len(texts) // self.batch_size, 4 * self.workers)),
        )
        mapped = dataset.map_batches(
            SuggestActor,
            fn_constructor_kwargs={"model_box": [self._model_ref], "top_k": top_k},
            batch_size=self.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.workers),
        )
        predictions: list[Prediction | None] = [None] * len(texts)
        for batch in mapped.iter_batches(batch_size=None, batch_format="numpy"):
            for index, payload in zip(batch["index"], batch["prediction"], strict=True):
                predictions[int(index)] = _decode(str(payload))
        missing = sum(p is None for p in predictions)
        if missing:
            raise RuntimeError(f"Ray returned no prediction for {missing} texts")
        return [p for p in predictions if p is not None]

    def close(self) -> None:
        if self._started_here:
            self._ray.shutdown()
