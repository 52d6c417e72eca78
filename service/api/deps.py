"""Request dependencies: settings, database session, the served model and role checks.

Use the `Annotated` aliases in route signatures, e.g.
`def route(session: SessionDep, model: ClassifierDep, caller: SubmitterDep)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.agencies import AGENCY_PATTERN, AgencyScope
from service.api.errors import APIError
from service.api_keys import ROLE_RANK, Principal
from service.auth import Authenticator
from service.batcher import SuggestionBatcher
from service.config import Settings
from service.db import Database
from service.decision_memory import MemoryHolder
from service.metrics import ServiceMetrics
from service.model_holder import ModelHolder, ServedModel
from service.rate_limit import RateLimiter
from service.store_health import StoreHealth
from service.writer import ClassificationWriter

_bearer = HTTPBearer(auto_error=False, description="An API key from `iccs keys create`.")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_session(request: Request) -> Iterator[Session]:
    """A session per request; routes commit what they write."""
    database: Database = request.app.state.db
    with database.sessionmaker() as session:
        yield session


async def get_model_holder(request: Request) -> ModelHolder:
    holder: ModelHolder = request.app.state.models
    return holder


async def get_served_model(request: Request) -> ServedModel:
    """The current model, taken once per request so a reload cannot change it mid-request."""
    holder: ModelHolder = request.app.state.models
    model = holder.current
    if model is None:
        raise APIError(503, "no model is loaded; see /readyz", code="model_unavailable")
    return model


async def get_batcher(request: Request) -> SuggestionBatcher:
    batcher: SuggestionBatcher = request.app.state.batcher
    return batcher


async def get_writer(request: Request) -> ClassificationWriter:
    writer: ClassificationWriter = request.app.state.writer
    return writer


async def get_store_health(request: Request) -> StoreHealth:
    health: StoreHealth = request.app.state.store_health
    return health


async def get_memory(request: Request) -> MemoryHolder:
    memory: MemoryHolder = request.app.state.memory
    return memory


async def get_metrics(request: Request) -> ServiceMetrics:
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


def _query_names(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


async def reject_unknown_query_parameters(request: Request) -> None:
    """422 for a query parameter the route does not take (a typo would otherwise be ignored)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return  # pages and static files may carry e.g. cache-busting parameters
    unknown = sorted(set(request.query_params) - _query_names(route))
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": "unknown query parameter",
                    "type": "extra_forbidden",
                }
                for name in unknown[:20]
            ]
        )


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session)]
ModelHolderDep = Annotated[ModelHolder, Depends(get_model_holder)]
ClassifierDep = Annotated[ServedModel, Depends(get_served_model)]
BatcherDep = Annotated[SuggestionBatcher, Depends(get_batcher)]
WriterDep = Annotated[ClassificationWriter, Depends(get_writer)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
StoreHealthDep = Annotated[StoreHealth, Depends(get_store_health)]
MemoryDep = Annotated[MemoryHolder, Depends(get_memory)]


async def authenticate(request: Request) -> Principal:
    """The caller's principal from its bearer key; 401 without a valid one (no role check)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        return principal
    challenge = {"WWW-Authenticate": "Bearer"}
    credentials = await _bearer(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise APIError(401, "missing API key: send 'Authorization: Bearer KEY'", headers=challenge)
    authenticator: Authenticator = request.app.state.authenticator
    # Cache hits are answered on the event loop; only a miss goes to the database.
    principal = authenticator.cached(credentials.credentials)
    if principal is None:
        principal = await run_in_threadpool(authenticator.authenticate, credentials.credentials)
    if principal is None:
        raise APIError(401, "invalid or revoked API key", headers=challenge)
    request.state.principal = principal
    return principal


def require_role(role: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: a valid bearer key whose role includes `role`, within its rate limit.

    Roles are ordered submitter < analyst < admin; each includes the ones before it.
    401 without a valid key, 403 with too small a role, 429 (Retry-After) over the rate.
    """
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = await authenticate(request)
        if not principal.has_role(role):
            raise APIError(
                403,
                f"this key's role '{principal.role}' may not do this; needs '{role}'",
                details={"role": principal.role, "required": role},
            )
        limiter: RateLimiter = request.app.state.rate_limiter
        wait = limiter.acquire(principal.key_id)
        if wait > 0:
            raise APIError(
                429,
                "rate limit exceeded for this key",
                details={"retry_after_seconds": round(wait, 3)},
                headers={"Retry-After": limiter.retry_after_header(wait)},
            )
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


SubmitterDep = Annotated[Principal, Depends(require_role("submitter"))]
AnalystDep = Annotated[Principal, Depends(require_role("analyst"))]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]


async def caller_scope(
    request: Request,
    agency: Annotated[
        str | None,
        Query(
            pattern=AGENCY_PATTERN,
            description="Only this agency's data (for keys with the cross-agency grant; other "
            "keys see only their own agency's, and nothing under another's name).",
            examples=["met-police"],
        ),
    ] = None,
) -> AgencyScope:
    """The agencies whose stored data the caller sees, narrowed to `agency` when asked.

    Taken from the principal the role check already resolved (no query of its own)."""
    principal = await authenticate(request)
    return principal.scope.narrowed(agency)


AgencyScopeDep = Annotated[AgencyScope, Depends(caller_scope)]
