from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(description="'ok' while the process answers.", examples=["ok"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process is up (says nothing about the model)."""
    return Health(status="ok")
