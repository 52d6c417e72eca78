"""Draining a work queue in one go, shared by the model batcher and the result writer."""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import TypeVar

Job = TypeVar("Job")


def take_queued(
    jobs: queue.Queue[Job | None] | queue.SimpleQueue[Job | None],
    first: Job,
    limit: int,
    size: Callable[[Job], int],
) -> tuple[list[Job], bool]:
    """`first` plus whatever else is already queued, up to `limit` units of work, without waiting.

    Returns the jobs and whether the stop sentinel (None) was met, so the caller finishes these
    jobs and then stops.
    """
    taken, total = [first], size(first)
    while total < limit:
        try:
            more = jobs.get_nowait()
        except queue.Empty:
            break
        if more is None:
            return taken, True
        taken.append(more)
        total += size(more)
    return taken, False
