from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from service.agencies import DEFAULT_AGENCY
from service.db.base import Base, JSONType, Timestamp, utcnow


class Classification(Base):
    """What the service suggested for one text, kept for review until the retention purge.

    `text` is personal data: it is deleted with the row by `iccs purge`. Tables that refer to
    classifications must use `ondelete="CASCADE"` (or SET NULL) so the purge can delete them.
    """

    __tablename__ = "classifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[str | None] = mapped_column(String(200), index=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    top_code: Mapped[str] = mapped_column(String(10), index=True)
    # [{"tag", "value", "confidence"}]; None for rows from before tags or a model without them
    tags: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, default=None)
    confidence: Mapped[float] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, index=True)
    model_version: Mapped[str] = mapped_column(String(200))
    taxonomy_version: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(100), default="api", index=True)
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    # The agency of the key that stored it (service.agencies): only that agency sees it.
    agency: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_AGENCY, server_default=DEFAULT_AGENCY, index=True
    )
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)
