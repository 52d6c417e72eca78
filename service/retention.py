"""Retention: classifications hold case text (personal data) and are deleted when they expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.db.base import utcnow
from service.db.models import Classification


def cutoff(retention_days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=retention_days)


def expired_count(session: Session, before: datetime) -> int:
    query = select(func.count()).select_from(Classification)
    return int(session.scalar(query.where(Classification.created_at < before)) or 0)


def purge_classifications(session: Session, before: datetime) -> int:
    """Delete classifications created before `before`; returns how many (caller commits)."""
    result = session.execute(delete(Classification).where(Classification.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
