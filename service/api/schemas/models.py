from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ModelInfo(BaseModel):
    model_version: str = Field(
        description="name:version, as stored with every classification.",
        examples=["iccs-classifier:20251126-101500"],
    )
    name: str = Field(examples=["iccs-classifier"])
    version: str = Field(examples=["20251126-101500"])
    data_version: str | None = Field(description="Training corpus version.", examples=["a1b2c3"])
    taxonomy_version: str = Field(examples=["ICCS-1.0-2015"])
    created: str | None = Field(
        description="When it was trained.", examples=["2025-11-26T10:15:00+00:00"]
    )
    loaded_at: datetime = Field(description="When this process loaded it.")
    review_threshold: float = Field(
        description="First suggestions below this confidence need review.", examples=[0.82]
    )
    metrics: dict[str, Any] = Field(
        description="Evaluation figures from the model card (dev and test splits)."
    )


class ReloadResult(BaseModel):
    previous_version: str | None = Field(examples=["iccs-classifier:20251120-090000"])
    model_version: str = Field(examples=["iccs-classifier:20251126-101500"])
    changed: bool = Field(description="False when the champion was already being served.")
