"""One classification outcome per distinct text, pre-formatted for every output, and its cache.

Backlogs repeat the same few thousand titles millions of times, so the cost that matters is per
distinct text: each outcome is formatted once (JSON tail, CSV cells) from its record
(`iccs.records`, the shape every path shares) and then only copied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

from iccs.codes import code_section
from iccs.predict import Predictor, classify_texts
from iccs.records import ClassificationRecord, Versions
from iccs.tags import TAGS
from iccs.text import normalize

__all__ = ["LocalSuggester", "Outcome", "OutcomeCache", "Suggester", "make_outcome"]


@dataclass(frozen=True, slots=True)
class Outcome:
    codes: tuple[str, ...]
    confidences: tuple[float, ...]
    needs_review: bool
    section: str  # ICCS section of the first suggestion, or NONE
    json_tail: str  # the serialised record after `{"id": ..., `
    csv_cells: tuple[
        str, ...
    ]  # iccs_code_i, [iccs_title_i,] confidence_i ..., needs_review, model_version, tags
    record: ClassificationRecord

    @property
    def tag_values(self) -> tuple[str, ...]:
        """One cell per tag in TAGS order ('' when the model has no tag model)."""
        return self.csv_cells[-len(TAGS) :]


def make_outcome(
    record: ClassificationRecord, top_k: int, titles: Mapping[str, str] | None = None
) -> Outcome:
    """The outcome of one record; with `titles`, each code's title follows it in CSV cells."""
    codes = tuple(s.code for s in record.suggestions[:top_k])
    confidences = tuple(float(s.confidence) for s in record.suggestions[:top_k])
    cells: list[str] = []
    for i in range(top_k):
        code = codes[i] if i < len(codes) else ""
        cells.append(code)
        if titles is not None:
            cells.append(titles.get(code, ""))
        cells.append(str(float(confidences[i])) if i < len(codes) else "")
    cells += ["true" if record.needs_review else "false", record.model_version]
    values = {t.tag: t.value for t in record.tags}
    cells += [values.get(tag, "") for tag in TAGS]
    return Outcome(
        codes=codes,
        confidences=confidences,
        needs_review=record.needs_review,
        section=code_section(codes[0] if codes else None),
        json_tail=record.to_json()[1:],
        csv_cells=tuple(cells),
        record=record,
    )


class Suggester(Protocol):
    """What turns distinct texts into records: the in-process model or a Ray cluster."""

    #: flush (classify, write, checkpoint) once this many rows are held or texts pending;
    #: 1 means after every chunk.
    window_rows: int
    window_texts: int

    def records(
        self, texts: Sequence[str], top_k: int, versions: Versions
    ) -> list[ClassificationRecord]: ...

    def close(self) -> None: ...


class LocalSuggester:
    """The model in this process, fed in batches (batch calls are far faster per text)."""

    window_rows = 1
    window_texts = 1

    def __init__(self, model: Predictor, batch_size: int = 1024) -> None:
        self.model, self.batch_size = model, batch_size

    def records(
        self, texts: Sequence[str], top_k: int, versions: Versions
    ) -> list[ClassificationRecord]:
        out: list[ClassificationRecord] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            out += classify_texts(self.model, batch, top_k=top_k, versions=versions)
        return out

    def close(self) -> None:
        pass


def _trim(mapping: dict[str, Outcome], limit: int) -> None:
    """Drop the oldest quarter when over the limit: memory stays bounded on all-distinct input."""
    if len(mapping) > limit:
        for key in list(islice(mapping, len(mapping) // 4)):
            del mapping[key]


class OutcomeCache:
    """Raw text -> outcome (skips normalising repeats) over normalised text -> outcome."""

    def __init__(self, max_texts: int = 200_000, max_keys: int = 100_000) -> None:
        self.by_text: dict[str, Outcome] = {}
        self.by_key: dict[str, Outcome] = {}
        self.max_texts, self.max_keys = max_texts, max_keys

    def lookup(self, text: str) -> Outcome | str:
        """The cached outcome, or the normalised key to classify."""
        outcome = self.by_text.get(text)
        if outcome is not None:
            return outcome
        key = normalize(text)
        outcome = self.by_key.get(key)
        if outcome is None:
            return key
        self.by_text[text] = outcome
        return outcome

    def add(self, key: str, texts: Sequence[str], outcome: Outcome) -> None:
        self.by_key[key] = outcome
        for text in texts:
            self.by_text[text] = outcome

    def trim(self) -> None:
        _trim(self.by_text, self.max_texts)
        _trim(self.by_key, self.max_keys)
