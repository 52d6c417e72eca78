"""The served model: loaded once at start-up, swapped atomically on reload.

Requests take `holder.current` once and use that object to the end, so a reload never changes
the model under a running request; the swap is one attribute assignment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from iccs.bundle import BundleError, champion_path, load_bundle
from iccs.classifier import ICCSClassifier
from iccs.records import Versions
from iccs.serving import model_version, taxonomy_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    classifier: ICCSClassifier
    metadata: dict[str, Any]
    version: str
    taxonomy_version: str
    bundle: Path
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def versions(self) -> Versions:
        """What every record of this model carries."""
        return Versions(self.version, self.taxonomy_version)


def load_served_model(bundle: Path) -> ServedModel:
    """Load and warm up a bundle, so the first request does not pay for lazy set-up."""
    started = time.perf_counter()
    classifier, metadata = load_bundle(bundle)
    classifier.warm_up()  # every embedder and the hierarchy
    classifier.suggest(["warm-up"], top_k=1)
    logger.info(
        "loaded model %s from %s in %.2fs",
        model_version(metadata),
        bundle,
        time.perf_counter() - started,
    )
    return ServedModel(
        classifier=classifier,
        metadata=metadata,
        version=model_version(metadata),
        taxonomy_version=taxonomy_version(metadata),
        bundle=Path(bundle),
    )


class ModelHolder:
    """Holds the current `ServedModel`; `reload` loads the champion and swaps it in."""

    def __init__(
        self,
        model_path: Path | None = None,
        models_dir: Path | None = None,
        on_change: Callable[[ServedModel], None] | None = None,
    ) -> None:
        self._model_path = model_path
        self._models_dir = models_dir
        self._on_change = on_change
        self._current: ServedModel | None = None
        self._reload_lock = threading.Lock()  # one load at a time; reads never wait
        self.last_error: str | None = None

    @property
    def current(self) -> ServedModel | None:
        return self._current

    def bundle_to_serve(self) -> Path:
        bundle = self._model_path or champion_path(self._models_dir)
        if bundle is None:
            raise BundleError("no champion model: train one with `iccs train` (or `make model`)")
        return bundle

    def reload(self) -> ServedModel:
        """Load the bundle to serve (the champion unless pinned) and make it current."""
        with self._reload_lock:
            try:
                model = load_served_model(self.bundle_to_serve())
            except Exception as exc:  # keep serving the old model whatever went wrong
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise
            self._current = model
            self.last_error = None
            if self._on_change is not None:
                self._on_change(model)
            return model

    def load_at_start(self) -> None:
        """Like reload, but a failure leaves the service up and not ready (see /readyz)."""
        try:
            self.reload()
        except Exception:
            logger.error("no model loaded: %s", self.last_error)


class ReloadSignal:
    """Carries a reload to the sibling worker processes that share the data folder.

    `POST /v1/models/reload` reaches one worker; it reloads, then `announce`s. Every worker polls
    the marker file's modification time (a `stat` every `interval` seconds, off the request
    path) and reloads when it changed and names a bundle other than the one it serves.
    """

    def __init__(self, path: Path, holder: ModelHolder, interval: float) -> None:
        self.path = path
        self.holder = holder
        self.interval = interval
        self._seen = self._mtime()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _mtime(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def announce(self, bundle: Path) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(str(bundle))
        partial.replace(self.path)
        self._seen = self._mtime()

    def check(self) -> bool:
        """Reload if a sibling announced another bundle; True when this worker reloaded."""
        mtime = self._mtime()
        if mtime is None or mtime == self._seen:
            return False
        self._seen = mtime
        announced = Path(self.path.read_text().strip())
        current = self.holder.current
        if current is not None and current.bundle == announced:
            return False
        try:
            self.holder.reload()
        except Exception:
            logger.error("reload announced by another worker failed: %s", self.holder.last_error)
            return False
        return True

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="iccs-reload-signal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # never let the watcher die
                logger.exception("reload signal check failed")
