"""Persistence: SQLAlchemy 2 engine and sessions, declarative models, Alembic migrations."""

from service.db.base import Base
from service.db.database import Database

__all__ = ["Base", "Database"]
