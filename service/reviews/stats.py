"""Quality figures: autocoding rate, measured precision, agreement, queue size and throughput.

The autocoding rate counts every record the service coded: API classifications (all stored)
and batch rows (counted on the batch, since batches store only the rows needing review).
Precision of auto-coded records is measured on the quality-control sample, not assumed.
Every figure is limited to the agencies the caller sees.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from iccs.codes import code_section
from iccs.hierarchy import NONE_CODE, NONE_TITLE
from iccs.taxonomy import load_taxonomy
from service.agencies import AgencyScope
from service.db.models import Batch, Classification, ReviewAuditEvent, ReviewCoding, ReviewItem
from service.db.models.reviews import OPEN_STATES
from service.reviews.kappa import cohen_kappa, wilson_interval


def as_utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def section_title(section: str) -> str:
    if section == NONE_CODE:
        return NONE_TITLE
    taxonomy = load_taxonomy()
    return taxonomy.get(section).title_en if section in taxonomy else section


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def autocoding(session: Session, scope: AgencyScope) -> dict[str, Any]:
    flagged = func.sum(case((Classification.needs_review.is_(True), 1), else_=0))
    api_total, api_flagged = session.execute(
        select(func.count(), flagged).where(
            Classification.source == "api", scope.where(Classification.agency)
        )
    ).one()
    batch_total, batch_flagged = session.execute(
        select(
            func.sum(Batch.rows_done - Batch.rows_rejected), func.sum(Batch.rows_need_review)
        ).where(scope.where(Batch.agency))
    ).one()
    forced = session.scalar(
        select(func.count())
        .select_from(ReviewItem)
        .where(ReviewItem.reason == "section_threshold", scope.where(ReviewItem.agency))
    )
    total = int(api_total or 0) + int(batch_total or 0)
    needing = int(api_flagged or 0) + int(batch_flagged or 0) + int(forced or 0)
    return {
        "records": total,
        "auto_coded": total - needing,
        "needing_review": needing,
        "autocoding_rate": _ratio(total - needing, total),
    }


def quality_control(session: Session, scope: AgencyScope) -> dict[str, Any]:
    in_scope = scope.where(ReviewItem.agency)
    sampled = session.scalar(
        select(func.count())
        .select_from(ReviewItem)
        .where(ReviewItem.reason == "qc_sample", in_scope)
    )
    decided = session.execute(
        select(ReviewItem.model_code, ReviewItem.final_code).where(
            ReviewItem.reason == "qc_sample", ReviewItem.state == "decided", in_scope
        )
    ).all()
    agreed = sum(1 for row in decided if row.final_code == row.model_code)
    interval = wilson_interval(agreed, len(decided))
    return {
        "sampled": int(sampled or 0),
        "reviewed": len(decided),
        "correct": agreed,
        "precision": _ratio(agreed, len(decided)),
        "precision_ci95": [round(v, 4) for v in interval] if interval else None,
    }


def model_analyst_agreement(session: Session, scope: AgencyScope) -> dict[str, Any]:
    """By the model's section: how often the analysts' final code is the model's code."""
    rows = session.execute(
        select(
            ReviewItem.section, ReviewItem.model_code, ReviewItem.final_code, ReviewItem.text_key
        ).where(ReviewItem.state == "decided", scope.where(ReviewItem.agency))
    ).all()
    texts: dict[str, set[str]] = defaultdict(set)
    n: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    same_section: Counter[str] = Counter()
    for row in rows:
        final = row.final_code or ""
        n[row.section] += 1
        texts[row.section].add(row.text_key)
        exact[row.section] += final == row.model_code
        same_section[row.section] += code_section(final) == row.section
    by_section = [
        {
            "section": section,
            "title": section_title(section),
            "n": n[section],
            "texts": len(texts[section]),
            "exact_agreement": _ratio(exact[section], n[section]),
            "section_agreement": _ratio(same_section[section], n[section]),
        }
        for section in sorted(n)
    ]
    total = sum(n.values())
    return {
        "n": total,
        "texts": len({row.text_key for row in rows}),
        "exact_agreement": _ratio(sum(exact.values()), total),
        "section_agreement": _ratio(sum(same_section.values()), total),
        "by_section": by_section,
    }


def double_coding(session: Session, scope: AgencyScope) -> dict[str, Any]:
    """Cohen's kappa between the first and the second blind coding of double-coded items."""
    codings: dict[Any, list[str]] = defaultdict(list)
    for item_id, code in session.execute(
        select(ReviewCoding.item_id, ReviewCoding.code)
        .join(ReviewItem, ReviewItem.id == ReviewCoding.item_id)
        .where(scope.where(ReviewItem.agency))
        .order_by(ReviewCoding.id)
    ):
        codings[item_id].append(code)
    pairs = [codes[:2] for codes in codings.values() if len(codes) >= 2]
    first, second = [p[0] for p in pairs], [p[1] for p in pairs]
    kappa = cohen_kappa(first, second)
    kappa_section = cohen_kappa([code_section(c) for c in first], [code_section(c) for c in second])
    double = session.scalar(
        select(func.count())
        .select_from(ReviewItem)
        .where(ReviewItem.required_codings > 1, scope.where(ReviewItem.agency))
    )
    return {
        "items": int(double or 0),
        "pairs": len(pairs),
        "observed_agreement": _ratio(sum(a == b for a, b in pairs), len(pairs)),
        "kappa": None if kappa is None else round(kappa, 4),
        "kappa_section": None if kappa_section is None else round(kappa_section, 4),
    }


def queue_figures(session: Session, scope: AgencyScope) -> dict[str, Any]:
    in_scope = scope.where(ReviewItem.agency)
    by_state = dict.fromkeys(("pending", "escalated", "decided"), 0)
    for state, count in session.execute(
        select(ReviewItem.state, func.count()).where(in_scope).group_by(ReviewItem.state)
    ):
        by_state[state] = int(count)
    by_reason = {
        reason: int(count)
        for reason, count in session.execute(
            select(ReviewItem.reason, func.count())
            .where(ReviewItem.state.in_(OPEN_STATES), in_scope)
            .group_by(ReviewItem.reason)
        )
    }
    texts = session.scalar(
        select(func.count(func.distinct(ReviewItem.text_key))).where(
            ReviewItem.state.in_(OPEN_STATES), in_scope
        )
    )
    return {
        "size": by_state["pending"] + by_state["escalated"],
        "texts": int(texts or 0),
        "by_state": by_state,
        "open_by_reason": by_reason,
    }


def throughput(
    session: Session, now: datetime, scope: AgencyScope, days: int = 14
) -> dict[str, Any]:
    since = now - timedelta(days=days - 1)
    start = datetime.combine(since.date(), datetime.min.time(), tzinfo=UTC)
    decided_times = session.scalars(
        select(ReviewItem.decided_at).where(
            ReviewItem.decided_at >= start, scope.where(ReviewItem.agency)
        )
    ).all()
    per_day: Counter[date] = Counter(as_utc(t).date() for t in decided_times if t is not None)
    day_ago = now - timedelta(days=1)
    actions_24h = session.scalar(
        select(func.count())
        .select_from(ReviewAuditEvent)
        .where(
            ReviewAuditEvent.created_at >= day_ago,
            ReviewAuditEvent.action != "skip",
            scope.where(ReviewAuditEvent.agency),
        )
    )
    decided_24h = sum(1 for t in decided_times if t is not None and as_utc(t) >= day_ago)
    return {
        "decided_last_24h": decided_24h,
        "decided_last_7d": sum(
            n for d, n in per_day.items() if d > (now - timedelta(days=7)).date()
        ),
        "actions_last_24h": int(actions_24h or 0),
        "decided_per_day": [
            {"date": day.isoformat(), "decided": per_day[day]}
            for day in (start.date() + timedelta(days=i) for i in range(days))
        ],
    }


def review_stats(session: Session, now: datetime, scope: AgencyScope) -> dict[str, Any]:
    return {
        "autocoding": autocoding(session, scope),
        "quality_control": quality_control(session, scope),
        "model_analyst_agreement": model_analyst_agreement(session, scope),
        "double_coding": double_coding(session, scope),
        "queue": queue_figures(session, scope),
        "throughput": throughput(session, now, scope),
        "generated_at": now,
    }


def analyst_progress(session: Session, key_id: int, now: datetime) -> dict[str, int]:
    """One analyst's decisions (codings, escalations, adjudications; not skips)."""
    today = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    decided = ReviewAuditEvent.action.not_in(("skip", "assign"))
    mine = (
        select(func.count())
        .select_from(ReviewAuditEvent)
        .where(ReviewAuditEvent.actor_key_id == key_id, decided)
    )
    return {
        "today": int(session.scalar(mine.where(ReviewAuditEvent.created_at >= today)) or 0),
        "total": int(session.scalar(mine) or 0),
    }
