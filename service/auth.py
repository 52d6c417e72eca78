"""Checking bearer keys, with a short in-process cache so most requests skip the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from service.api_keys import Principal, find_active_key, hash_key


class Authenticator:
    """Resolves a presented key to its `Principal`; remembers hits for `ttl` seconds.

    Misses are never cached, so a freshly created key works at once; a revoked key keeps
    working until its cache entry expires (at most `ttl` seconds). A key the service's
    `environment` refuses (a development key in production) is a miss.
    """

    def __init__(
        self, session_factory: Callable[[], Session], ttl: float, environment: str = "production"
    ) -> None:
        self._session_factory = session_factory
        self._ttl = ttl
        self._environment = environment
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> Principal | None:
        """The principal if the key was verified less than `ttl` seconds ago (no I/O)."""
        entry = self._cache.get(hash_key(key))
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return None

    def authenticate(self, key: str) -> Principal | None:
        cached = self.cached(key)
        if cached is not None:
            return cached
        digest = hash_key(key)
        now = time.monotonic()
        with self._session_factory() as session:
            principal = find_active_key(session, key)
        if principal is not None and not principal.usable_in(self._environment):
            principal = None
        with self._lock:
            if principal is None:
                self._cache.pop(digest, None)
            elif self._ttl > 0:
                if len(self._cache) > 10_000:  # keys are few; this only bounds abuse
                    self._cache.clear()
                self._cache[digest] = (now + self._ttl, principal)
        return principal

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
