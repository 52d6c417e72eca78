"""`iccs classify`: code a whole file (CSV, TSV, JSONL, Parquet, Excel), resumably, in one command.

Kept apart from iccs/cli.py because it carries most of the command line's options; it is
registered on the core app there. Heavy imports happen inside the command.
"""

from __future__ import annotations

import enum
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from iccs.text import MAX_TEXT_CHARS

logger = logging.getLogger(__name__)
err_console = Console(stderr=True)


class Engine(enum.StrEnum):
    local = "local"
    ray = "ray"


class TitleLanguage(enum.StrEnum):
    en = "en"
    es = "es"
    ko = "ko"


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def classify(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="CSV, TSV, JSONL, Parquet or .xlsx file.")
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Output file: .jsonl, .csv, .tsv, .parquet or .xlsx."),
    ],
    id_column: Annotated[str, typer.Option(help="Column holding the record id.")] = "id",
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    top_k: Annotated[int, typer.Option(min=1, max=20, help="Suggestions per record.")] = 3,
    model: Annotated[Path | None, typer.Option(help="Bundle folder (default: champion).")] = None,
    input_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Input format when the extension does not say: csv, tsv, jsonl, parquet, xlsx.",
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            help="CSV field separator: ',', ';', '|' or tab (default: sniffed from the header)."
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Text encoding of the input, e.g. cp1252 (default: UTF-8, or as its BOM says)."
        ),
    ] = None,
    titles: Annotated[
        TitleLanguage | None,
        typer.Option(help="Add code titles in this language to CSV, Excel or Parquet output."),
    ] = None,
    output_format: Annotated[
        str | None, typer.Option(help="Output format when the extension does not say.")
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Where rejected rows go (default: <output>.rejects.csv)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run from its checkpoint.")
    ] = False,
    engine: Annotated[
        Engine, typer.Option(help="local: this process; ray: a Ray cluster (or local Ray).")
    ] = Engine.local,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: start Ray here).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Ray actors (default: one per CPU).")
    ] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Rows read at a time.")] = 8192,
    max_text_length: Annotated[
        int, typer.Option(min=1, help="Longer texts are rejected (characters).")
    ] = MAX_TEXT_CHARS,
    checkpoint_every: Annotated[
        float, typer.Option(min=0.0, help="Seconds between checkpoints.")
    ] = 2.0,
    scheme: Annotated[
        str | None,
        typer.Option(help="Correspondence table whose validated national codes are used."),
    ] = None,
    national_code_column: Annotated[
        str | None, typer.Option(help="Column holding each row's national offence code.")
    ] = None,
) -> None:
    """Classify every row of a file; the output has every input row once, in input order.

    JSONL output: one object per row, its "id" then the record every path shares
    ("suggestions" with code, title, level, path and confidence, "needs_review", "backed_off",
    "fallback", "tags", "model_version", "taxonomy_version", "source").
    CSV/Excel/Parquet output: every input column, then iccs_code_1, [iccs_title_1,]
    confidence_1, ..., needs_review, model_version. CSV output keeps a CSV input's separator.
    With ICCS_DATABASE_URL set, the model consults the memory of validated decisions, and rows
    whose --national-code-column code is validated in --scheme's table get that code (source
    "correspondence").
    """
    from iccs.bulk import BulkJob, Cancelled, InputError, LocalSuggester, ResumeError, run_bulk
    from iccs.bulk.csv_records import DialectError, parse_delimiter
    from iccs.bulk.progress import BarProgress, LogProgress, ProgressReporter
    from iccs.bundle import BundleError
    from iccs.memory import decision_source
    from iccs.serving import load_default_model, model_version, taxonomy_version

    if (scheme is None) != (national_code_column is None):
        raise _fail("--scheme and --national-code-column go together")
    if input_path.resolve() == output.resolve():
        raise _fail("the output must not be the input file")
    if output.is_dir():
        raise _fail(f"{output} is a folder; give the output file, e.g. {output / 'results.csv'}")
    if not output.parent.is_dir():
        raise _fail(f"output folder not found: {output.parent}")
    try:
        delimiter = parse_delimiter(delimiter)
    except DialectError as exc:
        raise _fail(str(exc)) from None
    job = BulkJob(
        input=input_path,
        output=output,
        model_version="",
        id_column=id_column,
        text_column=text_column,
        top_k=top_k,
        input_format=input_format,
        output_format=output_format,
        rejects=rejects,
        chunk_size=chunk_size,
        max_text_length=max_text_length,
        checkpoint_seconds=checkpoint_every,
        resume=resume,
        delimiter=delimiter,
        encoding=encoding,
        titles=titles.value if titles else None,
        national_code_column=national_code_column,
    )
    try:
        from iccs.bulk.formats import ColumnError, InputReader, detect_format

        if detect_format(output, output_format) == "jsonl" and titles is not None:
            raise _fail(
                "--titles is for CSV, TSV, Excel and Parquet output; JSONL suggestions carry "
                "their titles already (Spanish for Spanish texts, else English)"
            )
        # Open the input once before loading the model: wrong columns fail in a second.
        fmt = detect_format(input_path, input_format)
        InputReader(
            input_path,
            fmt,
            id_column,
            text_column,
            delimiter=delimiter,
            encoding=encoding,
            code_column=national_code_column,
        ).close()
    except ColumnError as exc:
        raise _fail(f"{exc} (use --id-column / --text-column / --national-code-column)") from None
    except InputError as exc:
        raise _fail(str(exc)) from None
    try:
        classifier, metadata = load_default_model(model)
    except BundleError as exc:
        raise _fail(str(exc)) from None
    job.model_version = model_version(metadata)
    job.taxonomy_version = taxonomy_version(metadata)
    decisions = decision_source()
    if scheme is not None:
        if decisions is None:
            raise _fail("--scheme needs the service database: set ICCS_DATABASE_URL")
        job.validated = decisions.validated_codes(scheme)
        if not job.validated:
            err_console.print(f"note: no validated national codes in {scheme}", highlight=False)
    predictor = classifier if decisions is None else decisions.predictor(classifier)
    if engine is Engine.ray:
        from iccs.bulk.ray_engine import RaySuggester

        suggester: LocalSuggester | RaySuggester = RaySuggester(
            predictor, address=address, workers=workers
        )
    else:
        suggester = LocalSuggester(predictor)
    progress: ProgressReporter = BarProgress() if sys.stderr.isatty() else LogProgress()
    try:
        summary = run_bulk(job, suggester, progress=progress)
    except (InputError, ResumeError) as exc:
        raise _fail(str(exc)) from None
    except (KeyboardInterrupt, Cancelled):
        err_console.print(
            "interrupted; run the same command with --resume to continue from the last checkpoint",
            highlight=False,
        )
        raise typer.Exit(130) from None
    finally:
        suggester.close()
    _print_summary(summary, output, job.rejects_path)


def _print_summary(summary: object, output: Path, rejects_path: Path) -> None:
    from iccs.bulk import Summary
    from iccs.codes import code_title
    from iccs.taxonomy import load_taxonomy

    assert isinstance(summary, Summary)
    taxonomy = load_taxonomy()
    print_ = err_console.print
    if summary.resumed_after:
        print_(
            f"resumed after row {summary.resumed_after:,} (done by the interrupted run); "
            "the figures cover the whole file",
            highlight=False,
        )
    print_(
        f"classified {summary.rows:,} rows ({summary.distinct_texts:,} distinct texts) -> {output}",
        highlight=False,
        soft_wrap=True,
    )
    if summary.rejected:
        print_(f"rejected {summary.rejected:,} rows -> {rejects_path}", highlight=False)
    print_(
        f"needs review {summary.review_share:.1%} · {summary.seconds:.1f} s · "
        f"{summary.rows_per_second:,.0f} rows/s",
        highlight=False,
    )
    classified = max(summary.rows - summary.rejected, 1)
    if summary.sections:
        print_("by ICCS section:", highlight=False)
    titles = {section: code_title(taxonomy, section) for section in summary.sections}
    width = max(map(len, titles.values()), default=0)  # whole names, never cut
    for section, count in sorted(summary.sections.items()):
        print_(
            f"  {section:<4} {titles[section]:<{width}} {count:>10,} {count / classified:6.1%}",
            highlight=False,
            soft_wrap=True,
        )
