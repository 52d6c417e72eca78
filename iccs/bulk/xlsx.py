"""Excel workbooks (`.xlsx`) in and out, streamed with openpyxl's read-only and write-only modes.

Input cells become text exactly as a CSV export would give them, so an `.xlsx` behaves like the
CSV of the same sheet. Output cells are written as text, never as formulas: a case text starting
with `=` must not run in the analyst's spreadsheet (formula injection).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

EXCEL_MAX_ROWS = 1_048_576  # per sheet, header included; longer output continues on a new sheet
EXCEL_MAX_CELL_CHARS = 32_767


class WorkbookError(ValueError):
    """A file that is not a readable `.xlsx` workbook."""


def cell_text(value: Any) -> str:
    """A cell as the text a CSV export holds: 7 not 7.0, dates in ISO form, empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


class WorkbookReader:
    """The first worksheet's rows as text; the first row is the header."""

    def __init__(self, path: Path) -> None:
        from openpyxl import load_workbook

        try:
            self._workbook = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise WorkbookError(f"{path} is not a readable .xlsx workbook ({exc})") from None
        if not self._workbook.worksheets:
            raise WorkbookError(f"{path} has no worksheet")
        sheet = self._workbook.worksheets[0]
        self.total_rows = max(int(sheet.max_row or 0) - 1, 0)  # data rows, for progress
        self._rows: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
        header = [cell_text(v).strip() for v in next(self._rows, ())]
        while header and not header[-1]:
            header.pop()
        self.header = header

    def rows(self) -> Iterator[tuple[list[str], int]]:
        """Each non-empty data row as text, fit to the header's width, with its width: empty
        cells at the end are just empty, but cells beyond the header make the row too wide."""
        width = len(self.header)
        for values in self._rows:
            cells = [cell_text(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            if not cells:
                continue  # an empty row is not a record
            yield (cells + [""] * width)[:width], max(len(cells), width)

    def close(self) -> None:
        self._workbook.close()


def _safe_text(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return str(ILLEGAL_CHARACTERS_RE.sub("", value))[:EXCEL_MAX_CELL_CHARS]


def write_workbook(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    number_columns: Iterable[int] = (),
) -> int:
    """Write rows under `header`; cells in `number_columns` as numbers, the rest as text.

    Returns the number of data rows written.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    numbers = set(number_columns)
    workbook = Workbook(write_only=True)
    sheet: Any = None
    count = sheet_rows = 0

    def new_sheet() -> Any:
        title = "results" if sheet is None else f"results {len(workbook.worksheets) + 1}"
        created = workbook.create_sheet(title)
        created.append([_text_cell(created, name) for name in header])
        return created

    def _text_cell(owner: Any, value: str) -> Any:
        cell = WriteOnlyCell(owner, value=_safe_text(value))
        cell.data_type = "s"  # never a formula, whatever the text starts with
        return cell

    for row in rows:
        if sheet is None or sheet_rows >= EXCEL_MAX_ROWS - 1:
            sheet, sheet_rows = new_sheet(), 0
        cells = []
        for index, value in enumerate(row):
            if index in numbers and value not in (None, ""):
                cells.append(float(value))
            else:
                cells.append(_text_cell(sheet, cell_text(value)))
        sheet.append(cells)
        sheet_rows += 1
        count += 1
    if sheet is None:
        new_sheet()
    workbook.save(path)
    return count
