from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, Timestamp


class StoreProbe(Base):
    """One row the readiness probe rewrites to learn whether the database accepts writes."""

    __tablename__ = "store_probe"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    probed_at: Mapped[datetime] = mapped_column(Timestamp)
