"""The closing summary of a bulk run: rows, distinct texts, ICCS sections, review share, time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from iccs.bulk.formats import Chunk
from iccs.bulk.outcomes import Outcome

MAX_REASONS = 50  # distinct reject reasons counted; the rest are counted as "other"


@dataclass
class Summary:
    rows: int = 0
    rejected: int = 0
    needs_review: int = 0  # classified rows needing review (rejected rows not counted)
    # Distinct normalised texts of the file, each counted once across interruptions (the runner
    # keeps a hash of each; about 60 bytes per distinct text).
    distinct_texts: int = 0
    sections: Counter[str] = field(default_factory=Counter)  # first suggestion's ICCS section
    reject_reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0  # across all runs of a resumed job
    resumed_after: int = 0  # rows an earlier, interrupted run had done (this run's, not saved)

    def add(self, chunk: Chunk, outcomes: list[Outcome | None]) -> None:
        self.rows += len(outcomes)
        self.rejected += len(chunk.rejects)
        for reason in chunk.rejects.values():
            known = reason in self.reject_reasons or len(self.reject_reasons) < MAX_REASONS
            self.reject_reasons[reason if known else "other"] += 1
        self.sections.update(o.section for o in outcomes if o is not None)
        self.needs_review += sum(1 for o in outcomes if o is not None and o.needs_review)

    @property
    def review_share(self) -> float:
        classified = self.rows - self.rejected
        return self.needs_review / classified if classified else 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_state(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "rejected": self.rejected,
            "needs_review": self.needs_review,
            "distinct_texts": self.distinct_texts,
            "sections": dict(self.sections),
            "reject_reasons": dict(self.reject_reasons),
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Summary:
        if not state:
            return cls()
        return cls(
            rows=int(state["rows"]),
            rejected=int(state["rejected"]),
            needs_review=int(state["needs_review"]),
            distinct_texts=int(state["distinct_texts"]),
            sections=Counter({str(k): int(v) for k, v in state["sections"].items()}),
            reject_reasons=Counter(
                {str(k): int(v) for k, v in state.get("reject_reasons", {}).items()}
            ),
            seconds=float(state["seconds"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.to_state(),
            "review_share": round(self.review_share, 4),
            "rows_per_second": round(self.rows_per_second, 1),
        }
