"""Alembic environment: uses the caller's connection when there is one, else ICCS settings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

import service.db.models  # noqa: F401  (registers every table on Base.metadata)
from service.db.base import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE on SQLite
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    if config.config_file_name:  # the alembic CLI: let alembic.ini configure logging
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    from service.config import get_settings
    from service.db.database import make_engine

    engine = make_engine(get_settings().sqlalchemy_url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_online()
