"""The one record of what the model says about one text, and its one serialiser.

HTTP responses, stored classifications, batch-job results, `iccs classify` output and the Ray
engine all carry this record; each transport adds its own fields around it (ids, case ids,
CSV columns), never re-shapes it. Titles (of each suggestion and of every step of its path)
are Spanish for Spanish texts and English otherwise, so two spellings of one text, or one
text sent through two paths, give the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from iccs.codes import code_level, code_title
from iccs.hierarchy import NONE_CODE
from iccs.suggestions import Prediction, Suggestion
from iccs.tags import TagValue
from iccs.taxonomy import Language, load_taxonomy

Source = Literal["model", "correspondence"]
MODEL_SOURCE: Source = "model"
CORRESPONDENCE_SOURCE: Source = "correspondence"  # a code validated in a correspondence table


@dataclass(frozen=True)
class Versions:
    """Which model and which taxonomy said it (every record carries both)."""

    model: str
    taxonomy: str


@dataclass(frozen=True)
class PathStep:
    code: str
    title: str


@dataclass(frozen=True)
class SuggestionRecord:
    code: str
    title: str
    level: str
    path: tuple[PathStep, ...]  # from the section down to the code; empty for NONE
    confidence: float


@dataclass(frozen=True)
class ClassificationRecord:
    suggestions: tuple[SuggestionRecord, ...]
    needs_review: bool
    backed_off: bool
    fallback: SuggestionRecord | None
    tags: tuple[TagValue, ...]
    model_version: str
    taxonomy_version: str
    source: Source = MODEL_SOURCE

    @property
    def first(self) -> SuggestionRecord:
        return self.suggestions[0]

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data, keys in the public order (the one serialiser)."""
        return {
            "suggestions": [_suggestion_dict(s) for s in self.suggestions],
            "needs_review": self.needs_review,
            "backed_off": self.backed_off,
            "fallback": None if self.fallback is None else _suggestion_dict(self.fallback),
            "tags": tag_dicts(self.tags),
            "model_version": self.model_version,
            "taxonomy_version": self.taxonomy_version,
            "source": self.source,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ClassificationRecord:
        """The inverse of `to_dict` (records sent between processes, e.g. by Ray)."""
        fallback = raw.get("fallback")
        return cls(
            suggestions=tuple(_suggestion_record(s) for s in raw["suggestions"]),
            needs_review=bool(raw["needs_review"]),
            backed_off=bool(raw["backed_off"]),
            fallback=None if fallback is None else _suggestion_record(fallback),
            tags=tuple(TagValue(t["tag"], t["value"], t["confidence"]) for t in raw["tags"]),
            model_version=raw["model_version"],
            taxonomy_version=raw["taxonomy_version"],
            source=raw["source"],
        )

    @classmethod
    def from_json(cls, payload: str) -> ClassificationRecord:
        return cls.from_dict(json.loads(payload))


def tag_dicts(tags: tuple[TagValue, ...]) -> list[dict[str, Any]]:
    return [{"tag": t.tag, "value": t.value, "confidence": t.confidence} for t in tags]


def _suggestion_dict(s: SuggestionRecord) -> dict[str, Any]:
    return {
        "code": s.code,
        "title": s.title,
        "level": s.level,
        "path": [{"code": p.code, "title": p.title} for p in s.path],
        "confidence": s.confidence,
    }


def _suggestion_record(raw: dict[str, Any]) -> SuggestionRecord:
    path = tuple(PathStep(p["code"], p["title"]) for p in raw["path"])
    return SuggestionRecord(raw["code"], raw["title"], raw["level"], path, raw["confidence"])


def title_language(language: str | None) -> Language:
    """The language of a record's titles: Spanish for Spanish texts, else English."""
    return "es" if language == "es" else "en"


@lru_cache(maxsize=8192)
def code_path(code: str, language: Language) -> tuple[PathStep, ...]:
    """From the section down to `code`, titles in `language`; empty for NONE."""
    if code == NONE_CODE:
        return ()
    return tuple(PathStep(c.code, c.title(language)) for c in load_taxonomy().path(code))


def _suggestion(s: Suggestion, language: Language) -> SuggestionRecord:
    path = code_path(s.code, language)
    title = path[-1].title if path else code_title(load_taxonomy(), s.code, language)
    return SuggestionRecord(s.code, title, s.level, path, s.confidence)


def record_from_prediction(
    prediction: Prediction,
    versions: Versions,
    language: str | None,
    source: Source = MODEL_SOURCE,
) -> ClassificationRecord:
    """The record of one prediction for a text in `language` (which sets the titles')."""
    lang = title_language(language)
    return ClassificationRecord(
        suggestions=tuple(_suggestion(s, lang) for s in prediction.suggestions),
        needs_review=prediction.needs_review,
        backed_off=prediction.backed_off,
        fallback=None if prediction.fallback is None else _suggestion(prediction.fallback, lang),
        tags=prediction.tags,
        model_version=versions.model,
        taxonomy_version=versions.taxonomy,
        source=source,
    )


def validated_record(code: str, versions: Versions, language: str | None) -> ClassificationRecord:
    """A code validated in a correspondence table: one suggestion, confidence 1, no review.

    The code is read as the taxonomy reads codes (a spreadsheet's dropped zero comes back).
    """
    taxonomy = load_taxonomy()
    canonical = code if code == NONE_CODE else taxonomy.normalize(code)
    suggestion = Suggestion(
        canonical, code_title(taxonomy, canonical), code_level(taxonomy, canonical), 1.0
    )
    prediction = Prediction([suggestion], needs_review=False)
    return record_from_prediction(prediction, versions, language, CORRESPONDENCE_SOURCE)
