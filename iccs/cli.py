"""The `iccs` command line: the project's one front door.

The core owns `iccs taxonomy ...`; `training` and `service` plug their commands in through the
`iccs.commands` entry-point group, so the core never imports them.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Annotated, cast

import typer
from rich.console import Console

from iccs.cli_classify import classify
from iccs.search import SearchLanguage, search
from iccs.taxonomy import CodeError, Language, load_taxonomy

app = typer.Typer(
    name="iccs",
    help="Code offence texts to the UN International Classification of Crime (ICCS v1.0).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
taxonomy_app = typer.Typer(help="Browse the ICCS v1.0 taxonomy.", no_args_is_help=True)
app.add_typer(taxonomy_app, name="taxonomy")
app.command("classify")(classify)
console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error on stderr and return the exit to raise."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


@taxonomy_app.command("show")
def taxonomy_show(
    code: Annotated[str, typer.Argument(help="ICCS code, e.g. 020111, ICCS020111 or 20111.")],
    language: Annotated[str, typer.Option(help="en or es.")] = "en",
) -> None:
    """Print a code's path, definition, inclusions, exclusions and children."""
    taxonomy = load_taxonomy()
    try:
        category = taxonomy.get(code)
    except CodeError as exc:
        raise fail(str(exc)) from None
    lang: Language = "es" if language == "es" else "en"
    path = taxonomy.path(category.code)
    trail = " > ".join(c.code for c in path)
    console.print(f"{trail} {category.title(lang)}", highlight=False)
    console.print(f"level: {category.level_name}", highlight=False)
    description = category.description_es if lang == "es" else category.description_en
    if description:
        console.print(f"\n{description}", highlight=False)
    for label, items in (
        ("Inclusions", category.inclusions_es if lang == "es" else category.inclusions_en),
        ("Exclusions", category.exclusions_es if lang == "es" else category.exclusions_en),
    ):
        if items:
            console.print(f"\n{label}:", highlight=False)
            for item in items:
                console.print(f"  - {item}", highlight=False)
    children = taxonomy.children(category.code)
    if children:
        console.print("\nChildren:", highlight=False)
        for child in children:
            console.print(f"  {child.code} {child.title(lang)}", highlight=False)


@taxonomy_app.command("search")
def taxonomy_search(
    text: Annotated[str, typer.Argument(help="Words or a code, in English, Spanish or Korean.")],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    language: Annotated[
        str, typer.Option("--language", "-l", help="Language of the titles shown: en, es or ko.")
    ] = "en",
) -> None:
    """Codes by relevance: titles, inclusions, index and legal terms, definitions and the
    labelled corpus's texts, in English, Spanish and Korean."""
    if language not in ("en", "es", "ko"):
        raise fail(f"--language must be en, es or ko, not {language!r}")
    hits = search(text, limit=limit, language=cast(SearchLanguage, language))
    if not hits:
        raise fail(f"nothing matches {text!r}", code=1)
    for hit in hits:
        console.print(f"{hit.code:<7} {hit.title}  [dim]({hit.score:.2f})[/dim]", highlight=False)


def _register_plugins() -> None:
    for entry in entry_points(group="iccs.commands"):
        try:
            entry.load()(app)
        except ImportError as exc:  # a partial install still serves the taxonomy commands
            logging.getLogger(__name__).debug("command group %s unavailable: %s", entry.name, exc)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _register_plugins()
    app(prog_name="iccs")


if __name__ == "__main__":  # pragma: no cover
    main()
