from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from service.api.deps import DatabaseDep, MetricsDep, ModelHolderDep
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
def readyz(holder: ModelHolderDep, database: DatabaseDep) -> Readiness:
    """Readiness: a model is loaded and the database answers; 503 otherwise."""
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
    return Readiness(
        status="ready", model_version=model.version, taxonomy_version=model.taxonomy_version
    )


@router.get("/metrics", response_class=Response)
def metrics(service_metrics: MetricsDep) -> Response:
    """Prometheus exposition: latency, suggestions by section, confidence, needing review."""
    return Response(service_metrics.render(), media_type=service_metrics.content_type)
