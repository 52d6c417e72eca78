"""Output writers (JSONL, CSV/TSV, Parquet, Excel) and the reject file, all resumable.

Each writer works on a `.partial` file (or parts folder) next to the output and renames it into
place only when the run is complete, so a half-written output never looks finished. Excel output
is written as CSV into `.partial` and turned into the workbook at the end (a workbook cannot be
appended to). `state()`
says how much is safely written; `open(state)` truncates back to it, which drops whatever an
interrupted run wrote after its last checkpoint: the final file has every row exactly once.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from json.encoder import encode_basestring as _quote  # C speed-up: 20x json.dumps on ids
from pathlib import Path
from typing import IO, Any

from iccs.bulk.formats import Chunk, Format, InputError, printable
from iccs.bulk.outcomes import Outcome
from iccs.tags import TAGS

TAG_COLUMNS = [f"tag_{tag}" for tag in TAGS]


class ResumeError(RuntimeError):
    """A checkpoint that does not match what is on disk or what was asked."""


REJECT_TEXT_CHARS = 1000  # the reject file holds the start of a text, not 50 MB of it
REJECT_ID_CHARS = 200


def result_columns(top_k: int, with_titles: bool = False) -> list[str]:
    columns: list[str] = []
    for i in range(1, top_k + 1):
        titles = [f"iccs_title_{i}"] if with_titles else []
        columns += [f"iccs_code_{i}", *titles, f"confidence_{i}"]
    return [*columns, "needs_review", "model_version", *TAG_COLUMNS]


def complete_output(output: Path, fmt: Format) -> None:
    """Put the finished `.partial` in place (as a workbook for Excel output)."""
    partial = partial_path(output)
    if fmt != "xlsx":
        os.replace(partial, output)
        return
    from iccs.bulk.xlsx import write_workbook

    writing = output.with_name(output.name + ".writing")
    with partial.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, [])
        numbers = [i for i, name in enumerate(header) if name.startswith("confidence_")]
        write_workbook(writing, header, rows, number_columns=numbers)
    os.replace(writing, output)
    partial.unlink()


def partial_path(output: Path) -> Path:
    return output.with_name(output.name + ".partial")


def _open_at(path: Path, offset: int | None) -> IO[str]:
    """A text file for appending: new when `offset` is None, else cut back to `offset` bytes."""
    if offset is None:
        return path.open("w", encoding="utf-8", newline="")
    if not path.is_file() or path.stat().st_size < offset:
        raise ResumeError(f"cannot resume: {path} is missing or shorter than its checkpoint")
    with path.open("r+b") as raw:
        raw.truncate(offset)
    return path.open("a", encoding="utf-8", newline="")


class OutputWriter:
    """Writes result rows for one output format."""

    def __init__(
        self,
        output: Path,
        fmt: Format,
        columns: list[str],
        top_k: int,
        version: str,
        arrow_schema: Any = None,
        delimiter: str = ",",
        titles: dict[str, str] | None = None,
    ) -> None:
        self.output, self.format, self.columns, self.top_k = output, fmt, columns, top_k
        self.version, self.arrow_schema = version, arrow_schema
        self.delimiter = "\t" if fmt == "tsv" else "," if fmt == "xlsx" else delimiter
        self.titles = titles
        self.partial = partial_path(output)
        self._handle: IO[str] | None = None
        self._parts = 0
        self._blank = ("",) * ((3 if titles is not None else 2) * top_k)

    @property
    def needs_rows(self) -> bool:
        """CSV and Parquet output keep every input column, so the reader must pass them on."""
        return self.format != "jsonl"

    # ---- lifecycle --------------------------------------------------------------------------
    def open(self, state: dict[str, Any] | None) -> None:
        if self.format == "parquet":
            self._open_parquet(state)
            return
        self._handle = _open_at(self.partial, None if state is None else int(state["offset"]))
        if state is None and self.format != "jsonl":
            header = [*self.columns, *result_columns(self.top_k, self.titles is not None)]
            csv.writer(self._handle, delimiter=self.delimiter).writerow(header)

    def state(self) -> dict[str, Any]:
        """Flush to the operating system and say how much is written."""
        if self.format == "parquet":
            return {"parts": self._parts}
        assert self._handle is not None
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return {"offset": self._handle.tell()}

    def finish(self) -> None:
        if self.format == "parquet":
            self._merge_parts()
        elif self._handle is not None:
            self._handle.close()
            self._handle = None
        complete_output(self.output, self.format)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    # ---- rows -------------------------------------------------------------------------------
    def write(self, chunk: Chunk, outcomes: list[Outcome | None]) -> None:
        if self.format == "jsonl":
            self._write_jsonl(chunk, outcomes)
        elif self.format == "parquet":
            self._write_parquet(chunk, outcomes)
        else:
            self._write_csv(chunk, outcomes)

    def _write_jsonl(self, chunk: Chunk, outcomes: list[Outcome | None]) -> None:
        assert self._handle is not None
        dumps, lines = json.dumps, []
        for position, (row_id, outcome) in enumerate(zip(chunk.ids, outcomes, strict=True)):
            if outcome is None:
                record = {
                    "id": row_id,
                    "suggestions": [],
                    "needs_review": True,
                    "model_version": self.version,
                    "tags": [],
                    "rejected": chunk.rejects.get(position, "rejected"),
                }
                lines.append(dumps(record, ensure_ascii=False))
            else:
                quoted = (
                    _quote(row_id) if type(row_id) is str else dumps(row_id, ensure_ascii=False)
                )
                lines.append('{"id": ' + quoted + ", " + outcome.json_tail)
        lines.append("")
        self._handle.write("\n".join(lines))

    def _write_csv(self, chunk: Chunk, outcomes: list[Outcome | None]) -> None:
        assert chunk.rows is not None
        rejected = (*self._blank, "true", self.version, *[""] * len(TAG_COLUMNS))
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.delimiter)
        writer.writerows(
            [*values, *(rejected if outcome is None else outcome.csv_cells)]
            for values, outcome in zip(chunk.rows, outcomes, strict=True)
        )
        assert self._handle is not None
        self._handle.write(buffer.getvalue())

    # ---- Parquet: one part file per write, merged into one file at the end -------------------
    @property
    def _parts_dir(self) -> Path:
        return self.output.with_name(self.output.name + ".parts")

    def _open_parquet(self, state: dict[str, Any] | None) -> None:
        import pyarrow as pa

        if state is None:
            shutil.rmtree(self._parts_dir, ignore_errors=True)
        self._parts_dir.mkdir(parents=True, exist_ok=True)
        self._parts = 0 if state is None else int(state["parts"])
        for extra in self._parts_dir.glob("part-*.parquet"):
            if int(extra.stem.split("-")[1]) >= self._parts:
                extra.unlink()  # written after the last checkpoint
        if any(not self._part(i).is_file() for i in range(self._parts)):
            raise ResumeError(f"cannot resume: parts are missing in {self._parts_dir}")
        given = {f.name: f.type for f in self.arrow_schema} if self.arrow_schema else {}
        fields = [pa.field(c, given.get(c, pa.string())) for c in self.columns]
        per_code = result_columns(self.top_k, self.titles is not None)[: -2 - len(TAG_COLUMNS)]
        for name in per_code:
            kind = pa.float64() if name.startswith("confidence_") else pa.string()
            fields.append(pa.field(name, kind))
        fields += [pa.field("needs_review", pa.bool_()), pa.field("model_version", pa.string())]
        fields += [pa.field(name, pa.string()) for name in TAG_COLUMNS]
        self._schema = pa.schema(fields)

    def _part(self, index: int) -> Path:
        return self._parts_dir / f"part-{index:06d}.parquet"

    def _write_parquet(self, chunk: Chunk, outcomes: list[Outcome | None]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        assert chunk.rows is not None
        data: dict[str, list[Any]] = {}
        typed = {f.name for f in self.arrow_schema} if self.arrow_schema else set()
        for index, name in enumerate(self.columns):
            values = [row[index] for row in chunk.rows]
            data[name] = values if name in typed else [_as_text(v) for v in values]
        for i in range(self.top_k):
            codes = [o.codes[i] if o is not None and i < len(o.codes) else None for o in outcomes]
            data[f"iccs_code_{i + 1}"] = codes
            if self.titles is not None:
                data[f"iccs_title_{i + 1}"] = [self.titles.get(c or "") for c in codes]
            data[f"confidence_{i + 1}"] = [
                o.confidences[i] if o is not None and i < len(o.codes) else None for o in outcomes
            ]
        data["needs_review"] = [True if o is None else o.needs_review for o in outcomes]
        data["model_version"] = [self.version] * len(outcomes)
        for index, name in enumerate(TAG_COLUMNS):
            data[name] = [(o.tag_values[index] or None) if o else None for o in outcomes]
        table = pa.Table.from_pydict(data, schema=self._schema)
        pq.write_table(table, self._part(self._parts))
        self._parts += 1

    def _merge_parts(self) -> None:
        import pyarrow.parquet as pq

        with pq.ParquetWriter(self.partial, self._schema) as writer:
            for index in range(self._parts):
                writer.write_table(pq.read_table(self._part(index)))
        shutil.rmtree(self._parts_dir, ignore_errors=True)


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class RejectWriter:
    """One line per rejected row; the file appears with the first reject.

    Long texts are cut to their first REJECT_TEXT_CHARS characters (the header says so, and
    `text_length` gives the full length), so a 50 MB text is not copied whole.
    """

    header = ("row", "id", "reason", "text_length", f"text (first {REJECT_TEXT_CHARS} characters)")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None
        self.offset = 0

    def open(self, offset: int | None) -> None:
        if offset:
            self._handle = _open_at(self.path, offset)
            self.offset = offset
        elif self.path.exists():
            self.path.unlink()

    def write(self, chunk: Chunk) -> None:
        if not chunk.rejects:
            return
        if self._handle is None:
            try:
                self._handle = self.path.open("w", encoding="utf-8", newline="")
            except OSError as exc:
                raise InputError(f"cannot write the reject file {self.path}: {exc}") from None
            csv.writer(self._handle).writerow(self.header)
        writer = csv.writer(self._handle)
        for position, reason in sorted(chunk.rejects.items()):
            text = chunk.texts[position]
            row_id = printable(str(chunk.ids[position])[:REJECT_ID_CHARS])
            writer.writerow(
                [chunk.start + position + 1, row_id, reason, len(text), text[:REJECT_TEXT_CHARS]]
            )

    def state(self) -> int:
        if self._handle is not None:
            self._handle.flush()
            self.offset = self._handle.tell()
        return self.offset

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
