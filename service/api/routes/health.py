from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from service.api.deps import DatabaseDep, MetricsDep, ModelHolderDep, StoreHealthDep
from service.api.errors import APIError, ErrorResponse

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(description="'ok' while the process answers.", examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(description="'ready' when requests can be classified.", examples=["ready"])
    model_version: str = Field(examples=["iccs-classifier:20251126-101500"])
    taxonomy_version: str = Field(examples=["ICCS-1.0-2015"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process is up (says nothing about the model)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": ErrorResponse}})
def readyz(holder: ModelHolderDep, database: DatabaseDep, health: StoreHealthDep) -> Readiness:
    """Readiness: a model is loaded and the database answers and takes writes; 503 otherwise.

    After a failed write it stays 503 until a write succeeds again (this probe writes too).
    """
    model = holder.current
    if model is None:
        raise APIError(
            503,
            "no model loaded",
            code="not_ready",
            details={"reason": holder.last_error or "loading"},
        )
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise APIError(
            503, "database unreachable", code="not_ready", details={"reason": type(exc).__name__}
        ) from None
    failure = health.probe(database.engine)
    if failure is not None:
        raise APIError(
            503, "database refuses writes", code="not_ready", details={"reason": failure}
        )
    return Readiness(
        status="ready", model_version=model.version, taxonomy_version=model.taxonomy_version
    )


@router.get("/metrics", response_class=Response)
def metrics(service_metrics: MetricsDep) -> Response:
    """Prometheus exposition: latency, suggestions by section, confidence, needing review."""
    return Response(service_metrics.render(), media_type=service_metrics.content_type)
