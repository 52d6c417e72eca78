"""Service commands of the `iccs` CLI (registered through the `iccs.commands` entry point).

`iccs serve`, `iccs keys create|list|revoke`, `iccs purge`, `iccs db upgrade|backup|restore`.
Messages go to stderr; only what a script wants to capture (a new key) goes to stdout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.agencies import DEFAULT_AGENCY, AgencyError, check_agency
from service.api_keys import ROLES
from service.correspondence.cli import correspondence_app
from service.jobs.cli import worker

if TYPE_CHECKING:
    from service.config import Settings
    from service.db import Database

keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the service database.", no_args_is_help=True)


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _database() -> tuple[Settings, Database]:
    """Settings and a migrated database (commands may run before the service ever started)."""
    from service.config import get_settings
    from service.db import Database
    from service.logs import configure_logging

    settings = get_settings()
    configure_logging(settings)  # ICCS_LOG_LEVEL / ICCS_LOG_FORMAT; Alembic's steps stay out
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    return settings, database


def _development_key(database: Database, data_dir: Path) -> str:
    """The development admin key: reused while it stays valid, so restarts keep it working."""
    from service.api_keys import create_api_key, find_active_key

    key_file = data_dir / "dev-api-key"
    with database.session() as session:
        if key_file.is_file():
            key = key_file.read_text().strip()
            if find_active_key(session, key) is not None:
                return key
        _, key = create_api_key(
            session, "admin", "development", environment="development", cross_agency=True
        )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.touch(mode=0o600)
    key_file.write_text(key + "\n")
    return key


def _available_cores() -> int:
    """The cores this process may run on (a CPU set or container affinity counts, not the
    host's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _share_cores(workers: int) -> None:
    """Each worker's embedders get their share of the cores (ICCS_EMBEDDER_THREADS, unless
    set): two workers of two threads each on two cores stall one another, a 5 ms text then
    taking hundreds of ms whenever a thread is descheduled."""
    from iccs.environment import core_settings

    if core_settings().embedder_threads is None:
        os.environ["ICCS_EMBEDDER_THREADS"] = str(max(1, _available_cores() // workers))


def _prepare_metrics_dir(workers: int, data_dir: Path) -> None:
    """Prometheus multiprocess mode keeps one file per worker there; stale ones would add up.
    With several workers and no folder set, one goes under the data folder so /metrics adds
    every worker up."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        if workers == 1:
            return
        directory = str(data_dir / "prometheus")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # the workers inherit it
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def _page_urls(host: str, port: int) -> list[tuple[str, str]]:
    """What to open in a browser; a wildcard bind address is shown as the local host."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    return [
        ("API docs", f"{base}/docs"),
        ("review queue", f"{base}/review"),
        ("dashboard", f"{base}/dashboard"),
    ]


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.", envvar="ICCS_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="ICCS_PORT")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Worker processes (default: the available cores).", envvar="ICCS_WORKERS"
        ),
    ] = None,
) -> None:
    """Start the HTTP service (migrates the database first)."""
    import uvicorn

    settings, database = _database()  # migrates once, before the workers start
    if settings.is_development:
        key = _development_key(database, settings.data_dir)
        _say(f"development mode; admin API key: {key}")
        _say(f"  curl -H 'Authorization: Bearer {key}' http://{host}:{port}/v1/models/current")
    database.dispose()
    workers = workers or _available_cores()
    _prepare_metrics_dir(workers, settings.data_dir)
    _share_cores(workers)
    for label, url in _page_urls(host, port):
        _say(f"  {label + ':':<14}{url}")
    uvicorn.run(
        "service.app:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.logging.level.lower(),
        log_config=None,  # the service's own handler and format (service/logs.py)
        access_log=False,  # one line per request comes from RequestLogMiddleware instead
    )


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")] = "",
    agency: Annotated[
        str, typer.Option(help="The agency whose data the key stores and sees (a short slug).")
    ] = DEFAULT_AGENCY,
    cross_agency: Annotated[
        bool, typer.Option("--cross-agency", help="Analyst or admin: see every agency's data.")
    ] = False,
) -> None:
    """Create a key and print it, alone, on stdout (it is not shown again)."""
    from service.api_keys import create_api_key

    if role not in ROLES:
        _say(f"error: unknown role {role!r}; one of {', '.join(ROLES)}")
        raise typer.Exit(2)
    try:
        check_agency(agency)
    except AgencyError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(2) from None
    if cross_agency and role == "submitter":
        _say("error: only analyst and admin keys can have the cross-agency grant")
        raise typer.Exit(2)
    settings, database = _database()
    with database.session() as session:
        row, key = create_api_key(
            session, role, name, environment=settings.env, agency=agency, cross_agency=cross_agency
        )
        grant = ", every agency" if row.cross_agency else ""
        _say(f"created {row.role} key {row.prefix}… ({row.name}; agency {row.agency}{grant})")
    database.dispose()
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (prefix, role, agency, name, created, environment, revoked); never the keys.

    The agency is shown as `AGENCY+` for a key with the cross-agency grant."""
    from service.api_keys import list_keys

    _, database = _database()
    with database.session() as session:
        for row in list_keys(session):
            revoked = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            made_in = row.environment or "-"
            agency = row.agency + ("+" if row.cross_agency else "")
            print(
                f"{row.prefix}  {row.role:<9}  {agency:<16}  {row.name}  "
                f"{row.created_at:%Y-%m-%d}  {made_in:<11}  {revoked}"
            )
    database.dispose()


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, as `iccs keys list` shows.")],
) -> None:
    """Revoke a key (running workers stop accepting it within ICCS_AUTH_CACHE_SECONDS)."""
    from service.api_keys import revoke_keys

    _, database = _database()
    with database.session() as session:
        count = revoke_keys(session, prefix)
    database.dispose()
    if not count:
        _say(f"error: no active key with prefix {prefix!r}")
        raise typer.Exit(1)
    _say(f"revoked {count} key(s)")


def purge(
    days: Annotated[
        int | None, typer.Option(min=1, help="Keep this many days (default ICCS_RETENTION_DAYS).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Only count what would be deleted.")] = False,
) -> None:
    """Delete stored classifications (case text included) older than the retention period."""
    from service.retention import cutoff, expired_count, purge_classifications

    settings, database = _database()
    before = cutoff(days or settings.retention_days)
    with database.session() as session:
        if dry_run:
            count = expired_count(session, before)
        else:
            count = purge_classifications(session, before)
    database.dispose()
    verb = "would delete" if dry_run else "deleted"
    _say(f"{verb} {count} classification(s) created before {before:%Y-%m-%d %H:%M} UTC")
    print(count)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (the service also does this when it starts)."""
    from service.db.migrate import current_heads

    _, database = _database()
    _say(f"database at {', '.join(current_heads(database.engine))}")
    database.dispose()


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="File to write the backup to.")],
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Copy the SQLite database while the service runs (PostgreSQL: use pg_dump)."""
    from service.config import get_settings
    from service.db.backup import BackupError, backup

    if path.exists() and not force:
        _say(f"error: {path} exists; use --force to overwrite it")
        raise typer.Exit(1)
    try:
        size = backup(get_settings().sqlalchemy_url, path)
    except BackupError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(2) from None
    _say(f"backed up the database to {path} ({size:,} bytes)")


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A file made by `iccs db backup`.")],
) -> None:
    """Replace the SQLite database with a backup, then migrate it (stop the service first)."""
    from service.config import get_settings
    from service.db import Database
    from service.db.backup import BackupError, restore
    from service.db.migrate import current_heads

    url = get_settings().sqlalchemy_url
    try:
        revision = restore(url, path)
    except BackupError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(2) from None
    database = Database(url)
    database.upgrade()
    _say(
        f"restored {path} (revision {revision}); database now at "
        f"{', '.join(current_heads(database.engine))}"
    )
    database.dispose()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("purge")(purge)
    app.add_typer(keys_app, name="keys")
    app.add_typer(db_app, name="db")
    app.add_typer(correspondence_app, name="correspondence")
    app.command("worker")(worker)
