"""Online backup and restore of the SQLite database (SQLite's backup API).

The backup copies the live file page by page while the service keeps running, so it is a
consistent snapshot without stopping anything. PostgreSQL has its own tools (pg_dump and
pg_restore; see service/README.md).
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from service.db.migrate import alembic_config

logger = logging.getLogger(__name__)

_PAGES_PER_STEP = 4096  # writers get the database back between steps


class BackupError(RuntimeError):
    """The backup or restore cannot be done as asked (not SQLite, not a backup, ...)."""


def sqlite_file(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            f"{parsed.get_backend_name()} database: use pg_dump / pg_restore (service/README.md)"
        )
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return Path(parsed.database)


def backup(url: str, target: Path) -> int:
    """Copy the live database to `target` (atomically: a partial copy never has its name).

    Returns the size in bytes.
    """
    source = sqlite_file(url)
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(partial)) as copy:
        live.backup(copy, pages=_PAGES_PER_STEP)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    partial.replace(target)
    size = target.stat().st_size
    logger.info("backed up %s to %s (%d bytes)", source, target, size)
    return size


def backup_revision(path: Path) -> str:
    """The schema revision a backup file is at; refuses a file that is no service database."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            if connection.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise BackupError(f"{path} is damaged (quick_check failed)")
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a service database backup ({exc})") from None
    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    revisions = sorted(row[0] for row in rows)
    unknown = [revision for revision in revisions if revision not in known]
    if unknown:
        raise BackupError(
            f"{path} is at revision {', '.join(unknown)}, which this version does not know: "
            "restore it with the version that made it"
        )
    return ", ".join(revisions) or "base"


def restore(url: str, source: Path) -> str:
    """Replace the live database's content with the backup's; returns the backup's revision.

    Stop the service and workers first: their cached state (review queue position, keys)
    would not match the restored data. Newer migrations are applied afterwards by the caller.
    """
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    revision = backup_revision(source)
    target = sqlite_file(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as copy, closing(sqlite3.connect(target)) as live:
        copy.backup(live)
    logger.info("restored %s from %s (revision %s)", target, source, revision)
    return revision
