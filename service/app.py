"""Application factory: migrate, check keys, load the model once at start-up, mount the routes."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from iccs import __version__
from iccs.search import load_search_index
from service.api.deps import authenticate, reject_unknown_query_parameters
from service.api.errors import install_error_handlers
from service.api.routes import (
    batches,
    classify,
    correspondences,
    dashboard,
    health,
    keys,
    models,
    reports,
    reviews,
    taxonomy,
)
from service.api_keys import count_active_keys
from service.auth import Authenticator
from service.batcher import SuggestionBatcher
from service.config import Settings, get_settings
from service.db import Database
from service.decision_memory import MemoryHolder
from service.jobs.worker import start_in_service_worker
from service.logs import RequestLogMiddleware, configure_logging
from service.metrics import ServiceMetrics
from service.middleware import BodySizeLimitMiddleware
from service.model_holder import ModelHolder, ReloadSignal
from service.rate_limit import RateLimiter
from service.store_health import StoreHealth
from service.web import pages
from service.writer import ClassificationWriter

logger = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The service must not start as configured (e.g. production without API keys)."""


def check_can_start(settings: Settings, database: Database) -> None:
    if settings.is_development:
        return
    with database.sessionmaker() as session:
        if count_active_keys(session, usable_in=settings.env) == 0:
            raise StartupError(
                f"refusing to start in {settings.env} mode with no API keys: create one with "
                "`iccs keys create --role admin` (or run with ICCS_ENV=development)"
            )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    database: Database = app.state.db
    if settings.migrate_on_start:
        database.upgrade()
    check_can_start(settings, database)
    holder: ModelHolder = app.state.models
    holder.load_at_start()
    app.state.reload_signal.start()
    app.state.batcher.start()
    app.state.writer.start()
    batch_worker = start_in_service_worker(app)  # development mode: jobs run in-process
    # The taxonomy search index takes a second or two to build: not on an analyst's first search.
    threading.Thread(target=load_search_index, name="search-index", daemon=True).start()
    logger.info("ICCS service ready (%s mode, %s database)", settings.env, database.backend)
    try:
        yield
    finally:
        app.state.reload_signal.stop()
        app.state.batcher.stop()
        app.state.writer.stop()
        if batch_worker is not None:
            batch_worker.stop()
        database.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # /docs and /redoc load Swagger UI and ReDoc from the installed package, not a CDN, so they
    # work without internet; Swagger's online validator badge is off for the same reason.
    app = FastAPIOffline(
        title="ICCS coding service",
        version=__version__,
        description=(
            "Ranked ICCS v1.0 code suggestions with calibrated confidence. "
            "Authenticate with `Authorization: Bearer KEY` (keys from `iccs keys create`)."
        ),
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query_parameters)],
        swagger_ui_parameters={"validatorUrl": None},
    )
    database = Database(settings.sqlalchemy_url)
    app.state.settings = settings
    app.state.db = database
    metrics = ServiceMetrics()
    app.state.metrics = metrics
    app.state.models = ModelHolder(
        settings.model_path,
        settings.models_dir,
        on_change=lambda model: metrics.set_model(model.version, model.taxonomy_version),
    )
    app.state.reload_signal = ReloadSignal(
        settings.data_dir / "model-reload", app.state.models, settings.reload_poll_seconds
    )
    app.state.authenticator = Authenticator(
        database.sessionmaker, settings.auth_cache_seconds, settings.env
    )
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.batcher = SuggestionBatcher(settings.http.batch_max_texts)
    app.state.store_health = StoreHealth()
    app.state.writer = ClassificationWriter(database.sessionmaker, health=app.state.store_health)
    app.state.memory = MemoryHolder(
        database, settings.memory.refresh_seconds, settings.memory.enabled
    )
    install_error_handlers(app, authenticate=authenticate)
    # Outermost last: metrics see every request, including those refused for their size.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    # outermost: every line of a request has its id; it also times the request for /metrics
    app.add_middleware(RequestLogMiddleware, metrics=app.state.metrics)
    app.include_router(health.router)
    # Routers carry their own "/v1" prefix, so metrics see full route templates.
    app.include_router(taxonomy.router)
    app.include_router(classify.router)
    app.include_router(models.router)
    app.include_router(keys.router)
    app.include_router(batches.router)
    app.include_router(dashboard.router)  # before reviews: /reviews/{item_id} would take it
    app.include_router(reviews.router)
    app.include_router(correspondences.router)
    app.include_router(reports.router)
    app.include_router(pages.router)  # /review, /dashboard and their static files
    return app


def create_served_app() -> FastAPI:
    """The app as `iccs serve` runs it: each uvicorn worker process sets up logging first."""
    settings = get_settings()
    configure_logging(settings)
    return create_app(settings)
