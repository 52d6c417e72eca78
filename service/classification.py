"""Classify texts with the served model and keep each result for review.

Texts the model sees alike (the same normalised text and language) are classified once, by
the core's `iccs.predict.classify_texts`, whose records the response and the stored rows carry
unchanged. Each stored row carries the model and taxonomy versions, so the statistical office
can tell which model said what. A text that comes
with a national code validated in a correspondence table gets that code (confidence 1, no
review, source `correspondence`) instead of the model's answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from iccs.predict import classify_texts as classify_records
from iccs.predict import model_key
from iccs.records import ClassificationRecord, tag_dicts, validated_record
from service.agencies import DEFAULT_AGENCY
from service.db.base import utcnow
from service.db.models import Classification
from service.model_holder import ServedModel

# (texts, top_k, languages) -> one record per text: the model's own, or the batcher's
Suggest = Callable[[list[str], int, list[str | None]], list[ClassificationRecord]]


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
    """The record of one text with the ids this request and its stored row give it."""

    classification_id: uuid.UUID
    item_id: str | None
    case_id: str | None
    record: ClassificationRecord


def guess_language(text: str, given: str | None) -> str | None:
    """What the client said, else the core's guess from what the model sees (en, es, ko);
    other languages stay unknown."""
    if given:
        return given
    guess = model_key(text)[1]
    return None if guess == "other" else guess


def classify_texts(
    model: ServedModel,
    items: Sequence[TextToClassify],
    top_k: int,
    *,
    source: str = "api",
    api_key_id: int | None = None,
    agency: str = DEFAULT_AGENCY,
    suggest: Suggest | None = None,
    validated: Mapping[tuple[str, str], str] | None = None,
) -> tuple[list[ClassificationResult], list[Classification]]:
    """Results in input order, and the rows to store for them (not yet added to a session).

    `suggest(texts, top_k, languages)` defaults to the core's `classify_texts` with the
    model alone; the API passes the batcher's. A client's `language` chooses the model's
    blend for its text. `validated` maps (scheme, national code) to a validated ICCS code:
    items carrying one skip the model.
    `agency` is the submitting key's: the stored rows are visible only within it.
    """
    validated = validated or {}

    def from_table(item: TextToClassify) -> str | None:
        key = item.national_key
        return validated.get(key) if key is not None else None

    to_model = [item for item in items if from_table(item) is None]
    texts = [item.text for item in to_model]
    languages = [item.language or None for item in to_model]
    if not texts:
        predicted: list[ClassificationRecord] = []
    elif suggest is None:
        predicted = classify_records(
            model.classifier, texts, languages, top_k=top_k, versions=model.versions
        )
    else:
        predicted = suggest(texts, top_k, languages)
    from_model = iter(predicted)
    now = utcnow()
    results, rows = [], []
    for item in items:
        table_code = from_table(item)
        language = guess_language(item.text, item.language)
        if table_code is None:
            record, item_source = next(from_model), source
        else:
            record = validated_record(table_code, model.versions, language)
            item_source = record.source
        suggestions = record.to_dict()["suggestions"]
        row_id = uuid.uuid4()
        rows.append(
            Classification(
                id=row_id,
                case_id=item.case_id,
                text=item.text,
                language=language,
                suggestions=suggestions,
                top_code=record.first.code,
                tags=tag_dicts(record.tags) or None,
                confidence=record.first.confidence,
                needs_review=record.needs_review,
                model_version=record.model_version,
                taxonomy_version=record.taxonomy_version,
                source=item_source,
                api_key_id=api_key_id,
                agency=agency,
                created_at=now,
            )
        )
        results.append(ClassificationResult(row_id, item.item_id, item.case_id, record))
    return results, rows
