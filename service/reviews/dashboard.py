"""Figures for the dashboard: records by ICCS section (per batch, over time), the review
backlog and the autocoding rate over time.

API classifications are all stored, so they are counted in the database. Batches store only
the rows needing review; their sections are read once from the kept results file (ids and
codes, no case text) and cached, since a finished batch's results never change.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from iccs.hierarchy import NONE_CODE
from iccs.taxonomy import load_taxonomy
from service.config import Settings
from service.db.models import Batch, Classification, ReviewItem
from service.jobs.config import batches_dir
from service.jobs.runner import RESULTS_FILE
from service.reviews.queue import section_of
from service.reviews.stats import section_title

logger = logging.getLogger(__name__)

MAX_BATCHES = 12


@lru_cache(maxsize=256)
def _results_sections(path: str, _mtime_ns: int, _size: int) -> tuple[tuple[str, int], ...]:
    counts: Counter[str] = Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            suggestions = json.loads(line).get("suggestions") or []
            counts[section_of(suggestions[0]["code"]) if suggestions else "rejected"] += 1
    return tuple(sorted(counts.items()))


def batch_sections(settings: Settings, batch_id: str) -> dict[str, int]:
    """Rows of a finished batch by the section of their first suggestion ({} if no results)."""
    path = batches_dir(settings) / batch_id / RESULTS_FILE
    try:
        stat = path.stat()
        return dict(_results_sections(str(path), stat.st_mtime_ns, stat.st_size))
    except (OSError, ValueError, KeyError, IndexError):
        logger.warning("no readable results for batch %s", batch_id)
        return {}


def _day(value: Any) -> date:
    """func.date() gives a string on SQLite and a date on PostgreSQL."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _section_expression() -> Any:
    return case(
        (Classification.top_code == NONE_CODE, NONE_CODE),
        else_=func.substr(Classification.top_code, 1, 2),
    )


def _api_sections(session: Session) -> dict[str, int]:
    section = _section_expression()
    return {
        s: int(n)
        for s, n in session.execute(
            select(section, func.count()).where(Classification.source == "api").group_by(section)
        )
    }


def _days(now: datetime, days: int) -> list[date]:
    first = now.date() - timedelta(days=days - 1)
    return [first + timedelta(days=i) for i in range(days)]


def _backlog(session: Session, days: list[date]) -> list[dict[str, Any]]:
    """Open items at the end of each day: queued so far minus decided so far."""
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=UTC)
    before = session.scalar(
        select(func.count())
        .select_from(ReviewItem)
        .where(ReviewItem.queued_at < start)
        .where((ReviewItem.decided_at.is_(None)) | (ReviewItem.decided_at >= start))
    )
    queued: Counter[date] = Counter()
    decided: Counter[date] = Counter()
    for column, counter in ((ReviewItem.queued_at, queued), (ReviewItem.decided_at, decided)):
        day = func.date(column)
        for value, n in session.execute(
            select(day, func.count()).where(column >= start).group_by(day)
        ):
            counter[_day(value)] += int(n)
    open_items, series = int(before or 0), []
    for d in days:
        open_items += queued[d] - decided[d]
        series.append({"date": d.isoformat(), "open": open_items})
    return series


def dashboard(
    session: Session, settings: Settings, now: datetime, days: int = 30
) -> dict[str, Any]:
    """Everything the dashboard draws, in one answer."""
    calendar = _days(now, days)
    start = datetime.combine(calendar[0], datetime.min.time(), tzinfo=UTC)
    by_day_section: dict[date, Counter[str]] = {d: Counter() for d in calendar}
    day_total: Counter[date] = Counter()
    day_flagged: Counter[date] = Counter()

    day = func.date(Classification.created_at)
    section = _section_expression()
    flagged = func.sum(case((Classification.needs_review.is_(True), 1), else_=0))
    for value, sec, n, n_flagged in session.execute(
        select(day, section, func.count(), flagged)
        .where(Classification.source == "api", Classification.created_at >= start)
        .group_by(day, section)
    ):
        d = _day(value)
        if d in by_day_section:
            by_day_section[d][sec] += int(n)
            day_total[d] += int(n)
            day_flagged[d] += int(n_flagged or 0)

    batches = session.scalars(
        select(Batch)
        .where(Batch.state == "succeeded")
        .order_by(Batch.finished_at.desc())
        .limit(MAX_BATCHES)
    ).all()
    per_batch = [{"batch": "api", "label": "API requests", "sections": _api_sections(session)}]
    for batch in batches:
        sections = batch_sections(settings, batch.id)
        per_batch.append({"batch": batch.id, "label": batch.filename, "sections": sections})
        finished = batch.finished_at
        if finished is not None and (d := finished.date()) in by_day_section:
            by_day_section[d].update({k: v for k, v in sections.items() if k != "rejected"})
            day_total[d] += batch.rows_done - batch.rows_rejected
            day_flagged[d] += batch.rows_need_review

    legend = [s.code for s in load_taxonomy().sections()] + [NONE_CODE]
    return {
        "sections": [{"code": s, "title": section_title(s)} for s in legend],
        "by_batch": per_batch,
        "by_day": [{"date": d.isoformat(), "sections": dict(by_day_section[d])} for d in calendar],
        "backlog": _backlog(session, calendar),
        "autocoding": [
            {
                "date": d.isoformat(),
                "records": day_total[d],
                "rate": round(1 - day_flagged[d] / day_total[d], 4) if day_total[d] else None,
            }
            for d in calendar
        ],
        "generated_at": now,
    }
