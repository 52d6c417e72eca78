"""Scale-out: the same classifier mapped over Ray Data batches, one actor per worker.

Only the expensive step moves to Ray: this process still reads the input, removes repeats,
writes the output in order and keeps the checkpoint, so formats, rejects and `--resume` behave
exactly as with the default engine. The distinct texts of a window (up to `window_rows` input
rows) become a Ray Dataset; `map_batches` runs them through an actor pool whose actors each
take the model once from the object store and run `iccs.predict.classify_texts`, the path
every other transport uses, sending back serialised records. Ray is imported only when this
engine is chosen.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from typing import Any

from iccs.classifier import ICCSClassifier
from iccs.predict import Predictor, classify_texts
from iccs.records import ClassificationRecord, Versions

logger = logging.getLogger(__name__)


class SuggestActor:
    """Holds the model for the life of the actor; classifies one Ray Data batch per call and
    sends each record back in its one serialised form."""

    def __init__(self, model_box: list[Any], top_k: int, versions: Versions) -> None:
        import ray

        self.model: Predictor = ray.get(model_box[0])
        self.top_k, self.versions = top_k, versions

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        records = classify_texts(
            self.model, list(batch["text"]), top_k=self.top_k, versions=self.versions
        )
        return {"index": batch["index"], "record": [r.to_json() for r in records]}


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

    def records(
        self, texts: Sequence[str], top_k: int, versions: Versions
    ) -> list[ClassificationRecord]:
        if not texts:
            return []
        import ray.data

        dataset = ray.data.from_items(
            [{"index": i, "text": t} for i, t in enumerate(texts)],
            override_num_blocks=max(1, min(len(texts) // self.batch_size, 4 * self.workers)),
        )
        mapped = dataset.map_batches(
            SuggestActor,
            fn_constructor_kwargs={
                "model_box": [self._model_ref],
                "top_k": top_k,
                "versions": versions,
            },
            batch_size=self.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.workers),
        )
        records: list[ClassificationRecord | None] = [None] * len(texts)
        for batch in mapped.iter_batches(batch_size=None, batch_format="numpy"):
            for index, payload in zip(batch["index"], batch["record"], strict=True):
                records[int(index)] = ClassificationRecord.from_json(str(payload))
        missing = sum(r is None for r in records)
        if missing:
            raise RuntimeError(f"Ray returned no record for {missing} texts")
        return [r for r in records if r is not None]

    def close(self) -> None:
        if self._started_here:
            self._ray.shutdown()
