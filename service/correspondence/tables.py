"""Reading a national code list or a validated correspondence table from CSV.

Columns are found by name (renamable), so a country's own export can be used as it is. A table
with a bad row is refused whole, with every bad row's number (the header is row 1), so nothing
is half-imported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from iccs.hierarchy import NONE_CODE
from iccs.language import guess_language
from iccs.taxonomy import CodeError, load_taxonomy

MAX_REPORTED_ERRORS = 100


@dataclass(frozen=True)
class TableColumns:
    """Column names of the input file."""

    code: str = "national_code"
    title: str = "title"
    description: str = "description"
    iccs: str = "iccs_code"
    comment: str = "comment"


@dataclass(frozen=True)
class NationalRow:
    row: int  # line of the file (the header is row 1)
    national_code: str
    title: str
    description: str | None
    language: str | None
    iccs_code: str | None = None
    comment: str | None = None

    @property
    def text(self) -> str:
        return f"{self.title}. {self.description}" if self.description else self.title


class TableError(ValueError):
    """A file that cannot be read as a code list, with the bad rows when there are some."""

    def __init__(self, message: str, rows: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.rows = rows or []


def canonical_iccs(raw: str) -> str:
    """`NONE` or the canonical ICCS code; raises CodeError for anything else."""
    if raw.strip().upper() == NONE_CODE:
        return NONE_CODE
    return load_taxonomy().normalize(raw)


def _language(text: str) -> str | None:
    guess = guess_language(text)
    return None if guess == "other" else guess


def read_table(data: bytes, columns: TableColumns, with_iccs: bool) -> list[NationalRow]:
    """Every row of the file, or TableError naming the rows that are wrong."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TableError("the file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    needed = [columns.code, columns.title] + ([columns.iccs] if with_iccs else [])
    missing = [c for c in needed if c not in header]
    if missing:
        raise TableError(f"missing columns: {', '.join(missing)} (found: {', '.join(header)})")
    rows: list[NationalRow] = []
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        code = (record.get(columns.code) or "").strip()
        title = (record.get(columns.title) or "").strip()
        problems = []
        if not code:
            problems.append("empty national code")
        elif code in seen:
            problems.append(f"national code repeated (first on row {seen[code]})")
        if not title:
            problems.append("empty title")
        iccs: str | None = None
        if with_iccs:
            raw = (record.get(columns.iccs) or "").strip()
            try:
                iccs = canonical_iccs(raw)
            except CodeError:
                problems.append(f"not an ICCS code: {raw[:20]!r}")
        if problems:
            errors.append({"row": line, "errors": problems})
            continue
        seen[code] = line
        description = (record.get(columns.description) or "").strip() or None
        comment = (record.get(columns.comment) or "").strip() or None
        rows.append(NationalRow(line, code, title, description, _language(title), iccs, comment))
    if errors:
        raise TableError(
            f"{len(errors)} bad rows; nothing was imported", errors[:MAX_REPORTED_ERRORS]
        )
    if not rows:
        raise TableError("the file has no rows")
    return rows
