"""A finished batch's results (stored as JSONL) as the table people download: CSV or Excel.

The JSONL record is the contract; the tables are derived from it on request, one row per input
row: id, each code (with its title when asked), confidence, needs_review, model_version, one
column per tag (empty without a tag model) and the reject reason.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from iccs.bulk.titles import code_titles
from iccs.bulk.writers import result_columns
from iccs.bulk.xlsx import write_workbook
from iccs.tags import TAGS
from service.config import Settings
from service.jobs.runner import RESULTS_FILE

logger = logging.getLogger(__name__)

REJECTED = "rejected"  # batch rows that could not be read or classified
TagKey = tuple[tuple[str, str], ...]  # a record's tags, hashable
ResultCount = tuple[str, bool, TagKey, int]  # first code, needs review, model tags, rows


def results_path(settings: Settings, batch_id: str) -> Path:
    """Where a batch's JSONL results are kept: readers (dashboard, counts) ask here rather than
    knowing the folder layout."""
    return settings.batches_dir / batch_id / RESULTS_FILE


def model_tags(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    """A stored `tags` list as {tag: value}."""
    return {t["tag"]: t["value"] for t in tags or []}


def result_counts(settings: Settings, batch_id: str) -> tuple[ResultCount, ...]:
    """Rows of a finished batch by first code, review flag and tags (empty when it has no
    readable results). The dashboard and the counts report both read these."""
    path = results_path(settings, batch_id)
    try:
        stat = path.stat()
        return _counted(str(path), stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        logger.warning("no readable results for batch %s", batch_id)
        return ()


@lru_cache(maxsize=256)
def _counted(path: str, _mtime_ns: int, _size: int) -> tuple[ResultCount, ...]:
    """Counted once per file: it never changes after the batch, and big batches have millions
    of lines."""
    counts: Counter[tuple[str, bool, TagKey]] = Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            suggestions = record.get("suggestions") or []
            code = suggestions[0]["code"] if suggestions else REJECTED
            tags = tuple(sorted(model_tags(record.get("tags")).items()))
            counts[(code, bool(record.get("needs_review")), tags)] += 1
    return tuple((code, flagged, tags, n) for (code, flagged, tags), n in sorted(counts.items()))


def result_header(top_k: int, with_titles: bool) -> list[str]:
    return ["id", *result_columns(top_k, with_titles), "rejected"]


def result_rows(path: Path, top_k: int, titles: str | None = None) -> Iterator[list[Any]]:
    """One row per JSONL record, cells in `result_header` order."""
    names = code_titles(titles) if titles else None
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            cells: list[Any] = [record["id"]]
            suggestions = record["suggestions"]
            for i in range(top_k):
                found = i < len(suggestions)
                code = suggestions[i]["code"] if found else ""
                cells.append(code)
                if names is not None:
                    cells.append(names.get(code, ""))
                cells.append(suggestions[i]["confidence"] if found else "")
            tags = {t["tag"]: t["value"] for t in record.get("tags", [])}
            cells += [
                "true" if record["needs_review"] else "false",
                record["model_version"],
                *[tags.get(tag, "") for tag in TAGS],
                record.get("rejected", ""),
            ]
            yield cells


def csv_chunks(path: Path, top_k: int, titles: str | None = None) -> Iterator[str]:
    """The results as CSV text, streamed in blocks of 2,000 rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(result_header(top_k, titles is not None))
    for number, cells in enumerate(result_rows(path, top_k, titles), start=1):
        writer.writerow(cells)
        if number % 2000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_results_workbook(path: Path, target: Path, top_k: int, titles: str | None = None) -> None:
    """The results as an .xlsx workbook at `target` (confidences as numbers)."""
    header = result_header(top_k, titles is not None)
    numbers = [i for i, name in enumerate(header) if name.startswith("confidence_")]
    write_workbook(target, header, result_rows(path, top_k, titles), number_columns=numbers)
