"""Application factory: load the model once at start-up, mount the routes."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from iccs import __version__
from service.api.routes import health, taxonomy
from service.config import Settings, get_settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="ICCS coding service",
        version=__version__,
        description="Ranked ICCS v1.0 code suggestions with calibrated confidence.",
    )
    app.state.settings = settings
    app.include_router(health.router)
    app.include_router(taxonomy.router, prefix="/v1")
    return app
