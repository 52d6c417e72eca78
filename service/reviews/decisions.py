"""Analysts' decisions on review items, with optimistic concurrency and double coding.

A decision names the item `version` it was made on; if the item changed since (another analyst
decided, escalated or reassigned it), the decision is refused with 409 rather than silently
overwriting. The check and the change are one conditional UPDATE, so two concurrent decisions
cannot both win. A blind coding that is not the last of a double-coded item changes nothing
people see, so it does not move the version: the second coder is not sent back for nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from iccs.hierarchy import NONE_CODE
from iccs.taxonomy import CodeError, load_taxonomy
from service.api_keys import ROLE_RANK, Principal
from service.db.base import utcnow
from service.db.models import ApiKey, Classification, ReviewCoding, ReviewItem
from service.db.models.reviews import CODING_ACTIONS
from service.reviews.audit import record, snapshot
from service.reviews.errors import (
    InvalidReview,
    ReviewConflict,
    ReviewForbidden,
    ReviewNotFound,
)

logger = logging.getLogger(__name__)

_ATTEMPTS = 5
_CHUNK = 500  # ids per IN (...) query


def not_found(item_id: uuid.UUID) -> ReviewNotFound:
    return ReviewNotFound(f"no review item {item_id}", code="review_not_found")


@dataclass(frozen=True)
class Decision:
    action: str  # accept, recode, not_an_offence, skip, escalate
    version: int
    code: str | None = None
    comment: str | None = None
    tags: dict[str, str] | None = None  # corrected tags; the others keep the model's value


def _stale(item: ReviewItem, version: int) -> ReviewConflict:
    return ReviewConflict(
        f"the item changed since version {version} (now {item.version}); reload it and decide "
        "again",
        code="stale_version",
        details={"current_version": item.version, "your_version": version},
    )


def final_code(session: Session, item: ReviewItem, decision: Decision) -> str:
    """The code a coding decision sets, validated against the suggestions or the taxonomy."""
    if decision.action == "not_an_offence":
        if decision.code not in (None, NONE_CODE):
            raise InvalidReview("not_an_offence takes no code", code="invalid_code")
        return NONE_CODE
    if decision.action == "accept":
        row = session.get(Classification, item.id)
        suggested = [s["code"] for s in (row.suggestions if row else [])]
        if decision.code is None:
            return suggested[0] if suggested else item.model_code
        if decision.code not in suggested:
            raise InvalidReview(
                "accept takes one of the item's suggested codes; use recode for another",
                code="not_a_suggestion",
                details={"suggestions": suggested},
            )
        return decision.code
    if decision.code is None:
        raise InvalidReview("recode needs a code", code="invalid_code")
    if decision.code.strip().upper() == NONE_CODE:
        return NONE_CODE
    try:
        return load_taxonomy().normalize(decision.code)
    except CodeError as exc:
        raise InvalidReview(str(exc), code="invalid_code") from None


def _corrected(
    model_tags: list[dict[str, Any]] | None, decision: Decision
) -> dict[str, str] | None:
    tags = {t["tag"]: t["value"] for t in (model_tags or [])}
    tags |= decision.tags or {}
    return tags or None


def final_tags(session: Session, item: ReviewItem, decision: Decision) -> dict[str, str] | None:
    """The model's tags with the analyst's corrections over them (None: no tags either way)."""
    row = session.get(Classification, item.id)
    return _corrected(row.tags if row else None, decision)


def final_tags_of(
    session: Session, items: list[ReviewItem], decision: Decision
) -> dict[uuid.UUID, dict[str, str] | None]:
    """`final_tags` of many items (a group's), read in chunks rather than a query per item."""
    ids = [item.id for item in items]
    model_tags: dict[uuid.UUID, list[dict[str, Any]] | None] = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(Classification.id, Classification.tags).where(
            Classification.id.in_(ids[start : start + _CHUNK])
        )
        model_tags.update({row.id: row.tags for row in session.execute(query)})
    return {item_id: _corrected(model_tags.get(item_id), decision) for item_id in ids}


def _check_allowed(session: Session, item: ReviewItem, actor: Principal, action: str) -> None:
    if item.state == "decided":
        raise ReviewConflict(
            f"item already decided ({item.final_code} by {item.final_by})",
            code="already_decided",
        )
    is_admin = actor.has_role("admin")
    if action == "skip":
        return
    if item.state == "escalated" and not is_admin:
        raise ReviewForbidden("escalated items are decided by an admin", code="needs_admin")
    if item.assignees and actor.key_id not in item.assignees and not is_admin:
        raise ReviewForbidden("this item is assigned to other analysts", code="not_assigned")
    if action in CODING_ACTIONS and item.state == "pending":
        coded = session.scalar(
            select(ReviewCoding.id).where(
                ReviewCoding.item_id == item.id, ReviewCoding.analyst_key_id == actor.key_id
            )
        )
        if coded is not None:
            raise ReviewConflict(
                "you already coded this item; a second analyst must", code="already_coded"
            )


def _decided(
    item: ReviewItem, action: str, code: str, by: str, tags: dict[str, str] | None
) -> dict[str, Any]:
    now = utcnow()
    return {
        "state": "decided",
        "final_code": code,
        "final_tags": tags,
        "final_action": action,
        "final_by": by[:300],
        "decided_at": now,
        "updated_at": now,
        "version": item.version + 1,
    }


def transition(
    session: Session,
    item: ReviewItem,
    actor: Principal,
    action: str,
    code: str | None,
    tags: dict[str, str] | None = None,
) -> tuple[dict[str, Any], bool]:
    """The new column values, and whether the action is a blind coding to keep."""
    now = utcnow()
    if action == "escalate":
        return {"state": "escalated", "updated_at": now, "version": item.version + 1}, False
    assert code is not None
    if item.state == "escalated":  # an admin settles it
        return _decided(item, action, code, actor.name, tags), False
    codings = item.codings + 1
    if codings < item.required_codings:
        return {"codings": codings, "updated_at": now}, True
    if item.required_codings == 1:
        return {"codings": codings, **_decided(item, action, code, actor.name, tags)}, True
    earlier = session.execute(
        select(ReviewCoding.code, ReviewCoding.analyst_name)
        .where(ReviewCoding.item_id == item.id)
        .order_by(ReviewCoding.id)
    ).all()
    if all(row.code == code for row in earlier):
        names = ", ".join([*(row.analyst_name for row in earlier), actor.name])
        return {"codings": codings, **_decided(item, action, code, names, tags)}, True
    # The coders disagree: an admin adjudicates.
    return {
        "codings": codings,
        "state": "escalated",
        "updated_at": now,
        "version": item.version + 1,
    }, True


def decide(
    session: Session, item_id: uuid.UUID, actor: Principal, decision: Decision
) -> ReviewItem:
    """Apply one decision and write its audit event in the same transaction."""
    if decision.tags and decision.action not in CODING_ACTIONS:
        raise InvalidReview(
            f"tags go with a coding action, not {decision.action}", code="invalid_tags"
        )
    for _ in range(_ATTEMPTS):
        item = session.get(ReviewItem, item_id, populate_existing=True)
        if item is None:
            raise not_found(item_id)
        if item.version != decision.version:
            raise _stale(item, decision.version)
        _check_allowed(session, item, actor, decision.action)
        before = snapshot(item)
        if decision.action == "skip":
            record(session, item, actor, "skip", before, before, comment=decision.comment)
            session.commit()
            return item
        code = None if decision.action == "escalate" else final_code(session, item, decision)
        tags = None if code is None else final_tags(session, item, decision)
        values, keep_coding = transition(session, item, actor, decision.action, code, tags)
        changed = session.execute(
            update(ReviewItem)
            .where(
                ReviewItem.id == item.id,
                ReviewItem.version == item.version,
                ReviewItem.codings == item.codings,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(changed, "rowcount", 0) != 1:  # someone else got there first: look again
            session.rollback()
            continue
        if keep_coding:
            assert code is not None
            session.add(
                ReviewCoding(
                    item_id=item.id,
                    analyst_key_id=actor.key_id,
                    analyst_name=actor.name,
                    action=decision.action,
                    code=code,
                    tags=tags,
                    created_at=utcnow(),
                )
            )
        session.refresh(item)
        record(
            session,
            item,
            actor,
            decision.action,
            before,
            snapshot(item),
            code,
            decision.comment,
            None if code is None else decision.tags,
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise ReviewConflict(
                "you already coded this item; a second analyst must", code="already_coded"
            ) from None
        return item
    raise ReviewConflict("the item keeps changing; reload it", code="stale_version")


def assign(
    session: Session,
    item_id: uuid.UUID,
    actor: Principal,
    analyst_key_ids: list[int],
    version: int,
    comment: str | None = None,
) -> ReviewItem:
    """Give an item to one analyst, or to two for double coding (blind, then compared)."""
    item = session.get(ReviewItem, item_id, populate_existing=True)
    if item is None:
        raise not_found(item_id)
    if item.version != version:
        raise _stale(item, version)
    if item.state != "pending" or item.codings:
        raise ReviewConflict(
            "only an item nobody has coded yet can be assigned", code="already_in_progress"
        )
    ids = list(dict.fromkeys(analyst_key_ids))
    keys = session.scalars(select(ApiKey).where(ApiKey.id.in_(ids))).all()
    usable = {  # active analysts who see the item's agency
        k.id
        for k in keys
        if k.revoked_at is None
        and ROLE_RANK[k.role] >= ROLE_RANK["analyst"]
        and (k.cross_agency or k.agency == item.agency)
    }
    unknown = [i for i in ids if i not in usable]
    if unknown:
        raise InvalidReview(
            "not the ids of active analyst keys",
            code="unknown_analyst",
            details={"analyst_key_ids": unknown},
        )
    before = snapshot(item)
    values = {
        "assignees": ids,
        "required_codings": len(ids),
        "updated_at": utcnow(),
        "version": item.version + 1,
    }
    changed = session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item.id, ReviewItem.version == version, ReviewItem.codings == 0)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) != 1:
        session.rollback()
        fresh = session.get(ReviewItem, item_id, populate_existing=True)
        raise _stale(fresh or item, version)
    session.refresh(item)
    record(session, item, actor, "assign", before, snapshot(item), comment=comment)
    session.commit()
    return item
