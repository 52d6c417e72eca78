"""Service commands of the `iccs` CLI (registered through the `iccs.commands` entry point)."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", envvar="ICCS_WORKERS")] = 1,
) -> None:
    """Start the HTTP service."""
    import uvicorn

    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
