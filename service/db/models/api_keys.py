from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, false
from sqlalchemy.orm import Mapped, mapped_column

from service.agencies import DEFAULT_AGENCY
from service.db.base import Base, Timestamp, utcnow


class ApiKey(Base):
    """A client's key. Only its SHA-256 is stored; `prefix` identifies it in listings."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
    # The ICCS_ENV the key was created under (None: made before this was recorded).
    environment: Mapped[str | None] = mapped_column(String(20), default=None)
    # Whose data the key stores and sees (service.agencies); `cross_agency`: every agency's.
    agency: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_AGENCY, server_default=DEFAULT_AGENCY, index=True
    )
    cross_agency: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
