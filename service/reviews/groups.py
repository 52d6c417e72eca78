"""Decide a text once: the open items of one group (same normalised text) share a decision.

A backlog repeats the same few texts thousands of times; an analyst decides the text and the
decision is applied to every other open item of its group that the analyst may decide, each
with its own audit event. Per-record rules still hold: a double-coded item takes the decision
as one blind coding (and still waits for a second coder), an item assigned to other analysts or
already coded by this one is left alone, and an item changed meanwhile is skipped rather than
overwritten (the same version check as a single decision, done for many rows in one UPDATE).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, exists, func, insert, select, update
from sqlalchemy.orm import Session

from service.api_keys import Principal
from service.db.base import utcnow
from service.db.models import ReviewAuditEvent, ReviewCoding, ReviewItem
from service.db.models.reviews import CODING_ACTIONS
from service.reviews.audit import snapshot
from service.reviews.decisions import (
    Decision,
    decide,
    final_code,
    final_tags_of,
    transition,
)
from service.reviews.queue import ReviewFilters, ReviewQueue

_CHUNK = 500


@dataclass(frozen=True)
class GroupDecision:
    item: ReviewItem
    applied_to: int  # items the decision changed or recorded, the decided one included


def _members_where(
    group: str, agency: str, state: str, item_id: uuid.UUID, actor: Principal, coding: bool
) -> list[Any]:
    """The other items of the group in this state (not yet coded by this actor, for a coding);
    assignment is checked apart, in Python, as it is a JSON list. A group never spans agencies:
    one agency's decision is not applied to another's records."""
    where: list[Any] = [
        ReviewItem.group_key == group,
        ReviewItem.agency == agency,
        ReviewItem.state == state,
        ReviewItem.id != item_id,
    ]
    if coding:
        coded = exists().where(
            ReviewCoding.item_id == ReviewItem.id, ReviewCoding.analyst_key_id == actor.key_id
        )
        where.append(~coded)
    return where


def _may_decide(assignees: list[int], actor: Principal) -> bool:
    return not assignees or actor.key_id in assignees or actor.has_role("admin")


def group_members(
    session: Session,
    group: str,
    agency: str,
    state: str,
    item_id: uuid.UUID,
    actor: Principal,
    action: str = "accept",
) -> list[ReviewItem]:
    """The open items (in `state`) a decision of `actor` on item `item_id` also applies to."""
    if state == "decided":
        return []
    where = _members_where(group, agency, state, item_id, actor, action in CODING_ACTIONS)
    query = select(ReviewItem).where(*where).execution_options(populate_existing=True)
    members = session.scalars(query.order_by(ReviewItem.created_at, ReviewItem.id))
    return [m for m in members if _may_decide(m.assignees, actor)]


def group_summary(session: Session, item: ReviewItem, actor: Principal) -> dict[str, Any]:
    """The group as the review page shows it: how many records a decision settles, from where.
    Counted in the database: a group may hold thousands of items."""
    sources: dict[str, int] = defaultdict(int)
    if item.state != "decided":
        sources[item.source] += 1
        where = _members_where(item.group_key, item.agency, item.state, item.id, actor, coding=True)
        for source, n in session.execute(
            select(ReviewItem.source, func.count()).where(*where).group_by(ReviewItem.source)
        ):
            sources[source] += int(n)
        assigned = session.execute(
            select(ReviewItem.source, ReviewItem.assignees).where(
                *where, cast(ReviewItem.assignees, String) != "[]"
            )
        )
        for source, assignees in assigned:
            if not _may_decide(assignees, actor):
                sources[source] -= 1
    return {
        "key": item.group_key,
        "size": sum(sources.values()),
        "sources": [
            {"source": source, "items": n}
            for source, n in sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))
            if n
        ],
    }


def _changed_ids(session: Session, members: list[ReviewItem], values: dict[str, Any]) -> set[Any]:
    """One conditional UPDATE per chunk: only rows still as they were loaded change."""
    changed: set[Any] = set()
    first = members[0]
    for start in range(0, len(members), _CHUNK):
        chunk = members[start : start + _CHUNK]
        result = session.execute(
            update(ReviewItem)
            .where(
                ReviewItem.id.in_([m.id for m in chunk]),
                ReviewItem.state == first.state,
                ReviewItem.version == first.version,
                ReviewItem.codings == first.codings,
            )
            .values(**values)
            .returning(ReviewItem.id)
            .execution_options(synchronize_session=False)
        )
        changed.update(result.scalars())
    return changed


def _apply(
    session: Session,
    members: list[ReviewItem],
    actor: Principal,
    decision: Decision,
    code: str | None,
) -> int:
    """Apply one decision to many items: rows that would change alike are updated together."""
    now = utcnow()
    alike: dict[str, list[ReviewItem]] = defaultdict(list)
    planned: dict[Any, tuple[dict[str, Any], bool]] = {}
    tags_of = final_tags_of(session, members, decision) if code is not None else {}
    for member in members:
        tags = tags_of.get(member.id)
        values, keep_coding = transition(session, member, actor, decision.action, code, tags)
        values.update({k: now for k in ("updated_at", "decided_at") if k in values})
        planned[member.id] = (values, keep_coding)
        shape = json.dumps(
            [member.state, member.version, member.codings, values], default=str, sort_keys=True
        )
        alike[shape].append(member)
    changed: set[Any] = set()
    for same in alike.values():
        changed |= _changed_ids(session, same, planned[same[0].id][0])
    events, codings = [], []
    for member in members:
        if member.id not in changed:
            continue
        values, keep_coding = planned[member.id]
        before = snapshot(member)
        after = {name: values.get(name, value) for name, value in before.items()}
        events.append(_event(member, actor, decision, code, before, after, now))
        if keep_coding and code is not None:
            codings.append(
                {
                    "item_id": member.id,
                    "analyst_key_id": actor.key_id,
                    "analyst_name": actor.name,
                    "action": decision.action,
                    "code": code,
                    "tags": tags_of.get(member.id),
                    "created_at": now,
                }
            )
    if codings:
        session.execute(insert(ReviewCoding), codings)
    if events:
        session.execute(insert(ReviewAuditEvent), events)
    return len(events)


def _event(
    member: ReviewItem,
    actor: Principal,
    decision: Decision,
    code: str | None,
    before: dict[str, Any],
    after: dict[str, Any],
    now: Any,
) -> dict[str, Any]:
    return {
        "item_id": member.id,
        "action": decision.action,
        "actor_key_id": actor.key_id,
        "actor_name": actor.name,
        "actor_role": actor.role,
        "code": code,
        "tags": (decision.tags or None) if code is not None else None,  # the corrections
        "before": before,
        "after": after,
        "model_version": member.model_version,
        "comment": decision.comment,
        "created_at": now,
        "agency": member.agency,
    }


def decide_group(
    session: Session, item_id: uuid.UUID, actor: Principal, decision: Decision
) -> GroupDecision:
    """Decide one item (strictly: 409 if it changed), then the rest of its group (leniently)."""
    item = session.get(ReviewItem, item_id, populate_existing=True)
    state = item.state if item is not None else "decided"
    decided = decide(session, item_id, actor, decision)
    # The rest of the group as it is now, in the state the decided item was in.
    members = group_members(
        session, decided.group_key, decided.agency, state, item_id, actor, decision.action
    )
    if not members:
        return GroupDecision(decided, 1)
    code = None
    if decision.action in CODING_ACTIONS:
        code = final_code(session, decided, decision)
    if decision.action == "skip":
        now = utcnow()
        rows = [_event(m, actor, decision, None, snapshot(m), snapshot(m), now) for m in members]
        session.execute(insert(ReviewAuditEvent), rows)
        applied = len(rows)
    else:
        applied = _apply(session, members, actor, decision, code)
    session.commit()
    return GroupDecision(decided, 1 + applied)


def list_groups(
    session: Session, queue: ReviewQueue, filters: ReviewFilters, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Groups of items matching the filters, most useful first (sum of uncertainty), each with
    its size, sources and one item to open it by; and how many groups there are. A group is one
    agency's (a cross-agency view lists the same text once per agency)."""
    matching = filters.apply(select(ReviewItem.id)).subquery()
    in_filter = ReviewItem.id.in_(select(matching.c.id))
    grouping = (ReviewItem.agency, ReviewItem.group_key)
    distinct_groups = select(*grouping).where(in_filter).group_by(*grouping).subquery()
    total = session.scalar(select(func.count()).select_from(distinct_groups))
    weight = func.sum(queue.uncertainty())
    rows = session.execute(
        select(
            *grouping,
            func.count().label("items"),
            func.min(ReviewItem.confidence).label("min_confidence"),
            func.min(cast(ReviewItem.id, String)).label("first_id"),
        )
        .where(in_filter)
        .group_by(*grouping)
        .order_by(weight.desc(), ReviewItem.group_key, ReviewItem.agency)
        .limit(limit)
        .offset(offset)
    ).all()
    keys = [row.group_key for row in rows]
    sources = _counts_by(session, ReviewItem.source, in_filter, keys)
    states = _counts_by(session, ReviewItem.state, in_filter, keys)
    groups = [
        {
            "key": row.group_key,
            "items": int(row.items),
            "min_confidence": float(row.min_confidence),
            "item_id": uuid.UUID(str(row.first_id)),
            "by_state": states[(row.agency, row.group_key)],
            "sources": [
                {"source": s, "items": n}
                for s, n in sorted(
                    sources[(row.agency, row.group_key)].items(), key=lambda kv: (-kv[1], kv[0])
                )
            ],
        }
        for row in rows
    ]
    return groups, int(total or 0)


def _counts_by(
    session: Session, column: Any, where: Any, keys: list[str]
) -> dict[tuple[str, str], dict[str, int]]:
    """Items per value of `column`, by (agency, group key)."""
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for agency, group, value, n in session.execute(
        select(ReviewItem.agency, ReviewItem.group_key, column, func.count())
        .where(where, ReviewItem.group_key.in_(keys))
        .group_by(ReviewItem.agency, ReviewItem.group_key, column)
    ):
        counts[(agency, group)][value] = int(n)
    return counts
