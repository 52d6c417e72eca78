"""All service settings, read once from the environment (`ICCS_*`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from iccs.paths import PROJECT_ROOT

Environment = Literal["development", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICCS_", env_file=".env", extra="ignore")

    env: Environment = Field(
        default="production",
        description="development relaxes the start-up checks (no API key needed to start).",
    )
    model_path: Path | None = Field(
        default=None, description="Bundle to serve; default: the champion under models/."
    )
    models_dir: Path | None = Field(default=None, description="Where bundles and CHAMPION live.")
    default_top_k: int = Field(default=3, ge=1, le=20)

    batch_max_texts: int = Field(
        default=64,
        ge=0,
        description="Concurrent requests are classified together up to this many texts "
        "(0 = no batching); larger requests run on their own.",
    )

    reload_poll_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often each worker checks whether another worker reloaded the model "
        "(0 = never; fine with one worker).",
    )

    # persistence
    data_dir: Path = Field(
        default=PROJECT_ROOT / "var",
        description="Folder for the embedded SQLite database and the development key.",
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
    )

    # decision memory (validated correspondence rows and analysts' decisions)
    memory_enabled: bool = Field(
        default=True,
        description="Consult the memory of validated decisions when classifying.",
    )
    memory_refresh_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often each process checks the database for new decisions or imports "
        "(0 = on every request).",
    )

    # limits
    max_text_chars: int = Field(default=10_000, ge=1, description="Longest text accepted.")
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

    # logs
    log_level: LogLevel = Field(
        default="INFO",
        description="Least severe log level written (DEBUG also shows Alembic's migration steps).",
        examples=["INFO", "DEBUG"],
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: plain lines; json: one JSON object per line (time, level, logger, "
        "message, request_id; request lines add method, route, status, latency_ms).",
        examples=["json"],
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'iccs.db'}"

    @property
    def is_development(self) -> bool:
        return self.env == "development"


@lru_cache
def get_settings() -> Settings:
    return Settings()
