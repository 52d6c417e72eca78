"""Settings of the batch jobs (env `ICCS_BATCH_*`), apart from the service's own settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.config import Settings


class BatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICCS_BATCH_", env_file=".env", extra="ignore")

    lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A running job whose worker has not renewed its lease for this long is "
        "taken over by another worker and resumed from its checkpoint.",
    )
    poll_seconds: float = Field(default=1.0, gt=0, description="Idle worker's wait between polls.")
    checkpoint_seconds: float = Field(
        default=2.0, ge=0, description="Longest time between checkpoints of a running job."
    )
    chunk_size: int = Field(default=8192, ge=1, description="Rows read at a time.")
    max_text_length: int = Field(
        default=10_000, ge=1, description="Longer texts are rejected (characters)."
    )
    in_service_worker: bool | None = Field(
        default=None,
        description="Run a worker thread inside the service; default: in development mode only.",
    )


def batches_dir(settings: Settings) -> Path:
    """Uploaded files and results, one folder per job; workers must see the same folder."""
    return settings.data_dir / "batches"
