"""Analyst review over HTTP: the queue, decisions, the audit trail, statistics and the export.

Also `GET /v1/classifications/{id}` and `GET /v1/batches/{id}/reviews`: the final code of a
record and who set it. The work is in `service/reviews/`; these routes only translate.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from service.api.deps import (
    AdminDep,
    AgencyScopeDep,
    AnalystDep,
    DatabaseDep,
    SessionDep,
    SubmitterDep,
)
from service.api.errors import ERROR_RESPONSES, APIError, ErrorResponse
from service.api.review_views import classification_detail, review_detail, review_summary
from service.api.schemas.common import BatchId, DateTimeWithOffset, Offset, RowId, StorableStr
from service.api.schemas.reviews import (
    AssignIn,
    AuditEventOut,
    AuditPage,
    BatchReviewRow,
    BatchReviews,
    ClassificationDetail,
    DecisionIn,
    DecisionOut,
    GroupPage,
    GroupSummary,
    NextReview,
    QueueReason,
    ReviewDetail,
    ReviewPage,
    ReviewStateFilter,
    StatsOut,
)
from service.api_keys import Principal
from service.db.base import utcnow
from service.db.models import Classification, ReviewItem
from service.reviews import audit
from service.reviews.decisions import Decision, assign, decide, not_found
from service.reviews.export import export_csv
from service.reviews.groups import decide_group, list_groups
from service.reviews.queue import ReviewFilters, ReviewQueue, queue_for
from service.reviews.stats import analyst_progress, review_stats
from service.visibility import visible_batch, visible_classification, visible_review_item

router = APIRouter(prefix="/v1", tags=["reviews"])
RESPONSES = {
    **ERROR_RESPONSES,
    404: {"model": ErrorResponse, "description": "Not found"},
    409: {"model": ErrorResponse, "description": "Stale version or already decided"},
}


async def get_review_queue(request: Request) -> ReviewQueue:
    return queue_for(request.app.state)


QueueDep = Annotated[ReviewQueue, Depends(get_review_queue)]


def _item(
    session: SessionDep, queue: ReviewQueue, item_id: uuid.UUID, caller: Principal
) -> ReviewItem:
    item = visible_review_item(session, item_id, caller)
    if item is None and queue.sync(session, force=True):
        item = visible_review_item(session, item_id, caller)
    if item is None:
        raise not_found(item_id)
    return item


@router.get("/reviews", response_model=ReviewPage, responses=RESPONSES)
def list_reviews(
    session: SessionDep,
    queue: QueueDep,
    _caller: AnalystDep,
    scope: AgencyScopeDep,
    state: Annotated[ReviewStateFilter, Query(description="open = pending or escalated.")] = "open",
    batch: Annotated[
        StorableStr | None, Query(max_length=100, description="`api` or a batch id.")
    ] = None,
    section: Annotated[
        str | None, Query(pattern=r"^(\d{2}|NONE)$", description="Model's ICCS section.")
    ] = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{2,3}$")] = None,
    reason: Annotated[QueueReason | None, Query(description="Why it was queued.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[Offset, Query()] = 0,
) -> ReviewPage:
    """The queue, most useful first: many records share the text, the model is unsure."""
    queue.sync(session)
    filters = ReviewFilters(
        state, batch, section, min_confidence, max_confidence, language, reason, scope=scope
    )
    rows, total = queue.list(session, filters, limit, offset)
    texts = dict(
        session.execute(
            select(Classification.id, Classification.text).where(
                Classification.id.in_([item.id for item, _ in rows])
            )
        ).all()
    )
    return ReviewPage(
        items=[review_summary(item, texts.get(item.id, ""), same) for item, same in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/reviews/groups", response_model=GroupPage, responses=RESPONSES)
def list_review_groups(
    session: SessionDep,
    queue: QueueDep,
    _caller: AnalystDep,
    scope: AgencyScopeDep,
    state: Annotated[ReviewStateFilter, Query(description="open = pending or escalated.")] = "open",
    batch: Annotated[str | None, Query(max_length=100, description="`api` or a batch id.")] = None,
    section: Annotated[
        str | None, Query(pattern=r"^(\d{2}|NONE)$", description="Model's ICCS section.")
    ] = None,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{2,3}$")] = None,
    reason: Annotated[QueueReason | None, Query(description="Why it was queued.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[Offset, Query()] = 0,
) -> GroupPage:
    """The queue by text: one row per group of items sharing a normalised text, with its size
    and sources; a decision on one item of a group applies to the group."""
    queue.sync(session)
    filters = ReviewFilters(state, batch, section, None, None, language, reason, scope=scope)
    groups, total = list_groups(session, queue, filters, limit, offset)
    items = session.scalar(filters.apply(select(func.count()).select_from(ReviewItem))) or 0
    texts = dict(
        session.execute(
            select(Classification.id, Classification.text).where(
                Classification.id.in_([g["item_id"] for g in groups])
            )
        ).all()
    )
    return GroupPage(
        groups=[
            GroupSummary.model_validate({**g, "text": texts.get(g["item_id"], "")}) for g in groups
        ],
        total=total,
        items=int(items),
        limit=limit,
        offset=offset,
    )


@router.get("/reviews/next", response_model=NextReview, responses=RESPONSES)
def next_review(
    session: SessionDep, queue: QueueDep, caller: AnalystDep, scope: AgencyScopeDep
) -> NextReview:
    """The next item for you, the queue size and your progress (what the review page shows)."""
    queue.sync(session)
    item = queue.next_for(session, caller, scope)
    counts = queue.open_counts(session, scope)
    return NextReview.model_validate(
        {
            "item": review_detail(session, item, caller) if item is not None else None,
            "queue": counts,
            "progress": analyst_progress(session, caller.key_id, utcnow()),
            "analyst": {"name": caller.name, "role": caller.role},
        }
    )


@router.get("/reviews/stats", response_model=StatsOut, responses=RESPONSES)
def stats(
    session: SessionDep, queue: QueueDep, _caller: AnalystDep, scope: AgencyScopeDep
) -> StatsOut:
    """Autocoding rate, QC precision, model-analyst and analyst-analyst agreement, queue."""
    queue.sync(session)
    return StatsOut.model_validate(review_stats(session, utcnow(), scope))


@router.get(
    "/reviews/export",
    response_model=None,
    responses={**RESPONSES, 200: {"content": {"text/csv": {}}}},
)
def export(
    database: DatabaseDep,
    _caller: AdminDep,
    scope: AgencyScopeDep,
    since: Annotated[
        DateTimeWithOffset | None,
        Query(
            description="Decided at or after (RFC 3339, with offset).",
            examples=["2026-01-31T00:00:00Z"],
        ),
    ] = None,
) -> StreamingResponse:
    """Decided items as training rows (corpus columns, then provenance) for `iccs train
    --include-reviews`."""
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        export_csv(database, scope, since),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="iccs-reviews-{stamp}.csv"'},
    )


@router.get("/reviews/audit", response_model=AuditPage, responses=RESPONSES)
def audit_trail(
    session: SessionDep,
    _caller: AdminDep,
    scope: AgencyScopeDep,
    actor_key_id: Annotated[RowId | None, Query(description="One analyst's key id.")] = None,
    action: Annotated[StorableStr | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[Offset, Query()] = 0,
) -> AuditPage:
    """Every action on every item, newest first."""
    events, total = audit.list_events(
        session, scope, actor_key_id=actor_key_id, action=action, limit=limit, offset=offset
    )
    return AuditPage(
        events=[AuditEventOut.model_validate(e, from_attributes=True) for e in events],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/reviews/{item_id}", response_model=ReviewDetail, responses=RESPONSES)
def get_review(
    item_id: uuid.UUID, session: SessionDep, queue: QueueDep, caller: AnalystDep
) -> ReviewDetail:
    """The text, the suggestions with their definitions, inclusions and exclusions."""
    return review_detail(session, _item(session, queue, item_id, caller), caller)


@router.get("/reviews/{item_id}/audit", response_model=list[AuditEventOut], responses=RESPONSES)
def get_review_audit(
    item_id: uuid.UUID, session: SessionDep, queue: QueueDep, caller: AnalystDep
) -> list[AuditEventOut]:
    """Who did what to this item, oldest first (blind codings stay hidden until decided)."""
    item = _item(session, queue, item_id, caller)
    if item.required_codings > 1 and item.state != "decided" and not caller.has_role("admin"):
        raise APIError(403, "double coding is blind until the item is decided", code="blind")
    return [
        AuditEventOut.model_validate(e, from_attributes=True)
        for e in audit.events_for(session, item.id)
    ]


@router.post("/reviews/{item_id}/decision", response_model=DecisionOut, responses=RESPONSES)
def post_decision(
    item_id: uuid.UUID,
    body: DecisionIn,
    session: SessionDep,
    queue: QueueDep,
    caller: AnalystDep,
) -> DecisionOut:
    """accept, recode, not_an_offence, skip or escalate; 409 if the item changed since
    `version`. With scope=group (the default) the decision also applies to the other open
    items with the same text that you may decide."""
    _item(session, queue, item_id, caller)
    decision = Decision(body.action, body.version, body.code, body.comment, body.tags)
    if body.scope == "group":
        outcome = decide_group(session, item_id, caller, decision)
        item, applied = outcome.item, outcome.applied_to
    else:
        item, applied = decide(session, item_id, caller, decision), 1
    detail = review_detail(session, item, caller)
    return DecisionOut.model_validate({**detail.model_dump(), "applied_to": applied})


@router.post("/reviews/{item_id}/assign", response_model=ReviewDetail, responses=RESPONSES)
def post_assignment(
    item_id: uuid.UUID, body: AssignIn, session: SessionDep, queue: QueueDep, caller: AdminDep
) -> ReviewDetail:
    """Give an item to one analyst, or to two for blind double coding."""
    _item(session, queue, item_id, caller)
    item = assign(session, item_id, caller, body.analyst_key_ids, body.version, body.comment)
    return review_detail(session, item, caller)


@router.get(
    "/classifications/{classification_id}",
    response_model=ClassificationDetail,
    responses=RESPONSES,
    tags=["classify"],
)
def get_classification(
    classification_id: uuid.UUID, session: SessionDep, queue: QueueDep, caller: SubmitterDep
) -> ClassificationDetail:
    """A stored result with its final code and who set it (the model or analysts)."""
    row = visible_classification(session, classification_id, caller)
    if row is None:
        raise APIError(404, f"no classification {classification_id}", code="not_found")
    queue.sync(session)
    return classification_detail(row, session.get(ReviewItem, row.id))


@router.get("/batches/{batch_id}/reviews", response_model=BatchReviews, responses=RESPONSES)
def batch_reviews(
    batch_id: BatchId,
    session: SessionDep,
    queue: QueueDep,
    caller: SubmitterDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[Offset, Query()] = 0,
) -> BatchReviews:
    """A batch's rows that went to review: their state, final code and who set it."""
    if visible_batch(session, batch_id, caller) is None:
        raise APIError(404, f"no batch {batch_id}", code="batch_not_found")
    queue.sync(session)
    where = ReviewItem.source == batch_id
    total = session.scalar(select(func.count()).select_from(ReviewItem).where(where)) or 0
    rows = session.execute(
        select(ReviewItem, Classification.case_id)
        .join(Classification, Classification.id == ReviewItem.id)
        .where(where)
        .order_by(Classification.case_id, ReviewItem.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return BatchReviews(
        batch_id=batch_id,
        rows=[
            BatchReviewRow.model_validate(
                {**_columns(item), "classification_id": item.id, "case_id": case_id}
            )
            for item, case_id in rows
        ],
        total=int(total),
        limit=limit,
        offset=offset,
    )


def _columns(item: ReviewItem) -> dict[str, object]:
    return {
        name: getattr(item, name) for name in BatchReviewRow.model_fields if hasattr(item, name)
    }
