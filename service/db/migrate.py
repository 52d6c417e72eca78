"""Run the Alembic migrations from code (start-up, `iccs db upgrade`, tests)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant will do: it makes concurrent start-ups on PostgreSQL migrate one at a time.
_PG_MIGRATION_LOCK = 0x1CC5


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Upgrade to every head, so migrations added on parallel branches all apply.

    Nothing happens (and nothing is logged) when the schema is already there: `iccs serve`
    migrates once, before its workers start, and the workers then only check.
    """
    if revision == "heads" and is_up_to_date(engine):
        return
    if not logger.isEnabledFor(logging.DEBUG):
        logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per step otherwise
    before = current_heads(engine)
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    logger.info(
        "database schema migrated from %s to %s",
        ", ".join(before) or "empty",
        ", ".join(current_heads(engine)) or "base",
    )


def current_heads(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def is_up_to_date(engine: Engine) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return set(current_heads(engine)) == heads
