from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

BatchState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class BatchOut(BaseModel):
    """A batch job and its progress."""

    id: str = Field(description="Job id.", examples=["5f0c8e9e-0f7a-4d55-9d43-6f1f0f6c9b0e"])
    state: BatchState = Field(description="queued, running, succeeded, failed or cancelled.")
    filename: str = Field(description="Name of the uploaded file.", examples=["backlog_2019.csv"])
    input_format: str = Field(description="csv, tsv, jsonl, parquet or xlsx.", examples=["csv"])
    id_column: str = Field(description="Column holding the record id.", examples=["case_id"])
    text_column: str = Field(description="Column holding the text.", examples=["offence"])
    top_k: int = Field(description="Suggestions per row.", examples=[3])
    rows_total: int | None = Field(
        description="Rows in the file; null until a worker has counted them.", examples=[250000]
    )
    rows_done: int = Field(description="Rows classified and written so far.", examples=[120000])
    rows_rejected: int = Field(description="Rows that could not be classified.", examples=[12])
    rows_need_review: int = Field(
        description="Classified rows the model was unsure about; they are in the review queue.",
        examples=[9400],
    )
    distinct_texts: int = Field(description="Distinct texts classified.", examples=[8100])
    reject_reasons: dict[str, int] = Field(
        description="Rejected rows by reason.", examples=[{"missing text": 10}]
    )
    rows_per_second: float | None = Field(
        description="Processing rate so far; null before the first checkpoint.", examples=[21000.0]
    )
    eta_seconds: float | None = Field(
        description="Estimated seconds left while running; else null.", examples=[6.2]
    )
    cancel_requested: bool = Field(description="A cancel was asked and is being carried out.")
    model_version: str | None = Field(
        description="Model that classifies this job (set when it starts).",
        examples=["iccs-classifier:20251126-1"],
    )
    error: str | None = Field(description="Why the job failed, when it did.", examples=[None])
    agency: str = Field(description="The submitting key's agency.", examples=["met-police"])
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    results_url: str | None = Field(
        description="Where the results are, once the job succeeded.",
        examples=["/v1/batches/5f0c8e9e-0f7a-4d55-9d43-6f1f0f6c9b0e/results"],
    )
