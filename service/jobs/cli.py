"""`iccs worker`: run batch jobs from the service database until stopped (SIGTERM or Ctrl-C)."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer


def worker(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit when no job is waiting (for scripts).")
    ] = False,
) -> None:
    """Run batch jobs submitted to POST /v1/batches; a stop hands the running job back."""
    from service.config import get_settings
    from service.db import Database
    from service.jobs.worker import BatchWorker
    from service.logs import configure_logging
    from service.model_holder import ModelHolder

    settings = get_settings()
    configure_logging(settings)
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    holder = ModelHolder(settings.model_path, settings.models_dir)
    try:
        model = holder.reload()
    except Exception as exc:
        print(f"error: no model to run batches with: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    runner = BatchWorker(database, settings, settings.jobs, lambda: model)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: runner.stopping.set())
    print(f"batch worker {runner.worker_id} ready (model {model.version})", file=sys.stderr)
    try:
        if until_idle:
            while not runner.stopping.is_set() and runner.run_once() is not None:
                pass
        else:
            runner.run()
    finally:
        database.dispose()
