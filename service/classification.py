"""Classify texts with the served model and keep each result for review.

Identical texts in one request are classified once. Each stored row carries the model and
taxonomy versions, so the statistical office can tell which model said what. A text that comes
with a national code validated in a correspondence table gets that code (confidence 1, no
review, source `correspondence`) instead of the model's answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from iccs.classifier import Prediction
from iccs.hierarchy import NONE_CODE
from iccs.language import guess_language as guess_text_language
from iccs.serving import CORRESPONDENCE_SOURCE, validated_prediction
from iccs.taxonomy import Language, load_taxonomy
from service.agencies import DEFAULT_AGENCY
from service.db.base import utcnow
from service.db.models import Classification
from service.model_holder import ServedModel

USE_SOURCE = CORRESPONDENCE_SOURCE  # the source of answers taken from a validated table


@dataclass(frozen=True)
class TextToClassify:
    text: str
    case_id: str | None = None
    language: str | None = None
    item_id: str | None = None
    scheme: str | None = None
    national_code: str | None = None

    @property
    def national_key(self) -> tuple[str, str] | None:
        if self.scheme and self.national_code:
            return (self.scheme, self.national_code)
        return None


@dataclass(frozen=True)
class ClassificationResult:
    classification_id: uuid.UUID
    item_id: str | None
    case_id: str | None
    suggestions: list[dict[str, Any]]
    needs_review: bool
    backed_off: bool
    fallback: dict[str, Any] | None
    model_version: str
    taxonomy_version: str
    source: str = "model"
    tags: list[dict[str, Any]] = field(default_factory=list)


def guess_language(text: str, given: str | None) -> str | None:
    """What the client said, else the core's guess (en, es, ko); other languages stay unknown."""
    if given:
        return given
    guess = guess_text_language(text)
    return None if guess == "other" else guess


@lru_cache(maxsize=8192)
def _path(code: str, language: Language) -> tuple[tuple[str, str], ...]:
    if code == NONE_CODE:
        return ()
    return tuple((c.code, c.title(language)) for c in load_taxonomy().path(code))


def suggestion_dicts(prediction: Prediction, language: str | None) -> list[dict[str, Any]]:
    lang: Language = "es" if language == "es" else "en"
    out = []
    for s in prediction.suggestions:
        path = _path(s.code, lang)
        out.append(
            {
                "code": s.code,
                "title": path[-1][1] if path else s.title,
                "level": s.level,
                "path": [{"code": c, "title": t} for c, t in path],
                "confidence": s.confidence,
            }
        )
    return out


def tag_dicts(prediction: Prediction) -> list[dict[str, Any]]:
    return [{"tag": t.tag, "value": t.value, "confidence": t.confidence} for t in prediction.tags]


def _fallback(prediction: Prediction, language: str | None) -> dict[str, Any] | None:
    if prediction.fallback is None:
        return None
    return suggestion_dicts(replace(prediction, suggestions=[prediction.fallback]), language)[0]


def classify_texts(
    model: ServedModel,
    items: Sequence[TextToClassify],
    top_k: int,
    *,
    source: str = "api",
    api_key_id: int | None = None,
    agency: str = DEFAULT_AGENCY,
    suggest: Callable[[list[str], int, list[str | None]], list[Prediction]] | None = None,
    validated: Mapping[tuple[str, str], str] | None = None,
) -> tuple[list[ClassificationResult], list[Classification]]:
    """Results in input order, and the rows to store for them (not yet added to a session).

    `suggest(texts, top_k, languages)` defaults to the model's own; the API passes the
    batcher's. A client's `language` chooses the model's blend for its text. `validated` maps
    (scheme, national code) to a validated ICCS code: items carrying one skip the model.
    `agency` is the submitting key's: the stored rows are visible only within it.
    """
    validated = validated or {}

    def from_table(item: TextToClassify) -> str | None:
        key = item.national_key
        return validated.get(key) if key is not None else None

    distinct = list(
        dict.fromkeys(
            (item.text, item.language or None) for item in items if from_table(item) is None
        )
    )
    texts, languages = [t for t, _ in distinct], [lang for _, lang in distinct]
    if not texts:
        predicted: list[Prediction] = []
    elif suggest is None:
        predicted = model.classifier.suggest(texts, top_k=top_k, languages=languages)
    else:
        predicted = suggest(texts, top_k, languages)
    predictions = dict(zip(distinct, predicted, strict=True))
    now = utcnow()
    results, rows = [], []
    for item in items:
        table_code = from_table(item)
        if table_code is None:
            prediction = predictions[(item.text, item.language or None)]
            item_source = source
        else:
            prediction, item_source = validated_prediction(table_code), USE_SOURCE
        language = guess_language(item.text, item.language)
        suggestions = suggestion_dicts(prediction, language)
        tags = tag_dicts(prediction)
        first = suggestions[0]
        row_id = uuid.uuid4()
        rows.append(
            Classification(
                id=row_id,
                case_id=item.case_id,
                text=item.text,
                language=language,
                suggestions=suggestions,
                top_code=first["code"],
                tags=tags or None,
                confidence=first["confidence"],
                needs_review=prediction.needs_review,
                model_version=model.version,
                taxonomy_version=model.taxonomy_version,
                source=item_source,
                api_key_id=api_key_id,
                agency=agency,
                created_at=now,
            )
        )
        results.append(
            ClassificationResult(
                classification_id=row_id,
                item_id=item.item_id,
                case_id=item.case_id,
                suggestions=suggestions,
                needs_review=prediction.needs_review,
                backed_off=prediction.backed_off,
                fallback=_fallback(prediction, language),
                model_version=model.version,
                taxonomy_version=model.taxonomy_version,
                source="model" if table_code is None else USE_SOURCE,
                tags=tags,
            )
        )
    return results, rows
