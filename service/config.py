"""The service's one `Settings`, read once from the environment (`ICCS_*`, or `.env`).

Each section reads its own prefix, so the documented names stay flat (`ICCS_LOG_LEVEL`,
`ICCS_BATCH_LEASE_SECONDS`, `ICCS_REVIEW_QC_RATE`...). The core library's few variables (data
paths, embedder threads) are read in `iccs/environment.py`, since `iccs` never imports `service`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from iccs.environment import PROJECT_ROOT
from iccs.taxonomy import load_taxonomy
from iccs.text import MAX_TEXT_CHARS

Environment = Literal["development", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _section(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_file=".env", extra="ignore", populate_by_name=True
    )


class HttpSettings(BaseSettings):
    """The HTTP batcher (env `ICCS_HTTP_*`); not the batch jobs."""

    model_config = _section("ICCS_HTTP_")

    batch_max_texts: int = Field(
        default=64,
        ge=0,
        validation_alias=AliasChoices("ICCS_HTTP_BATCH_MAX_TEXTS", "ICCS_BATCH_MAX_TEXTS"),
        description="Concurrent requests are classified together up to this many texts "
        "(0 = no batching); larger requests run on their own. ICCS_BATCH_MAX_TEXTS is the old "
        "name, still read.",
        examples=[64],
    )


class MemorySettings(BaseSettings):
    """The decision memory: validated correspondence rows and analysts' decisions."""

    model_config = _section("ICCS_MEMORY_")

    enabled: bool = Field(
        default=True,
        description="Consult the memory of validated decisions when classifying.",
        examples=[True],
    )
    refresh_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often each process checks the database for new decisions or imports "
        "(0 = on every request).",
        examples=[2.0],
    )


class LoggingSettings(BaseSettings):
    """Log lines on stderr (env `ICCS_LOG_*`)."""

    model_config = _section("ICCS_LOG_")

    level: LogLevel = Field(
        default="INFO",
        description="Least severe log level written (DEBUG also shows Alembic's migration steps).",
        examples=["INFO", "DEBUG"],
    )
    format: Literal["text", "json"] = Field(
        default="text",
        description="text: plain lines; json: one JSON object per line (time, level, logger, "
        "message, request_id; request lines add method, route, status, latency_ms).",
        examples=["json"],
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class BatchSettings(BaseSettings):
    """Batch jobs (env `ICCS_BATCH_*`): leases, checkpoints, the in-service worker."""

    model_config = _section("ICCS_BATCH_")

    lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A running job whose worker has not renewed its lease for this long is "
        "taken over by another worker and resumed from its checkpoint.",
        examples=[30.0],
    )
    poll_seconds: float = Field(
        default=1.0, gt=0, description="Idle worker's wait between polls.", examples=[1.0]
    )
    checkpoint_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Longest time between checkpoints of a running job.",
        examples=[2.0],
    )
    chunk_size: int = Field(default=8192, ge=1, description="Rows read at a time.", examples=[8192])
    in_service_worker: bool | None = Field(
        default=None,
        description="Run a worker thread inside the service; default: in development mode only.",
        examples=[True],
    )


class ReviewSettings(BaseSettings):
    """The review queue (env `ICCS_REVIEW_*`)."""

    model_config = _section("ICCS_REVIEW_")

    qc_rate: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Share of auto-coded records sampled for quality control, so that the "
        "autocoding error rate is measured rather than assumed.",
        examples=[0.02],
    )
    section_thresholds: dict[str, float] = Field(
        default_factory=dict,
        description='Per ICCS section, a stricter review threshold, e.g. {"01": 0.95}: '
        "auto-coded records of that section below it are queued too.",
        examples=[{"01": 0.95, "03": 0.9}],
    )
    double_coding_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of queued items coded blind by two analysts (for Cohen's kappa).",
        examples=[0.05],
    )
    qc_uncertainty: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Uncertainty a quality-control item counts with when the queue is ordered "
        "(model-flagged items count with 1 - confidence), so the sample keeps pace.",
        examples=[0.5],
    )
    sync_lag_seconds: float = Field(
        default=120.0,
        ge=0,
        description="Classifications are re-scanned this far back, for rows committed late.",
        examples=[120.0],
    )
    sync_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Least time between two scans for new classifications.",
        examples=[1.0],
    )

    @field_validator("section_thresholds")
    @classmethod
    def _known_sections(cls, value: dict[str, float]) -> dict[str, float]:
        sections = {c.code for c in load_taxonomy().sections()}
        for section, threshold in value.items():
            if section not in sections:
                raise ValueError(f"unknown ICCS section {section!r}")
            if not 0 <= threshold <= 1:
                raise ValueError(f"threshold for section {section} must be in [0, 1]")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ICCS_", env_file=".env", extra="ignore", populate_by_name=True
    )

    env: Environment = Field(
        default="production",
        description="development relaxes the start-up checks (no API key needed to start).",
        examples=["production", "development"],
    )
    model_path: Path | None = Field(
        default=None,
        description="Bundle to serve; default: the champion under models/.",
        examples=["models/iccs-classifier/20261206-134009"],
    )
    models_dir: Path | None = Field(
        default=None, description="Where bundles and CHAMPION live.", examples=["models"]
    )
    default_top_k: int = Field(
        default=3, ge=1, le=20, description="Suggestions returned when a request names no top_k."
    )
    reload_poll_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often each worker checks whether another worker reloaded the model "
        "(0 = never; fine with one worker).",
        examples=[2.0],
    )

    # persistence
    data_dir: Path = Field(
        default=PROJECT_ROOT / "var",
        description="Folder for the embedded SQLite database, batch files and the development key.",
        examples=["/var/lib/iccs"],
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file `<data_dir>/iccs.db`.",
        examples=["postgresql+psycopg://iccs@db:5432/iccs"],
    )
    migrate_on_start: bool = Field(
        default=True, description="Apply Alembic migrations when the app starts."
    )
    retention_days: int = Field(
        default=90,
        ge=1,
        description="Classifications (case text included) older than this are purged.",
        examples=[90],
    )

    # limits
    max_text_chars: int = Field(
        default=MAX_TEXT_CHARS,
        ge=1,
        validation_alias=AliasChoices("ICCS_MAX_TEXT_CHARS", "ICCS_BATCH_MAX_TEXT_LENGTH"),
        description="Longest text accepted, over HTTP and in batch jobs alike (characters); "
        "ICCS_BATCH_MAX_TEXT_LENGTH is the old batch-only name, still read.",
        examples=[10_000],
    )
    max_items: int = Field(default=1_000, ge=1, description="Most texts in one request.")
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest request body accepted."
    )
    rate_limit_per_minute: int = Field(
        default=1_200, ge=0, description="Requests per API key per minute (0 = no limit)."
    )
    rate_limit_burst: int = Field(
        default=100, ge=1, description="Requests a key may send at once before the rate applies."
    )
    auth_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a verified key is trusted without asking the database again; "
        "also the longest a revoked key keeps working.",
    )

    # sections, each read from its own prefix
    http: HttpSettings = Field(default_factory=HttpSettings, description="The HTTP batcher.")
    memory: MemorySettings = Field(
        default_factory=MemorySettings, description="The decision memory."
    )
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description="Logs.")
    jobs: BatchSettings = Field(default_factory=BatchSettings, description="Batch jobs.")
    reviews: ReviewSettings = Field(default_factory=ReviewSettings, description="Review queue.")

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'iccs.db'}"

    @property
    def batches_dir(self) -> Path:
        """Uploaded files and results, one folder per job; workers must see the same folder."""
        return self.data_dir / "batches"

    @property
    def is_development(self) -> bool:
        return self.env == "development"


@lru_cache
def get_settings() -> Settings:
    return Settings()
