from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.agencies import DEFAULT_AGENCY
from service.db.base import Base, JSONType, Timestamp, utcnow

BATCH_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED_STATES = ("succeeded", "failed", "cancelled")


class Batch(Base):
    """A bulk classification job: an uploaded file, its progress and its resume point.

    Holds no case text (the uploaded file lives under `<data_dir>/batches/<id>/` and is deleted
    when the job ends); rows needing review are stored as `classifications` with
    `source = id`. `checkpoint` is the bulk engine's resume point, saved in the same transaction
    as those rows, so a crash neither loses nor doubles any of them.
    """

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), index=True, default="queued")
    filename: Mapped[str] = mapped_column(String(255))
    input_format: Mapped[str] = mapped_column(String(10))
    id_column: Mapped[str] = mapped_column(String(200))
    text_column: Mapped[str] = mapped_column(String(200))
    top_k: Mapped[int] = mapped_column(Integer)
    scheme: Mapped[str | None] = mapped_column(String(100), default=None)  # correspondence
    national_code_column: Mapped[str | None] = mapped_column(String(200), default=None)
    rows_total: Mapped[int | None] = mapped_column(Integer, default=None)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_need_review: Mapped[int] = mapped_column(Integer, default=0)
    distinct_texts: Mapped[int] = mapped_column(Integer, default=0)
    reject_reasons: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # processing time, all attempts
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    model_version: Mapped[str | None] = mapped_column(String(200), default=None)
    taxonomy_version: Mapped[str | None] = mapped_column(String(50), default=None)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)  # never case text
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_id: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    # The agency of the key that submitted it (service.agencies): only that agency sees it.
    agency: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_AGENCY, server_default=DEFAULT_AGENCY, index=True
    )
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
