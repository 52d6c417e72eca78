"""Figures for the dashboard, within a scope (period, batch, submitting key, level of the ICCS
tree): records by category per batch and per day, the autocoding rate per day, the review
backlog, and model-analyst agreement by category. Every rate comes with its n.

API classifications are all stored, so they are counted in the database. Batches store only
the rows needing review; their codes are read once from the kept results file (ids and codes,
no case text) and cached, since a finished batch's results never change. A batch counts on the
day it finished.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from service.agencies import AgencyScope
from service.config import Settings
from service.db.models import ApiKey, Batch, Classification, ReviewItem
from service.jobs.results import REJECTED, result_counts
from service.reviews.dashboard_scope import Breakdown, DashboardScope, breakdown

logger = logging.getLogger(__name__)

MAX_BATCHES = 12


@dataclass(frozen=True)
class Tally:
    """Records of one day and source with one model code, flagged for review or not."""

    day: date
    source: str
    code: str
    flagged: bool
    n: int


def batch_codes(settings: Settings, batch_id: str) -> list[tuple[str, bool, int]]:
    """(first code, needs review, rows) of a finished batch ([] if it has no results)."""
    rows: Counter[tuple[str, bool]] = Counter()
    for code, flagged, _tags, n in result_counts(settings, batch_id):
        rows[(code, flagged)] += n
    return [(code, flagged, n) for (code, flagged), n in sorted(rows.items())]


def _day(value: Any) -> date:
    """func.date() gives a string on SQLite and a date on PostgreSQL."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _api_tallies(session: Session, scope: DashboardScope) -> list[Tally]:
    if not scope.includes_api():
        return []
    day = func.date(Classification.created_at)
    query = select(day, Classification.top_code, Classification.needs_review, func.count()).where(
        scope.agencies.where(Classification.agency),
        Classification.source == "api",
        Classification.created_at >= scope.start,
        Classification.created_at < scope.end,
    )
    if scope.api_key_id is not None:
        query = query.where(Classification.api_key_id == scope.api_key_id)
    if scope.code is not None:
        query = query.where(Classification.top_code.startswith(scope.code))
    query = query.group_by(day, Classification.top_code, Classification.needs_review)
    return [
        Tally(_day(d), "api", code, bool(flagged), int(n))
        for d, code, flagged, n in session.execute(query)
    ]


def _batches(session: Session, scope: DashboardScope) -> list[Batch]:
    if scope.batch == "api":
        return []
    query = select(Batch).where(
        scope.agencies.where(Batch.agency),
        Batch.state == "succeeded",
        Batch.finished_at >= scope.start,
        Batch.finished_at < scope.end,
    )
    if scope.batch is not None:
        query = query.where(Batch.id == scope.batch)
    if scope.api_key_id is not None:
        query = query.where(Batch.api_key_id == scope.api_key_id)
    return list(session.scalars(query.order_by(Batch.finished_at.desc())))


def _batch_tallies(settings: Settings, batches: list[Batch], scope: DashboardScope) -> list[Tally]:
    tallies = []
    for batch in batches:
        assert batch.finished_at is not None
        finished = batch.finished_at.astimezone(UTC).date()
        for code, flagged, n in batch_codes(settings, batch.id):
            if code == REJECTED or scope.within(code):
                tallies.append(Tally(finished, batch.id, code, flagged, n))
    return tallies


def _backlog(session: Session, scope: DashboardScope) -> list[dict[str, Any]]:
    """Open items at the end of each day: queued so far minus decided so far."""
    where = _review_filters(scope)
    start = scope.start
    before = session.scalar(
        select(func.count())
        .select_from(ReviewItem)
        .join(Classification, Classification.id == ReviewItem.id)
        .where(*where, ReviewItem.queued_at < start)
        .where((ReviewItem.decided_at.is_(None)) | (ReviewItem.decided_at >= start))
    )
    queued: Counter[date] = Counter()
    decided: Counter[date] = Counter()
    for column, counter in ((ReviewItem.queued_at, queued), (ReviewItem.decided_at, decided)):
        day = func.date(column)
        for value, n in session.execute(
            select(day, func.count())
            .join(Classification, Classification.id == ReviewItem.id)
            .where(*where, column >= start, column < scope.end)
            .group_by(day)
        ):
            counter[_day(value)] += int(n)
    open_items, series = int(before or 0), []
    for d in scope.days():
        open_items += queued[d] - decided[d]
        series.append({"date": d.isoformat(), "open": open_items})
    return series


def _review_filters(scope: DashboardScope) -> list[Any]:
    where: list[Any] = [scope.agencies.where(ReviewItem.agency)]
    if scope.batch is not None:
        where.append(ReviewItem.source == scope.batch)
    if scope.code is not None:
        where.append(ReviewItem.model_code.startswith(scope.code))
    if scope.api_key_id is not None:
        batch_ids = select(Batch.id).where(Batch.api_key_id == scope.api_key_id)
        where.append(
            or_(
                and_(ReviewItem.source == "api", Classification.api_key_id == scope.api_key_id),
                ReviewItem.source.in_(batch_ids),
            )
        )
    return where


def _agreement(session: Session, scope: DashboardScope, split: Breakdown) -> dict[str, Any]:
    """Items decided in the period, by the category of the model's code: how often analysts
    kept the model's code, and its category."""
    rows = session.execute(
        select(ReviewItem.model_code, ReviewItem.final_code, ReviewItem.text_key)
        .join(Classification, Classification.id == ReviewItem.id)
        .where(
            *_review_filters(scope),
            ReviewItem.state == "decided",
            ReviewItem.decided_at >= scope.start,
            ReviewItem.decided_at < scope.end,
        )
    ).all()
    n: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    same: Counter[str] = Counter()
    texts: dict[str, set[str]] = defaultdict(set)
    for model_code, final, key in rows:
        category = split.category_of(model_code)
        if category is None:
            continue
        n[category] += 1
        texts[category].add(key)
        exact[category] += final == model_code
        same[category] += split.category_of(final or "") == category
    titles = {c["code"]: c["title"] for c in split.categories}
    by_category = [
        {
            "code": c,
            "title": titles.get(c, c),
            "n": n[c],
            "texts": len(texts[c]),
            "exact_agreement": _ratio(exact[c], n[c]),
            "category_agreement": _ratio(same[c], n[c]),
        }
        for c in titles
        if n[c]
    ]
    total = sum(n.values())
    return {
        "n": total,
        "texts": len(set().union(*texts.values())) if texts else 0,
        "exact_agreement": _ratio(sum(exact.values()), total),
        "category_agreement": _ratio(sum(same.values()), total),
        "by_category": by_category,
    }


def _choices(session: Session, agencies: AgencyScope) -> dict[str, Any]:
    """What the filters offer: recent batches and the keys that submitted records (of the
    agencies in scope)."""
    batches = session.scalars(
        select(Batch)
        .where(Batch.state == "succeeded", agencies.where(Batch.agency))
        .order_by(Batch.finished_at.desc())
        .limit(50)
    ).all()
    submitted = (
        select(Classification.api_key_id)
        .where(agencies.where(Classification.agency))
        .distinct()
        .union(select(Batch.api_key_id).where(agencies.where(Batch.agency)))
    )
    keys = session.execute(
        select(ApiKey.id, ApiKey.name)
        .where(ApiKey.id.in_(submitted), agencies.where(ApiKey.agency))
        .order_by(ApiKey.name)
    ).all()
    return {
        "batches": [{"batch": "api", "label": "API requests"}]
        + [{"batch": b.id, "label": b.filename} for b in batches],
        "submitters": [{"api_key_id": key_id, "name": name} for key_id, name in keys],
    }


def dashboard(
    session: Session, settings: Settings, scope: DashboardScope, now: datetime
) -> dict[str, Any]:
    """Everything the dashboard draws, in one answer."""
    split = breakdown(scope.code)
    batches = _batches(session, scope)
    tallies = _api_tallies(session, scope) + _batch_tallies(settings, batches, scope)
    per_source: dict[str, Counter[str]] = defaultdict(Counter)
    rejected: Counter[str] = Counter()
    per_day: dict[date, Counter[str]] = {d: Counter() for d in scope.days()}
    day_records: Counter[date] = Counter()
    day_flagged: Counter[date] = Counter()
    for t in tallies:
        if t.code == REJECTED:
            rejected[t.source] += t.n
            continue
        category = split.category_of(t.code)
        if category is None or t.day not in per_day:
            continue
        per_source[t.source][category] += t.n
        per_day[t.day][category] += t.n
        day_records[t.day] += t.n
        day_flagged[t.day] += t.n if t.flagged else 0
    sources = [("api", "API requests")] if scope.includes_api() else []
    sources += [(b.id, b.filename) for b in batches[:MAX_BATCHES]]
    records, flagged = sum(day_records.values()), sum(day_flagged.values())
    return {
        "scope": {
            "since": scope.since,
            "until": scope.until,
            "batch": scope.batch,
            "api_key_id": scope.api_key_id,
            "code": scope.code,
        },
        "drill": split.parent,
        "path": split.path,
        "categories": split.categories,
        "summary": {
            "records": records,
            "auto_coded": records - flagged,
            "autocoding_rate": _ratio(records - flagged, records),
        },
        "by_batch": [
            {
                "batch": source,
                "label": label,
                "records": sum(per_source[source].values()),
                "rejected": rejected[source],
                "categories": dict(per_source[source]),
            }
            for source, label in sources
        ],
        "by_day": [
            {"date": d.isoformat(), "records": day_records[d], "categories": dict(per_day[d])}
            for d in scope.days()
        ],
        "autocoding": [
            {
                "date": d.isoformat(),
                "records": day_records[d],
                "auto_coded": day_records[d] - day_flagged[d],
                "rate": _ratio(day_records[d] - day_flagged[d], day_records[d]),
            }
            for d in scope.days()
        ],
        "backlog": _backlog(session, scope),
        "agreement": _agreement(session, scope, split),
        "choices": _choices(session, scope.agencies),
        "generated_at": now,
    }
