"""Progress of a bulk run: a live bar on a terminal, periodic log lines elsewhere.

Position is measured in input bytes (rows for Parquet), which is known without a first pass
over the file; rows done and the row rate are shown beside it.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

logger = logging.getLogger(__name__)


class ProgressReporter(Protocol):
    def start(self, total: int, position: int, rows_done: int) -> None: ...

    def update(self, position: int, rows_done: int) -> None: ...

    def close(self) -> None: ...


class _Rate:
    """Rows per second and ETA, measured from the start of this process's run."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.total = self.first_position = self.first_rows = 0

    def begin(self, total: int, position: int, rows_done: int) -> None:
        self.total, self.first_position, self.first_rows = total, position, rows_done

    def figures(self, position: int, rows_done: int) -> tuple[float, float | None, float]:
        """(rows/s, seconds left or None, fraction done)."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = (rows_done - self.first_rows) / elapsed
        fraction = min(position / self.total, 1.0) if self.total else 0.0
        moved = position - self.first_position
        left = elapsed * (self.total - position) / moved if moved > 0 and self.total else None
        return rate, left, fraction


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LogProgress:
    """One INFO line every `every` seconds: for logs, CI and anything that is not a terminal."""

    def __init__(self, every: float = 10.0) -> None:
        self.every, self._rate, self._last = every, _Rate(), 0.0

    def start(self, total: int, position: int, rows_done: int) -> None:
        self._rate.begin(total, position, rows_done)
        self._last = time.monotonic()

    def update(self, position: int, rows_done: int) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        rate, left, fraction = self._rate.figures(position, rows_done)
        logger.info(
            "%d rows done, %.0f rows/s, %.1f%%, ETA %s",
            rows_done,
            rate,
            100 * fraction,
            format_seconds(left),
        )

    def close(self) -> None:
        pass


class BarProgress:
    """A rich progress bar on stderr: fraction done, rows done, rows/s, ETA."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("classifying"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[rows]} rows"),
            TextColumn("{task.fields[rate]} rows/s"),
            TextColumn("ETA {task.fields[eta]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._rate = _Rate()
        self._task = self._progress.add_task("classify", total=1, rows="0", rate="-", eta="?")

    def start(self, total: int, position: int, rows_done: int) -> None:
        self._rate.begin(total, position, rows_done)
        self._progress.update(self._task, total=max(total, 1), completed=position)
        self._progress.start()

    def update(self, position: int, rows_done: int) -> None:
        rate, left, _ = self._rate.figures(position, rows_done)
        self._progress.update(
            self._task,
            completed=position,
            rows=f"{rows_done:,}",
            rate=f"{rate:,.0f}",
            eta=format_seconds(left),
        )

    def close(self) -> None:
        self._progress.stop()
