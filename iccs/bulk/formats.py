"""Streaming readers for bulk input (CSV, TSV, JSONL, Parquet, Excel), one bounded chunk at a time.

A reader never stops on a bad row: it marks it rejected with a reason and goes on, so one broken
record in a million does not lose the run. It stops at once (InputError) on what makes the whole
file unusable: a missing file, an unreadable header, or columns that are not there.
CSV dialects are sniffed in `csv_records`; `.xlsx` workbooks are read in `xlsx`.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from iccs.bulk.csv_records import BrokenRecord, DialectError, read_records, sniff_delimiter
from iccs.bulk.csv_records import sniff_encoding as _sniff_encoding
from iccs.text import MAX_TEXT_CHARS

Format = Literal["csv", "tsv", "jsonl", "parquet", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "tsv", "jsonl", "parquet", "xlsx")
_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}
DEFAULT_MAX_TEXT_LENGTH = MAX_TEXT_CHARS

# Large enough for any over-long text to be read and then rejected with a reason, instead of
# the csv module raising on the whole row.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class InputError(ValueError):
    """An input that cannot be read at all (missing file, wrong columns, unreadable header)."""


class ColumnError(InputError):
    """The id or text column named is not in the file."""


def detect_format(path: Path, override: str | None = None) -> Format:
    """The format named by `override`, else the one the file extension says."""
    name = (override or "").lower() or _EXTENSIONS.get(path.suffix.lower())
    if name not in FORMATS:
        raise InputError(
            f"unsupported format {override or path.suffix!r}: use .csv, .tsv, .jsonl, .parquet "
            "or .xlsx (or --format)"
        )
    return name


@dataclass
class Chunk:
    """Consecutive input rows. `start` is the 0-based index of the first data row in the file.

    `rows` holds each row's values for every input column (in `InputReader.columns` order) and is
    filled only when the output needs them (CSV and Parquet output keep every input column).
    """

    start: int
    ids: list[Any] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    rejects: dict[int, str] = field(default_factory=dict)  # position in chunk -> reason
    rows: list[list[Any]] | None = None
    national_codes: list[str] | None = None  # when the reader has a national code column

    def __len__(self) -> int:
        return len(self.ids)


def _has_bad_bytes(value: str) -> bool:
    """True when decoding hit bytes the encoding does not cover (kept as lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unstorable_reason(text: str, row_id: Any) -> str | None:
    """Why a row cannot be classified and stored (NUL, lone surrogate), or None.

    No database keeps a NUL in text (PostgreSQL refuses it) and a lone surrogate cannot be
    encoded: one such row is rejected instead of failing the whole file.
    """
    for what, value in (("text", text), ("id", row_id)):
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            return f"{what} contains a NUL character"
        if _has_bad_bytes(value):
            return f"{what} contains a lone surrogate"
    return None


def printable(value: str) -> str:
    """Undecodable bytes (and lone surrogates) shown as U+FFFD, so the value can be written."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)


def _printable_row(text: str, row_id: Any, values: list[Any]) -> tuple[str, Any, list[Any]]:
    def fix(value: Any) -> Any:
        return printable(value) if isinstance(value, str) else value

    return printable(text), fix(row_id), [fix(v) for v in values]


class InputReader:
    """Reads one input file as chunks; `skip` rows at the start are read past, not returned."""

    def __init__(
        self,
        path: Path,
        fmt: Format,
        id_column: str,
        text_column: str,
        chunk_size: int = 8192,
        max_text_length: int = DEFAULT_MAX_TEXT_LENGTH,
        keep_rows: bool = False,
        delimiter: str | None = None,
        encoding: str | None = None,
        code_column: str | None = None,
    ) -> None:
        self.path, self.format = path, fmt
        self.delimiter, self.encoding = delimiter, encoding  # sniffed when None (CSV, TSV)
        self.id_column, self.text_column = id_column, text_column
        self.chunk_size, self.max_text_length, self.keep_rows = (
            chunk_size,
            max_text_length,
            keep_rows,
        )
        self.code_column = code_column  # national offence codes (correspondence tables)
        self._keep_values = keep_rows or code_column is not None
        self.columns: list[str] = []
        self.arrow_schema: Any = None  # the Parquet schema, when the input is Parquet
        self._handle: IO[str] | None = None
        self._parquet: Any = None
        self._workbook: Any = None
        self.total_size = 0  # bytes (text formats) or rows (Parquet), for progress
        self.rows_read = 0
        self._open()

    # ---- opening: everything that can make the whole file unusable is checked here ---------
    def _open(self) -> None:
        if self.path.is_dir():
            raise InputError(f"{self.path} is a folder; give the input file itself")
        if not self.path.is_file():
            raise InputError(f"input file not found: {self.path}")
        try:
            if self.format == "parquet":
                self._open_parquet()
            elif self.format == "xlsx":
                self._open_workbook()
            else:
                encoding = _sniff_encoding(self.path, self.encoding)
                self.encoding = encoding
                self._handle = self.path.open(
                    encoding=encoding, errors="surrogateescape", newline=""
                )
                self.total_size = self.path.stat().st_size
                if self.format == "jsonl":
                    self._peek_jsonl_columns()
                else:
                    self._read_csv_header()
        except DialectError as exc:
            raise InputError(str(exc)) from None
        except UnicodeError as exc:
            raise InputError(f"{self.path} is not {self._encoding_name} text: {exc}") from None
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror or exc}") from None

    @property
    def _encoding_name(self) -> str:
        return "UTF-8" if self.encoding in (None, "utf-8", "utf-8-sig") else str(self.encoding)

    def _require(self, columns: list[str]) -> None:
        wanted = [self.id_column, self.text_column] + (
            [self.code_column] if self.code_column else []
        )
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise ColumnError(
                f"column(s) {', '.join(repr(c) for c in missing)} not found; the file has: "
                f"{', '.join(repr(c) for c in columns) or 'no columns'}"
            )

    def _read_csv_header(self) -> None:
        assert self._handle is not None
        first_line = self._handle.readline()
        if self.delimiter is None:
            default = "\t" if self.format == "tsv" else ","
            self.delimiter = sniff_delimiter(
                first_line, default, (self.id_column, self.text_column)
            )
        try:
            header = next(csv.reader([first_line], delimiter=self.delimiter), [])
        except csv.Error as exc:
            raise InputError(
                f"{self.path} is not readable as {self.format.upper()}: {exc}"
            ) from None
        if any(_has_bad_bytes(name) for name in header):
            raise InputError(
                f"{self.path}: the header is not {self._encoding_name} text (use --encoding)"
            )
        self.columns = [name.strip() for name in header]
        self._require(self.columns)
        self._id_index = self.columns.index(self.id_column)
        self._text_index = self.columns.index(self.text_column)

    def _open_workbook(self) -> None:
        from iccs.bulk.xlsx import WorkbookError, WorkbookReader

        try:
            self._workbook = WorkbookReader(self.path)
        except WorkbookError as exc:
            raise InputError(str(exc)) from None
        self.columns = self._workbook.header
        self._require(self.columns)
        self._id_index = self.columns.index(self.id_column)
        self._text_index = self.columns.index(self.text_column)
        self.total_size = self._workbook.total_rows

    def _peek_jsonl_columns(self) -> None:
        """Columns from the first parseable record; the stream is rewound afterwards."""
        assert self._handle is not None
        for line in self._handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                self.columns = [str(k) for k in record]
                break
        self._handle.seek(0)
        if not self.columns:
            raise InputError(f"{self.path} holds no JSON object lines")
        self._require(self.columns)

    def _open_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            self._parquet = pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, pa.ArrowException) as exc:
            raise InputError(f"{self.path} is not a readable Parquet file: {exc}") from None
        self.arrow_schema = self._parquet.schema_arrow
        self.columns = list(self.arrow_schema.names)
        self._require(self.columns)
        self.total_size = self._parquet.metadata.num_rows

    # ---- reading ----------------------------------------------------------------------------
    def position(self) -> int:
        """How far into `total_size` the reader is (bytes, or rows for Parquet)."""
        if self._handle is not None:
            return int(self._handle.buffer.tell())  # type: ignore[attr-defined]
        return self.rows_read

    def chunks(
        self, skip: int = 0, on_skipped: Callable[[str], None] | None = None
    ) -> Iterator[Chunk]:
        """Chunks from row `skip` on; `on_skipped` gets the text of each valid row skipped."""
        records = {
            "parquet": self._parquet_records,
            "jsonl": self._jsonl_records,
            "xlsx": self._workbook_records,
        }.get(self.format, self._csv_records)()
        code_at = self.columns.index(self.code_column) if self.code_column else None

        def new_chunk(start: int) -> Chunk:
            return Chunk(
                start=start,
                rows=[] if self.keep_rows else None,
                national_codes=[] if code_at is not None else None,
            )

        chunk = new_chunk(skip)
        for index, (row_id, text, reason, values) in enumerate(records):
            if index < skip:
                if on_skipped is not None and reason is None and len(text) <= self.max_text_length:
                    on_skipped(text)
                continue
            if reason is None and len(text) > self.max_text_length:
                reason = f"text longer than {self.max_text_length} characters"
            if reason is None and (reason := unstorable_reason(text, row_id)) is not None:
                text, row_id, values = _printable_row(text, row_id, values)
            if reason is not None:
                chunk.rejects[len(chunk.ids)] = reason
            chunk.ids.append(row_id)
            chunk.texts.append(text)
            if chunk.rows is not None:
                chunk.rows.append(values)
            if chunk.national_codes is not None and code_at is not None:
                code = values[code_at] if values else None
                chunk.national_codes.append("" if code is None else str(code).strip())
            if len(chunk.ids) >= self.chunk_size:
                self.rows_read = index + 1
                yield chunk
                chunk = new_chunk(index + 1)
        self.rows_read = chunk.start + len(chunk)
        if chunk.ids:
            yield chunk

    # Each record generator yields (id, text, reject reason or None, all values or []).
    def _csv_records(self) -> Iterator[tuple[Any, str, str | None, list[Any]]]:
        assert self._handle is not None and self.delimiter is not None
        width, id_at, keep = len(self.columns), self._id_index, self._keep_values
        for fields in read_records(iter(self._handle), self.delimiter, width, id_at):
            if isinstance(fields, BrokenRecord):
                cells = [printable(c) for c in (fields.cells + [""] * width)[:width]]
                yield cells[id_at], cells[self._text_index], fields.reason, cells if keep else []
                continue
            if not fields:
                continue  # a blank line is not a record
            yield self._checked(fields, len(fields))

    def _workbook_records(self) -> Iterator[tuple[Any, str, str | None, list[Any]]]:
        for cells, found in self._workbook.rows():
            yield self._checked(cells, found)

    def _checked(self, fields: list[str], found: int) -> tuple[Any, str, str | None, list[Any]]:
        """(id, text, reason, values) for one row of text cells; `found` is its real width."""
        width, id_at, text_at = len(self.columns), self._id_index, self._text_index
        reason: str | None = None
        if found != width:
            reason = f"expected {width} fields, found {found}"
            fields = (fields + [""] * width)[:width]
        row_id, text = fields[id_at], fields[text_at]
        if _has_bad_bytes("".join(fields)):
            hint = "name the encoding, e.g. cp1252"
            reason = reason or f"undecodable bytes (not {self._encoding_name}; {hint})"
            fields = [printable(v) for v in fields]
            row_id, text = fields[id_at], fields[text_at]
        elif reason is None and (not text or text.isspace()):
            reason = "missing text"
        return row_id, text, reason, fields if self._keep_values else []

    def _jsonl_records(self) -> Iterator[tuple[Any, str, str | None, list[Any]]]:
        assert self._handle is not None
        columns, keep = self.columns, self._keep_values
        for line in self._handle:
            if not line.strip():
                continue
            if _has_bad_bytes(line):
                yield "", "", "undecodable bytes (not UTF-8)", [None] * len(columns) if keep else []
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield "", "", f"not JSON: {exc.msg}", [None] * len(columns) if keep else []
                continue
            if not isinstance(record, dict):
                yield "", "", "not a JSON object", [None] * len(columns) if keep else []
                continue
            row_id = record.get(self.id_column, "")
            text = record.get(self.text_column)
            reason: str | None = None
            if text is None or (isinstance(text, str) and (not text or text.isspace())):
                reason, text = "missing text", ""
            elif not isinstance(text, str):
                text = str(text)
            yield row_id, text, reason, [record.get(c) for c in columns] if keep else []

    def _parquet_records(self) -> Iterator[tuple[Any, str, str | None, list[Any]]]:
        id_at = self.columns.index(self.id_column)
        text_at = self.columns.index(self.text_column)
        for batch in self._parquet.iter_batches(batch_size=self.chunk_size):
            columns = [column.to_pylist() for column in batch.columns]
            for values in zip(*columns, strict=True):
                text = values[text_at]
                reason: str | None = None
                if text is None or (isinstance(text, str) and (not text or text.isspace())):
                    reason, text = "missing text", ""
                elif not isinstance(text, str):
                    text = str(text)
                yield values[id_at], text, reason, list(values) if self._keep_values else []

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = None
        self._parquet = None

    def __enter__(self) -> InputReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
