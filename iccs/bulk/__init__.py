"""Bulk classification of case backlogs: stream a file, classify each distinct text once.

`run_bulk` is the engine behind `iccs classify` and the service's batch jobs; `classify_file` is
the original one-call API (JSONL output, in-process model) kept for existing callers.
"""

from __future__ import annotations

from pathlib import Path

from iccs.bulk.checkpoint import Checkpoint, CheckpointStore, FileCheckpointStore, ReviewRow
from iccs.bulk.formats import FORMATS, InputError, detect_format
from iccs.bulk.outcomes import LocalSuggester, Outcome, Suggester
from iccs.bulk.runner import BulkJob, Cancelled, run_bulk
from iccs.bulk.summary import Summary
from iccs.bulk.writers import ResumeError
from iccs.classifier import ICCSClassifier

__all__ = [
    "FORMATS",
    "BulkJob",
    "Cancelled",
    "Checkpoint",
    "CheckpointStore",
    "FileCheckpointStore",
    "InputError",
    "LocalSuggester",
    "Outcome",
    "ResumeError",
    "ReviewRow",
    "Suggester",
    "Summary",
    "classify_file",
    "detect_format",
    "run_bulk",
]


def classify_file(
    model: ICCSClassifier,
    version: str,
    source: Path,
    output: Path,
    id_column: str = "id",
    text_column: str = "text",
    top_k: int = 3,
    chunk_size: int = 8192,
) -> Summary:
    """Classify `source` into `output` with the model in this process; returns the summary."""
    job = BulkJob(
        input=source,
        output=output,
        model_version=version,
        id_column=id_column,
        text_column=text_column,
        top_k=top_k,
        chunk_size=chunk_size,
        taxonomy_version=model.taxonomy.version,
    )
    return run_bulk(job, LocalSuggester(model))
