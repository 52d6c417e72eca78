"""Correspondence tables: a jurisdiction's national offence codes mapped to ICCS.

One row per (scheme, national code). A drafted row points at the stored classification whose
review item analysts work on (`review_item_id`, SET NULL when the retention purge deletes it);
an imported row is validated from the start. National titles are statute wording, not case
text, so the rows are kept after the purge.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, Timestamp, utcnow

ENTRY_STATES = ("draft", "validated")
ENTRY_ORIGINS = ("draft", "import")


class CorrespondenceEntry(Base):
    __tablename__ = "correspondence_entries"
    __table_args__ = (UniqueConstraint("scheme", "national_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme: Mapped[str] = mapped_column(String(100), index=True)
    national_code: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    status: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    origin: Mapped[str] = mapped_column(String(20), default="draft")
    iccs_code: Mapped[str | None] = mapped_column(String(10), default=None)  # validated code
    proposed_code: Mapped[str | None] = mapped_column(String(10), default=None)  # the model's
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    review_item_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("classifications.id", ondelete="SET NULL"), default=None, index=True
    )
    validator: Mapped[str | None] = mapped_column(String(300), default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)

    @property
    def text(self) -> str:
        """What the model reads for this code: its title, then its description."""
        return f"{self.title}. {self.description}" if self.description else self.title
