"""One error shape for every error: `{"error": {"code", "message", "details"}}`.

Raise `APIError` from routes and dependencies; the domains raise their own errors (e.g.
`ReviewError`, mapped here by kind to a status). The handlers below turn those, FastAPI's
validation errors, Starlette's HTTP errors and anything unexpected into that shape. Validation
details never echo the submitted input: it may be case text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logsafe import stack_only
from service.reviews.errors import (
    InvalidReview,
    ReviewConflict,
    ReviewError,
    ReviewForbidden,
    ReviewNotFound,
)
from service.store_health import StoreHealth, error_kind

logger = logging.getLogger(__name__)

PROTECTED_PREFIX = "/v1/"  # every route under it needs an API key

# Machine-readable codes for the statuses the framework raises by itself.
DEFAULT_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code.", examples=["validation_error"])
    message: str = Field(description="What went wrong, for people.", examples=["invalid request"])
    details: Any = Field(
        default=None,
        description="Structured context (e.g. the fields that failed validation), or null.",
        examples=[[{"loc": ["body", "text"], "msg": "Field required", "type": "missing"}]],
    )


class ErrorResponse(BaseModel):
    """The body of every non-2xx answer."""

    error: ErrorBody


class APIError(Exception):
    """An error answered with the shared shape; `headers` e.g. Retry-After or WWW-Authenticate."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code or DEFAULT_CODES.get(status_code, "error")
        self.message = message
        self.details = details
        self.headers = headers


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(), status_code=status_code, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Location, message and type of each failure; never the input (it may be case text)."""
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors()
    ]


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, APIError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


# The review domain's errors, by kind; an unlisted kind is a 409 (the item's state forbids it).
REVIEW_STATUS: dict[type[ReviewError], int] = {
    ReviewNotFound: 404,
    ReviewForbidden: 403,
    ReviewConflict: 409,
    InvalidReview: 422,
}


def review_status(exc: ReviewError) -> int:
    return next((s for kind, s in REVIEW_STATUS.items() if isinstance(exc, kind)), 409)


async def _review_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReviewError)
    return error_response(review_status(exc), exc.code, exc.message, exc.details)


Authenticate = Callable[[Request], Awaitable[object]]


def _validation_error(authenticate: Authenticate | None) -> Callable[..., Awaitable[JSONResponse]]:
    """422 for an invalid request, but 401 first when the caller has no valid key.

    FastAPI parses the JSON body before any dependency runs, so without this a caller without
    a key would learn how its body is wrong before being told it may not ask.
    """

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if authenticate is not None and request.url.path.startswith(PROTECTED_PREFIX):
            try:
                await authenticate(request)
            except APIError as refused:
                return await _api_error(request, refused)
        return error_response(422, "validation_error", "invalid request", _validation_details(exc))

    return handler


def documented_methods(request: Request) -> list[str]:
    """Every method the API document gives this path (Starlette names only one route's)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    headers = dict(exc.headers or {})
    if status == 405 and (methods := documented_methods(request)):
        headers["Allow"] = ", ".join(methods)
    return error_response(status, DEFAULT_CODES.get(status, "error"), message, headers=headers)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """An unreachable, full or read-only database: 503, and readiness fails until a write works."""
    kind = error_kind(exc)
    health: StoreHealth | None = getattr(request.app.state, "store_health", None)
    if health is not None:
        health.write_failed(exc)
    logger.warning("database unavailable on %s %s (%s)", request.method, request.url.path, kind)
    return error_response(
        503, "database_unavailable", "the database is unavailable; try again", {"reason": kind}
    )


class UnexpectedErrorMiddleware:
    """500 `internal_error` for anything unhandled, logged with type and stack only.

    Starlette's own catch-all re-raises to the server, whose log line would carry the
    exception's message (which can quote case text or bound parameters); this one does not.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            logger.error(
                "unhandled %s on %s %s\n%s",
                type(exc).__name__,
                scope.get("method", ""),
                scope.get("path", ""),
                stack_only(exc),
            )
            if not started:  # else the server closes the half-sent response
                await error_response(500, "internal_error", "internal server error")(
                    scope, receive, send
                )


def install_error_handlers(app: FastAPI, authenticate: Authenticate | None = None) -> None:
    """`authenticate(request)` raises APIError(401) for a caller without a valid key."""
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(ReviewError, _review_error)
    app.add_exception_handler(RequestValidationError, _validation_error(authenticate))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_middleware(UnexpectedErrorMiddleware)  # innermost: the other middleware see the 500


# For `responses=` on routes, so the OpenAPI document shows the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 413, 422, 429, 503)
}
