"""The bulk run: read chunks, classify each distinct text once, write in order, checkpoint.

Rows are held until every distinct text among them is classified (one chunk for the in-process
model, a larger window for Ray, see `Suggester.window_rows`), then written in input order. After
a write the output and reject files are flushed and, at most every `checkpoint_seconds`, their
sizes and the rows done are recorded; a resumed run cuts the files back to the recorded sizes
and skips the rows done, so every input row ends up in the output exactly once. With a national
code column and a validated correspondence table (`BulkJob.validated`), a row whose code the
table has gets that code directly (source `correspondence`, no review) and skips the model.

Distinct texts are counted by the hash of their normalised form (a resumed run hashes the rows
it skips), so the count is the file's, however often the run was interrupted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iccs.bulk.checkpoint import (
    Checkpoint,
    CheckpointStore,
    FileCheckpointStore,
    ReviewRow,
    checkpoint_path,
)
from iccs.bulk.formats import DEFAULT_MAX_TEXT_LENGTH, Chunk, InputReader, detect_format
from iccs.bulk.outcomes import Outcome, OutcomeCache, Suggester, make_outcome
from iccs.bulk.progress import ProgressReporter
from iccs.bulk.summary import Summary
from iccs.bulk.titles import code_titles
from iccs.bulk.writers import (
    OutputWriter,
    RejectWriter,
    ResumeError,
    complete_output,
    partial_path,
)
from iccs.predict import model_key
from iccs.records import Versions, title_language, validated_record
from iccs.taxonomy import TAXONOMY_VERSION
from iccs.text import normalize

logger = logging.getLogger(__name__)


class Cancelled(RuntimeError):
    """The run stopped because `should_stop` said so; its checkpoint is saved."""


@dataclass
class BulkJob:
    input: Path
    output: Path
    model_version: str
    id_column: str = "id"
    text_column: str = "text"
    top_k: int = 3
    input_format: str | None = None
    output_format: str | None = None
    rejects: Path | None = None  # default: <output>.rejects.csv beside the output
    chunk_size: int = 8192
    max_text_length: int = DEFAULT_MAX_TEXT_LENGTH
    checkpoint_seconds: float = 2.0
    resume: bool = False
    delimiter: str | None = None  # CSV input: sniffed from the header when None
    encoding: str | None = None  # text input: from the byte-order mark, else UTF-8, when None
    titles: str | None = None  # add code titles in this language (en, es, ko) to CSV/Excel
    national_code_column: str | None = None
    validated: Mapping[str, str] = field(default_factory=dict)  # national code -> ICCS code
    extra_fingerprint: dict[str, Any] = field(default_factory=dict)
    taxonomy_version: str = TAXONOMY_VERSION  # the model's taxonomy, carried by every record

    @property
    def versions(self) -> Versions:
        return Versions(self.model_version, self.taxonomy_version)

    @property
    def rejects_path(self) -> Path:
        return self.rejects or self.output.with_name(self.output.name + ".rejects.csv")

    def fingerprint(self) -> dict[str, Any]:
        stat = self.input.stat()
        return {
            "input": str(self.input.resolve()),
            "input_size": stat.st_size,
            "input_mtime_ns": stat.st_mtime_ns,
            "input_format": detect_format(self.input, self.input_format),
            "output_format": detect_format(self.output, self.output_format),
            "id_column": self.id_column,
            "text_column": self.text_column,
            "top_k": self.top_k,
            "max_text_length": self.max_text_length,
            "model_version": self.model_version,
            "delimiter": self.delimiter,
            "encoding": self.encoding,
            "titles": self.titles,
            **(
                {"national_code_column": self.national_code_column}
                if self.national_code_column
                else {}
            ),
            **self.extra_fingerprint,
        }


def _resume_point(job: BulkJob, store: CheckpointStore) -> Checkpoint | None:
    if not job.resume:
        store.clear()
        return None
    checkpoint = store.load()
    if checkpoint is None:
        logger.info("no checkpoint found; starting from the first row")
        return None
    expected = job.fingerprint()
    changed = sorted(k for k in expected if checkpoint.fingerprint.get(k) != expected[k])
    if changed:
        raise ResumeError(
            f"cannot resume: {', '.join(changed)} changed since the interrupted run "
            "(run without --resume to start over)"
        )
    return checkpoint


class _Window:
    """Chunks held until their distinct new texts are classified."""

    def __init__(self) -> None:
        self.chunks: list[tuple[Chunk, list[Outcome | None]]] = []
        self.pending: dict[str, list[tuple[int, int]]] = {}  # key -> (chunk, position)
        self.rows = 0

    def add(self, chunk: Chunk, cache: OutcomeCache, table: _Validated) -> None:
        index = len(self.chunks)
        outcomes: list[Outcome | None] = [None] * len(chunk)
        rejects, pending, lookup = chunk.rejects, self.pending, cache.lookup
        codes = chunk.national_codes if table else None
        for position, text in enumerate(chunk.texts):
            if position in rejects:
                continue
            if codes is not None and codes[position] in table:
                outcomes[position] = table.outcome(codes[position], text)
                continue
            found = lookup(text)
            if isinstance(found, str):
                pending.setdefault(found, []).append((index, position))
            else:
                outcomes[position] = found
        self.chunks.append((chunk, outcomes))
        self.rows += len(chunk)

    def resolve(
        self,
        suggester: Suggester,
        cache: OutcomeCache,
        job: BulkJob,
        titles: dict[str, str] | None,
        seen: set[int],
    ) -> int:
        """Classify the pending texts (the first raw text of each key); returns how many of
        them this run had not seen before."""
        if not self.pending:
            return 0
        keys = list(self.pending)
        new = sum(1 for k in keys if hash(k) not in seen)
        seen.update(hash(k) for k in keys)
        first = [self.pending[k][0] for k in keys]
        texts = [self.chunks[c][0].texts[p] for c, p in first]
        records = suggester.records(texts, job.top_k, job.versions)
        for key, record in zip(keys, records, strict=True):
            outcome = make_outcome(record, job.top_k, titles)
            places = self.pending[key]
            for c, p in places:
                self.chunks[c][1][p] = outcome
            cache.add(key, [self.chunks[c][0].texts[p] for c, p in places], outcome)
        return new


class _Validated:
    """Outcomes of rows whose national code the correspondence table has validated: one per
    (national code, titles' language), the language being the text's as for model records."""

    def __init__(self, job: BulkJob, titles: dict[str, str] | None) -> None:
        self.codes, self.job, self.titles = job.validated, job, titles
        self._outcomes: dict[tuple[str, str], Outcome] = {}

    def __bool__(self) -> bool:
        return bool(self.codes)

    def __contains__(self, national: str) -> bool:
        return national in self.codes

    def outcome(self, national: str, text: str) -> Outcome:
        language = model_key(text)[1]
        key = (national, title_language(language))
        found = self._outcomes.get(key)
        if found is None:
            record = validated_record(self.codes[national], self.job.versions, language)
            found = self._outcomes[key] = make_outcome(record, self.job.top_k, self.titles)
        return found


def _review_rows(chunk: Chunk, outcomes: list[Outcome | None]) -> list[ReviewRow]:
    return [
        ReviewRow(chunk.start + p + 1, chunk.ids[p], chunk.texts[p], o)
        for p, o in enumerate(outcomes)
        if o is not None and o.needs_review
    ]


def run_bulk(
    job: BulkJob,
    suggester: Suggester,
    store: CheckpointStore | None = None,
    progress: ProgressReporter | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Summary:
    """Run (or resume) one bulk job to completion; raises Cancelled when stopped on request."""
    store = store or FileCheckpointStore(checkpoint_path(job.output))
    output_format = detect_format(job.output, job.output_format)
    checkpoint = _resume_point(job, store)
    summary = Summary.from_state(checkpoint.summary if checkpoint else {})
    if checkpoint is not None and checkpoint.output and checkpoint.output.get("finished"):
        if partial_path(job.output).exists():
            complete_output(job.output, output_format)
        store.clear()
        return summary
    started, seconds_before = time.monotonic(), summary.seconds
    reader = InputReader(
        job.input,
        detect_format(job.input, job.input_format),
        job.id_column,
        job.text_column,
        chunk_size=job.chunk_size,
        max_text_length=job.max_text_length,
        keep_rows=output_format != "jsonl",
        delimiter=job.delimiter,
        encoding=job.encoding,
        code_column=job.national_code_column,
    )
    titles = code_titles(job.titles) if job.titles and output_format != "jsonl" else None
    table = _Validated(job, titles)
    writer = OutputWriter(
        job.output,
        output_format,
        reader.columns,
        job.top_k,
        job.model_version,
        arrow_schema=reader.arrow_schema,
        delimiter=reader.delimiter if reader.format == "csv" and reader.delimiter else ",",
        titles=titles,
    )
    rejects = RejectWriter(job.rejects_path)
    cache = OutcomeCache()
    rows_done = checkpoint.rows_done if checkpoint else 0
    seen: set[int] = set()  # hashes of the normalised texts met, for the distinct count
    if rows_done:
        summary.resumed_after = rows_done
        logger.info("resuming after row %d of the input", rows_done)
    review: list[ReviewRow] = []
    last_save = time.monotonic()

    def save(finished: bool = False) -> None:
        nonlocal review, last_save
        summary.seconds = seconds_before + time.monotonic() - started
        state = {**writer.state(), "finished": finished}
        store.save(
            Checkpoint(job.fingerprint(), rows_done, state, rejects.state(), summary.to_state()),
            review,
        )
        review, last_save = [], time.monotonic()

    def flush(window: _Window) -> None:
        nonlocal rows_done, review
        summary.distinct_texts += window.resolve(suggester, cache, job, titles, seen)
        for chunk, outcomes in window.chunks:
            writer.write(chunk, outcomes)
            rejects.write(chunk)
            summary.add(chunk, outcomes)
            if store.collects_review_rows:
                review += _review_rows(chunk, outcomes)
            rows_done = chunk.start + len(chunk)
        cache.trim()
        if time.monotonic() - last_save >= job.checkpoint_seconds:
            save()
        if progress is not None:
            progress.update(reader.position(), rows_done)

    try:
        writer.open(checkpoint.output if checkpoint else None)
        rejects.open(checkpoint.rejects_offset if checkpoint else None)
        if checkpoint is None:
            save()
        if progress is not None:
            progress.start(reader.total_size, reader.position(), rows_done)
        window = _Window()
        skipped = (lambda text: seen.add(hash(normalize(text)))) if rows_done else None
        for chunk in reader.chunks(skip=rows_done, on_skipped=skipped):
            window.add(chunk, cache, table)
            if (
                window.rows >= suggester.window_rows
                or len(window.pending) >= suggester.window_texts
            ):
                flush(window)
                window = _Window()
                if should_stop is not None and should_stop():
                    save()
                    raise Cancelled(f"stopped after {rows_done} rows")
        flush(window)
        save(finished=True)
        writer.finish()
        store.clear()
    finally:
        writer.close()
        rejects.close()
        reader.close()
        if progress is not None:
            progress.close()
    summary.seconds = seconds_before + time.monotonic() - started
    return summary
