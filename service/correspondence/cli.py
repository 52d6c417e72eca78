"""`iccs correspondence draft|import|export`: correspondence tables from the command line.

They work on the service's database (`ICCS_DATABASE_URL`, else the SQLite file under
`ICCS_DATA_DIR`), migrated first, exactly as the HTTP endpoints do.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from service.correspondence.tables import NationalRow, TableColumns, TableError, read_table

correspondence_app = typer.Typer(
    help="Correspondence tables: national offence codes mapped to ICCS.", no_args_is_help=True
)

SchemeOption = Annotated[str, typer.Option(help="Name of the national scheme, e.g. EC-COIP.")]
CodeColumn = Annotated[str, typer.Option(help="Column of the national codes.")]
TitleColumn = Annotated[str, typer.Option(help="Column of the national titles.")]
DescriptionColumn = Annotated[str, typer.Option(help="Column of the descriptions (optional).")]


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _fail(message: str) -> typer.Exit:
    _say(f"error: {message}")
    return typer.Exit(2)


def _read(path: Path, columns: TableColumns, with_iccs: bool) -> list[NationalRow]:
    if not path.is_file():
        raise _fail(f"file not found: {path}")
    try:
        return read_table(path.read_bytes(), columns, with_iccs)
    except TableError as exc:
        for row in exc.rows:
            _say(f"  row {row['row']}: {'; '.join(row['errors'])}")
        raise _fail(str(exc)) from None


def _check(scheme: str) -> None:
    from service.correspondence.store import SchemeError, check_scheme

    try:
        check_scheme(scheme)
    except SchemeError as exc:
        raise _fail(str(exc)) from None


@correspondence_app.command("draft")
def draft(
    national: Annotated[Path, typer.Argument(metavar="NATIONAL.csv", help="The national list.")],
    scheme: SchemeOption,
    code_column: CodeColumn = "national_code",
    title_column: TitleColumn = "title",
    description_column: DescriptionColumn = "description",
    model: Annotated[Path | None, typer.Option(help="Bundle (default: champion).")] = None,
) -> None:
    """Propose ICCS codes for every national code and queue them for validation."""
    from iccs.bundle import BundleError, champion_path
    from iccs.predict import classify_texts
    from service.cli import _database
    from service.correspondence import store
    from service.decision_memory import load_predictor
    from service.model_holder import load_served_model
    from service.reviews.queue import enqueue_new_classifications

    _check(scheme)
    rows = _read(national, TableColumns(code_column, title_column, description_column), False)
    settings, database = _database()
    bundle = model or champion_path()
    if bundle is None:
        raise _fail("no model: train one with `iccs train`")
    try:
        served = load_served_model(bundle)
    except BundleError as exc:
        raise _fail(str(exc)) from None
    predictor = load_predictor(database, served.classifier)
    with database.sessionmaker() as session:
        summary = store.draft(
            session,
            served,
            scheme,
            rows,
            suggest=lambda texts, k, langs: classify_texts(
                predictor, texts, langs, top_k=k, versions=served.versions
            ),
        )
        enqueue_new_classifications(session, settings.reviews)
    _say(
        f"drafted {summary.drafted} national codes of {scheme} ({summary.already_present} "
        f"already in the table); review them on /review (batch {summary.source})"
    )


@correspondence_app.command("import")
def import_(
    table: Annotated[Path, typer.Argument(metavar="TABLE.csv", help="A validated table.")],
    scheme: SchemeOption,
    code_column: CodeColumn = "national_code",
    title_column: TitleColumn = "title",
    description_column: DescriptionColumn = "description",
    iccs_column: Annotated[str, typer.Option(help="Column of the ICCS codes.")] = "iccs_code",
    validator: Annotated[str, typer.Option(help="Recorded as the validator.")] = "import",
) -> None:
    """Load an already validated table; a bad row refuses the whole file."""
    from service.cli import _database
    from service.correspondence import store

    _check(scheme)
    columns = TableColumns(code_column, title_column, description_column, iccs_column)
    rows = _read(table, columns, True)
    _, database = _database()
    with database.sessionmaker() as session:
        summary = store.import_table(session, scheme, rows, validator)
    _say(
        f"imported {len(rows)} rows into {scheme} ({summary.added} new, {summary.updated} replaced)"
    )


@correspondence_app.command("export")
def export(
    scheme: SchemeOption,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV file (default: stdout).")
    ] = None,
) -> None:
    """Write the table: national code, title, ICCS code, level, its title, status, validator,
    comment."""
    from service.cli import _database
    from service.correspondence import store

    _check(scheme)
    _, database = _database()
    with database.sessionmaker() as session:
        rows = store.export(session, scheme)
    if not rows:
        raise _fail(f"no correspondence table {scheme}")
    if output is None:
        store.export_csv(rows, sys.stdout)
        return
    with output.open("w", newline="", encoding="utf-8") as handle:
        store.export_csv(rows, handle)
    _say(f"wrote {len(rows)} rows to {output}")
