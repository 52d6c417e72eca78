"""Streaming readers for bulk input: CSV, TSV, JSONL and Parquet, one bounded chunk at a time.

A reader never stops on a bad row: it marks it rejected with a reason and goes on, so one broken
record in a million does not lose the run. It stops at once (InputError) on what makes the whole
file unusable: a missing file, an unreadable header, or columns that are not there.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

Format = Literal["csv", "tsv", "jsonl", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "tsv", "jsonl", "parquet")
_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DEFAULT_MAX_TEXT_LENGTH = 5000

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
            f"unsupported format {override or path.suffix!r}: use .csv, .tsv, .jsonl or .parquet "
            "(or --format)"
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
    """True when decoding hit bytes that are not UTF-8 (kept as lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable(value: str) -> str:
    """Undecodable bytes shown as U+FFFD, so the value can be written as UTF-8."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


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
        code_column: str | None = None,
    ) -> None:
        self.path, self.format = path, fmt
        self.id_column, self.text_column = id_column, text_column
        self.code_column = code_column  # national offence codes (correspondence tables)
        self.chunk_size, self.max_text_length, self.keep_rows = (
            chunk_size,
            max_text_length,
            keep_rows,
        )
        self._keep_values = keep_rows or code_column is not None
        self.columns: list[str] = []
        self.arrow_schema: Any = None  # the Parquet schema, when the input is Parquet
        self._handle: IO[str] | None = None
        self._parquet: Any = None
        self.total_size = 0  # bytes (text formats) or rows (Parquet), for progress
        self.rows_read = 0
        self._open()

    # ---- opening: everything that can make the whole file unusable is checked here ---------
    def _open(self) -> None:
        if not self.path.is_file():
            raise InputError(f"input file not found: {self.path}")
        try:
            if self.format == "parquet":
                self._open_parquet()
            else:
                self._handle = self.path.open(
                    encoding="utf-8-sig", errors="surrogateescape", newline=""
                )
                self.total_size = self.path.stat().st_size
                if self.format == "jsonl":
                    self._peek_jsonl_columns()
                else:
                    self._read_csv_header()
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror or exc}") from None

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
        delimiter = "\t" if self.format == "tsv" else ","
        self._csv = csv.reader(self._handle, delimiter=delimiter)
        try:
            header = next(self._csv, [])
        except csv.Error as exc:
            raise InputError(
                f"{self.path} is not readable as {self.format.upper()}: {exc}"
            ) from None
        if any(_has_bad_bytes(name) for name in header):
            raise InputError(f"{self.path}: the header is not UTF-8 text")
        self.columns = [name.strip() for name in header]
        self._require(self.columns)
        self._id_index = self.columns.index(self.id_column)
        self._text_index = self.columns.index(self.text_column)

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

    def chunks(self, skip: int = 0) -> Iterator[Chunk]:
        records = (
            self._parquet_records()
            if self.format == "parquet"
            else self._jsonl_records()
            if self.format == "jsonl"
            else self._csv_records()
        )
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
                continue
            if reason is None and len(text) > self.max_text_length:
                reason = f"text longer than {self.max_text_length} characters"
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
        width, id_at, text_at, keep = (
            len(self.columns),
            self._id_index,
            self._text_index,
            self._keep_values,
        )
        reader = self._csv
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield "", "", f"malformed CSV record: {exc}", [""] * width if keep else []
                continue
            if not fields:
                continue  # a blank line is not a record
            reason: str | None = None
            if len(fields) != width:
                reason = f"expected {width} fields, found {len(fields)}"
                fields = (fields + [""] * width)[:width]
            row_id, text = fields[id_at], fields[text_at]
            if _has_bad_bytes("".join(fields)):
                reason = reason or "undecodable bytes (not UTF-8)"
                fields = [printable(v) for v in fields]
                row_id, text = fields[id_at], fields[text_at]
            elif reason is None and (not text or text.isspace()):
                reason = "missing text"
            yield row_id, text, reason, fields if keep else []

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
        self._parquet = None

    def __enter__(self) -> InputReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
