"""Classify a file of records: stream it in chunks, classify each distinct text once.

Output is one JSON object per input row, in input order: `{"id", "suggestions": [{"code",
"title", "level", "confidence"}], "needs_review", "model_version"}`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from iccs.classifier import ICCSClassifier
from iccs.serving import prediction_record
from iccs.text import normalize


class InputError(ValueError):
    """An input that cannot be read as asked (wrong format, missing column)."""


@dataclass(frozen=True)
class Row:
    id: str
    text: str


def _read_csv(handle: TextIO, id_column: str, text_column: str, delimiter: str) -> Iterator[Row]:
    reader = csv.DictReader(handle, delimiter=delimiter)
    missing = [c for c in (id_column, text_column) if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(
            f"column(s) {', '.join(missing)} not found; the file has: "
            f"{', '.join(reader.fieldnames or [])}"
        )
    for record in reader:
        yield Row(record[id_column], record[text_column] or "")


def _read_jsonl(handle: TextIO, id_column: str, text_column: str) -> Iterator[Row]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number} is not JSON: {exc.msg}") from None
        if id_column not in record or text_column not in record:
            raise InputError(f"line {number} lacks '{id_column}' or '{text_column}'")
        yield Row(str(record[id_column]), str(record[text_column] or ""))


def read_rows(path: Path, id_column: str, text_column: str) -> Iterator[Row]:
    suffix = path.suffix.lower()
    with path.open(encoding="utf-8", newline="") as handle:
        if suffix in {".jsonl", ".ndjson"}:
            yield from _read_jsonl(handle, id_column, text_column)
        elif suffix in {".csv", ".tsv", ".txt"}:
            yield from _read_csv(handle, id_column, text_column, "\t" if suffix == ".tsv" else ",")
        else:
            raise InputError(f"unsupported input format {suffix!r}: use .csv, .tsv or .jsonl")


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def classify_file(
    model: ICCSClassifier,
    version: str,
    source: Path,
    output: Path,
    id_column: str = "id",
    text_column: str = "text",
    top_k: int = 3,
    chunk_size: int = 2048,
) -> dict[str, Any]:
    """Write the JSONL output; return a small summary (rows, distinct texts)."""
    cache: dict[str, dict[str, Any]] = {}
    rows_done = 0
    with output.open("w", encoding="utf-8") as out:
        for chunk in _chunks(read_rows(source, id_column, text_column), chunk_size):
            keys = [normalize(r.text) for r in chunk]
            todo = list(dict.fromkeys(k for k in keys if k and k not in cache))
            first_text = {k: r.text for k, r in zip(keys, chunk, strict=True)}
            for key, prediction in zip(
                todo, model.suggest([first_text[k] for k in todo], top_k=top_k), strict=True
            ):
                cache[key] = prediction_record(prediction, version)
            for row, key in zip(chunk, keys, strict=True):
                record = cache.get(key) or {
                    "suggestions": [],
                    "needs_review": True,
                    "model_version": version,
                }
                out.write(json.dumps({"id": row.id, **record}, ensure_ascii=False) + "\n")
            rows_done += len(chunk)
    return {"rows": rows_done, "distinct_texts": len(cache)}
