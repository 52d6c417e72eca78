from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from service.api.deps import (
    BatcherDep,
    ClassifierDep,
    DatabaseDep,
    MemoryDep,
    MetricsDep,
    SettingsDep,
    SubmitterDep,
    WriterDep,
)
from service.api.errors import ERROR_RESPONSES, APIError
from service.api.schemas.classify import (
    BatchClassificationOut,
    ClassificationOut,
    ClassifyRequest,
)
from service.classification import ClassificationResult, TextToClassify, classify_texts
from service.config import Settings
from service.correspondence.store import validated_codes
from service.db import Database
from service.store_health import error_kind

router = APIRouter(prefix="/v1", tags=["classify"])


def _texts(request: ClassifyRequest, settings: Settings) -> list[TextToClassify]:
    """The texts to classify, refused with 413 over the items or text-length limits."""
    if request.items is None:
        assert request.text is not None
        items = [
            TextToClassify(
                request.text,
                request.case_id,
                request.language,
                scheme=request.scheme,
                national_code=request.national_code,
            )
        ]
    else:
        if len(request.items) > settings.max_items:
            raise APIError(
                413,
                f"too many items: at most {settings.max_items} per request",
                code="too_many_items",
                details={"max_items": settings.max_items, "items": len(request.items)},
            )
        items = [
            TextToClassify(
                i.text,
                i.case_id,
                i.language or request.language,
                i.id,
                scheme=i.scheme or request.scheme,
                national_code=i.national_code,
            )
            for i in request.items
        ]
    too_long = [n for n, item in enumerate(items) if len(item.text) > settings.max_text_chars]
    if too_long:
        raise APIError(
            413,
            f"text longer than {settings.max_text_chars} characters",
            code="text_too_long",
            details={"max_chars": settings.max_text_chars, "item_indexes": too_long[:100]},
        )
    return items


def _validated(database: Database, items: list[TextToClassify]) -> dict[tuple[str, str], str]:
    """The validated ICCS codes of the items' national codes (no query when none has one)."""
    keys = [key for item in items if (key := item.national_key) is not None]
    if not keys:
        return {}
    with database.sessionmaker() as session:
        return validated_codes(session, keys)


def _out(result: ClassificationResult) -> ClassificationOut:
    """The record as every path serialises it, after this request's ids."""
    return ClassificationOut.model_validate(
        {
            "classification_id": result.classification_id,
            "id": result.item_id,
            "case_id": result.case_id,
            **result.record.to_dict(),
        }
    )


@router.post(
    "/classify",
    response_model=ClassificationOut | BatchClassificationOut,
    responses=ERROR_RESPONSES,
)
def classify(
    request: ClassifyRequest,
    caller: SubmitterDep,
    model: ClassifierDep,
    writer: WriterDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    batcher: BatcherDep,
    memory: MemoryDep,
    database: DatabaseDep,
) -> ClassificationOut | BatchClassificationOut:
    """Ranked ICCS suggestions for one text or a list; every result is stored for review."""
    items = _texts(request, settings)
    predictor = memory.predictor(model.classifier, caller.agency)
    results, rows = classify_texts(
        model,
        items,
        request.top_k or settings.default_top_k,
        api_key_id=caller.key_id,
        agency=caller.agency,
        suggest=lambda texts, top_k, languages: batcher.classify(
            predictor, model.versions, texts, top_k, languages
        ),
        validated=_validated(database, items),
    )
    try:
        writer.write(rows)
    except SQLAlchemyError as exc:
        # Nothing was stored (full disk, read-only file, unreachable): no id is handed out.
        raise APIError(
            503,
            "could not store the results; try again",
            code="database_unavailable",
            details={"reason": error_kind(exc)},
        ) from None
    metrics.observe_classifications(
        (r.record.first.code, r.record.first.confidence, r.record.needs_review) for r in results
    )
    outs = [_out(r) for r in results]
    if request.items is None:
        return outs[0]
    return BatchClassificationOut(
        results=outs, model_version=model.version, taxonomy_version=model.taxonomy_version
    )
