"""The service's logs: level and format from the settings, one line per request, no case text.

`ICCS_LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message, and the
request id of the request being served); `text` (the default) writes plain lines. Each request
gets one line from `RequestLogMiddleware`: method, route template (never the raw path or query,
which may carry case text), status and latency, under the request id it also returns in
`X-Request-ID`. Alembic's INFO chatter stays out unless the level is DEBUG.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.metrics import ServiceMetrics

request_id_var: ContextVar[str | None] = ContextVar("iccs_request_id", default=None)
access_logger = logging.getLogger("service.access")
_HANDLER_NAME = "iccs-service"
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# fields a request line carries besides the message (see RequestLogMiddleware)
_REQUEST_FIELDS = ("method", "route", "status", "latency_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for name in _REQUEST_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Plain lines; the request id, when there is one, in brackets."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        return f"{line} [{request_id}]" if request_id else line


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (a CLI test runner swaps it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(settings: Settings) -> None:
    """Route every logger (uvicorn's included) through one handler in the chosen format."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        # ours from an earlier call, or a plain one from logging.basicConfig (the `iccs` CLI);
        # subclasses (pytest's capture handler) stay
        if handler.get_name() == _HANDLER_NAME or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if settings.logging.format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(settings.logging.level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()  # propagate to the root handler instead
        logging.getLogger(name).propagate = True
    # uvicorn's access line carries the raw path and query, which may hold case text (a
    # taxonomy search, say); RequestLogMiddleware writes the request line instead.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    quiet_alembic()


def quiet_alembic() -> None:
    """Alembic logs every step at INFO; keep it for DEBUG only."""
    debug = logging.getLogger().isEnabledFor(logging.DEBUG)
    logging.getLogger("alembic").setLevel(logging.NOTSET if debug else logging.WARNING)


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a plain token, else a new one."""
    given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
    return given if _GOOD_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class RequestLogMiddleware:
    """One log line and one latency observation (route template, not raw path) per request,
    and an `X-Request-ID` on every response."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            seconds = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe_request(scope["method"], route, status, seconds)
            latency_ms = round(seconds * 1000, 1)
            access_logger.info(
                "%s %s %d %.1f ms",
                scope["method"],
                route,
                status,
                latency_ms,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "latency_ms": latency_ms,
                },
            )
            request_id_var.reset(token)
