"""Tags (disaggregating variables) as the API shows them: the model's and the analysts'."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TagOut(BaseModel):
    tag: str = Field(
        description="cyber, attempt, weapon or context (see datasets/LABELLING.md section 10).",
        examples=["cyber"],
    )
    value: str = Field(
        description="The tag's value; `unknown` when the text does not settle it.",
        examples=["cyber_enabled"],
    )
    confidence: float = Field(
        description="Calibrated probability of the value, 0-1.", examples=[0.93]
    )


TAGS_FIELD_DESCRIPTION = (
    "One entry per tag (cyber, attempt, weapon, context) with the model's value and confidence; "
    "empty when the model has no tag model."
)
