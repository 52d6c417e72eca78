"""Whether the database accepts writes, as the last write (or probe) found it.

`SELECT 1` answers on a full disk or a read-only file, so readiness cannot rely on it alone: the
writer reports each commit here, and `/readyz` stays 503 after a failed write until a write (a
request's or the readiness probe's own) succeeds again.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import DBAPIError

from service.db.base import utcnow
from service.db.models import StoreProbe

logger = logging.getLogger(__name__)


def error_kind(exc: BaseException) -> str:
    """A short, text-free name for a database error (e.g. `OperationalError/SQLITE_FULL`).

    The driver's message can quote bound values on some backends, so only codes are used.
    """
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlite_errorname", None) or getattr(orig, "sqlstate", None)
    name = type(exc).__name__
    return f"{name}/{code}" if code else name


class StoreHealth:
    """The writable state of the store in this process; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failure: str | None = None
        self._written = False  # no write seen yet: the first readiness check probes one

    @property
    def failure(self) -> str | None:
        """Why the last write failed, or None when the last write succeeded."""
        return self._failure

    def write_failed(self, exc: BaseException) -> None:
        kind = error_kind(exc)
        with self._lock:
            first = self._failure is None
            self._failure = kind
        if first:
            logger.error("database write failed (%s): not ready until a write succeeds", kind)

    def write_succeeded(self) -> None:
        with self._lock:
            recovered = self._failure is not None
            self._failure, self._written = None, True
        if recovered:
            logger.warning("database writes succeed again: ready")

    def probe(self, engine: Engine) -> str | None:
        """Before the first write and after a failure, try a real one (the probe table's row).

        None when writes work (or were not in doubt), else why they fail.
        """
        if self._failure is None and self._written:
            return None
        try:
            now = utcnow()
            with engine.begin() as connection:
                probe = update(StoreProbe).where(StoreProbe.id == 1).values(probed_at=now)
                if not connection.execute(probe).rowcount:
                    connection.execute(insert(StoreProbe).values(id=1, probed_at=now))
        except DBAPIError as exc:
            self.write_failed(exc)
            return self._failure
        self.write_succeeded()
        return None
