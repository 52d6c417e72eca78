"""The append-only audit trail: every action on a review item, with its before and after.

Events are only ever inserted (the database refuses updates, see migration 0003_reviews).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.agencies import AgencyScope
from service.api_keys import Principal
from service.db.base import utcnow
from service.db.models import ReviewAuditEvent, ReviewItem

SNAPSHOT_FIELDS = (
    "state",
    "final_code",
    "final_tags",
    "final_by",
    "version",
    "codings",
    "required_codings",
    "assignees",
)


def snapshot(item: ReviewItem) -> dict[str, Any]:
    """What an action can change on an item."""
    return {name: getattr(item, name) for name in SNAPSHOT_FIELDS}


def record(
    session: Session,
    item: ReviewItem,
    actor: Principal,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
    code: str | None = None,
    comment: str | None = None,
    tags: dict[str, str] | None = None,
) -> ReviewAuditEvent:
    """Add one event to the session (the caller commits it with the change it describes)."""
    event = ReviewAuditEvent(
        item_id=item.id,
        action=action,
        actor_key_id=actor.key_id,
        actor_name=actor.name,
        actor_role=actor.role,
        code=code,
        tags=tags or None,
        before=before,
        after=after,
        model_version=item.model_version,
        comment=comment,
        created_at=utcnow(),
        agency=item.agency,
    )
    session.add(event)
    return event


def events_for(session: Session, item_id: uuid.UUID) -> list[ReviewAuditEvent]:
    query = select(ReviewAuditEvent).where(ReviewAuditEvent.item_id == item_id)
    return list(session.scalars(query.order_by(ReviewAuditEvent.id)))


def list_events(
    session: Session,
    scope: AgencyScope,
    *,
    actor_key_id: int | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[ReviewAuditEvent], int]:
    """Newest first, within the agencies of `scope`, optionally one analyst's or one action's."""
    in_scope = scope.where(ReviewAuditEvent.agency)
    query = select(ReviewAuditEvent).where(in_scope)
    count = select(func.count()).select_from(ReviewAuditEvent).where(in_scope)
    if actor_key_id is not None:
        query = query.where(ReviewAuditEvent.actor_key_id == actor_key_id)
        count = count.where(ReviewAuditEvent.actor_key_id == actor_key_id)
    if action is not None:
        query = query.where(ReviewAuditEvent.action == action)
        count = count.where(ReviewAuditEvent.action == action)
    events = session.scalars(query.order_by(ReviewAuditEvent.id.desc()).limit(limit).offset(offset))
    return list(events), int(session.scalar(count) or 0)
