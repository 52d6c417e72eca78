"""Where a bulk run records how far it got, so an interrupted run can resume.

The CLI keeps its checkpoint in a JSON file next to the output; the service keeps it in the
database together with the rows that need review (`CheckpointStore.save` gets them), so both
land in one transaction and none is lost or doubled by a crash.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from iccs.bulk.outcomes import Outcome


@dataclass
class Checkpoint:
    fingerprint: dict[str, Any]  # what the run was asked to do; a resume must match it
    rows_done: int = 0  # input rows fully written (rejected rows included)
    output: dict[str, Any] | None = None  # OutputWriter.state()
    rejects_offset: int = 0
    summary: dict[str, Any] = field(default_factory=dict)  # Summary.to_state()


@dataclass(frozen=True)
class ReviewRow:
    """A row the model was unsure about, for the analysts' review queue."""

    row: int  # 1-based data row in the input
    id: Any
    text: str
    outcome: Outcome


class CheckpointStore(Protocol):
    #: whether `save` wants the rows needing review since the last save
    collects_review_rows: bool

    def load(self) -> Checkpoint | None: ...

    def save(self, checkpoint: Checkpoint, review_rows: list[ReviewRow]) -> None: ...

    def clear(self) -> None: ...


def checkpoint_path(output: Path) -> Path:
    return output.with_name(output.name + ".checkpoint.json")


class FileCheckpointStore:
    """A JSON file replaced atomically (write, fsync, rename) on every save."""

    collects_review_rows = False

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Checkpoint | None:
        if not self.path.is_file():
            return None
        return Checkpoint(**json.loads(self.path.read_text(encoding="utf-8")))

    def save(self, checkpoint: Checkpoint, review_rows: list[ReviewRow]) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(asdict(checkpoint), handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
