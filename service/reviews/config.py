"""Settings of the review queue (env `ICCS_REVIEW_*`), apart from the service's own settings."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from iccs.taxonomy import load_taxonomy


class ReviewSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICCS_REVIEW_", env_file=".env", extra="ignore")

    qc_rate: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Share of auto-coded records sampled for quality control, so that the "
        "autocoding error rate is measured rather than assumed.",
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
    )
    qc_uncertainty: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Uncertainty a quality-control item counts with when the queue is ordered "
        "(model-flagged items count with 1 - confidence), so the sample keeps pace.",
    )
    sync_lag_seconds: float = Field(
        default=120.0,
        ge=0,
        description="Classifications are re-scanned this far back, for rows committed late.",
    )
    sync_interval_seconds: float = Field(
        default=1.0, ge=0, description="Least time between two scans for new classifications."
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
