"""Review items and classifications as the API shows them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.schemas.reviews import (
    ClassificationDetail,
    CodingOut,
    ReviewDetail,
    ReviewSummary,
)
from service.api_keys import Principal
from service.db.models import Classification, ReviewCoding, ReviewItem
from service.reviews.candidates import candidates, describe, display_language
from service.reviews.groups import group_summary


def review_summary(item: ReviewItem, text: str, same_text: int | None = None) -> ReviewSummary:
    return ReviewSummary.model_validate(
        {**_fields(item, ReviewSummary), "text": text, "same_text": same_text}
    )


def _fields(item: ReviewItem, schema: type[ReviewSummary]) -> dict[str, object]:
    return {name: getattr(item, name) for name in schema.model_fields if hasattr(item, name)}


def review_detail(session: Session, item: ReviewItem, caller: Principal) -> ReviewDetail:
    """Everything an analyst decides on; other analysts' blind codings only for admins."""
    row = session.get(Classification, item.id)
    text = row.text if row else ""
    language = display_language(item.language)
    codings = session.scalars(
        select(ReviewCoding).where(ReviewCoding.item_id == item.id).order_by(ReviewCoding.id)
    ).all()
    mine = next((c.code for c in codings if c.analyst_key_id == caller.key_id), None)
    final_title = None
    if item.final_code:
        try:
            final_title = describe(item.final_code, language)["title"]
        except KeyError:
            final_title = item.final_code
    return ReviewDetail.model_validate(
        {
            **_fields(item, ReviewDetail),
            "text": text,
            "suggestions": candidates(row.suggestions if row else [], language),
            "model_tags": (row.tags or []) if row else [],
            "display_language": language,
            "final_title": final_title,
            "my_coding": mine,
            "codings_detail": [CodingOut.model_validate(c, from_attributes=True) for c in codings]
            if caller.has_role("admin")
            else None,
            "group": group_summary(session, item, caller),
        }
    )


def classification_detail(row: Classification, item: ReviewItem | None) -> ClassificationDetail:
    """The stored result; the final code is the analysts' once decided, else the model's
    when the model needed nobody (or the record is only in the quality-control sample)."""
    final_code: str | None = None
    set_by: str | None = None
    model_tags = {t["tag"]: t["value"] for t in row.tags or []} or None
    final_tags: dict[str, str] | None = None
    if item is not None and item.state == "decided":
        final_code, set_by, final_tags = item.final_code, item.final_by, item.final_tags
    elif (item is None and not row.needs_review) or (item and item.reason == "qc_sample"):
        final_code, set_by, final_tags = row.top_code, "model", model_tags
    review = None
    if item is not None:
        review = {
            name: getattr(item, name)
            for name in ("state", "reason", "version", "final_code", "final_by", "decided_at")
        }
    return ClassificationDetail.model_validate(
        {
            "classification_id": row.id,
            "case_id": row.case_id,
            "text": row.text,
            "language": row.language,
            "suggestions": row.suggestions,
            "needs_review": row.needs_review,
            "model_version": row.model_version,
            "taxonomy_version": row.taxonomy_version,
            "source": row.source,
            "created_at": row.created_at,
            "tags": row.tags or [],
            "review": review,
            "final_code": final_code,
            "final_code_set_by": set_by,
            "final_tags": final_tags,
        }
    )
