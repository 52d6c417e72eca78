"""All service settings, read once from the environment (`ICCS_*`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICCS_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        default="production", description="development relaxes the start-up checks."
    )
    model_path: Path | None = Field(
        default=None, description="Bundle to serve; default: the champion under models/."
    )
    models_dir: Path | None = Field(default=None, description="Where bundles and CHAMPION live.")
    default_top_k: int = Field(default=3, ge=1, le=20)


@lru_cache
def get_settings() -> Settings:
    return Settings()
