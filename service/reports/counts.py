"""Counts by ICCS section or division crossed with each tag: the table a statistical office
publishes (cyber-dependent and cyber-enabled shares per section, attempts, weapons, context).

Each record counts once, with the code and tags that stand: the analysts' once a review decided
them, else the model's. API classifications are all stored, so they are read from the database;
batches store only their rows needing review, so a batch's rows are counted from its kept
results file (ids, codes and tags; no case text; counted once per file), and each decided review
of that batch moves one record from the model's code and tags to the analysts'.
A batch belongs to the period it was submitted in.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from iccs.hierarchy import NONE_CODE
from iccs.tags import CYBER_RELATED, TAGS
from iccs.taxonomy import CodeError, load_taxonomy
from service.agencies import ALL_AGENCIES, AgencyScope
from service.config import Settings
from service.db.models import Batch, Classification, ReviewItem
from service.jobs.results import REJECTED, TagKey, model_tags, result_counts
from service.reviews.stats import as_utc

logger = logging.getLogger(__name__)

GroupBy = Literal["section", "division"]
Weighted = tuple[str, dict[str, str], int]  # (code, tags, how many records: -1 takes one back)
NOT_TAGGED = "not_tagged"  # records classified by a model without tags


@dataclass(frozen=True)
class CountQuery:
    group_by: GroupBy = "section"
    tags: tuple[str, ...] = tuple(TAGS)
    batch_id: str | None = None
    period_from: datetime | None = None  # inclusive; naive times are UTC
    period_to: datetime | None = None  # exclusive
    agencies: AgencyScope = ALL_AGENCIES  # whose records are counted


@dataclass
class GroupCounts:
    records: int = 0
    by_tag: dict[str, Counter[str]] = field(default_factory=dict)


def group_code(code: str, group_by: GroupBy) -> str:
    """The section (2 digits) or division (4 digits) of a code; NONE stays NONE, and a code
    coded only at section level stays a section under `division`."""
    if code in (NONE_CODE, REJECTED):
        return code
    return code[:2] if group_by == "section" else code[:4]


def group_title(code: str) -> str:
    if code == NONE_CODE:
        return "Not a criminal offence"
    if code == REJECTED:
        return "Rejected rows (not classified)"
    try:
        return load_taxonomy().get(code).title("en")
    except (CodeError, KeyError):
        return code


def _in_period(when: datetime | None, query: CountQuery) -> bool:
    if when is None:
        return True
    moment = as_utc(when)
    if query.period_from is not None and moment < as_utc(query.period_from):
        return False
    return query.period_to is None or moment < as_utc(query.period_to)


def _decided(item: ReviewItem | None) -> bool:
    return item is not None and item.state == "decided" and item.final_code is not None


def _api_records(session: Session, query: CountQuery) -> Iterator[tuple[str, dict[str, str]]]:
    statement = (
        select(Classification.top_code, Classification.tags, ReviewItem)
        .outerjoin(ReviewItem, ReviewItem.id == Classification.id)
        .where(Classification.source == "api", query.agencies.where(Classification.agency))
    )
    if query.period_from is not None:
        statement = statement.where(Classification.created_at >= as_utc(query.period_from))
    if query.period_to is not None:
        statement = statement.where(Classification.created_at < as_utc(query.period_to))
    for code, tags, item in session.execute(statement.execution_options(yield_per=2000)):
        if _decided(item):
            yield item.final_code, item.final_tags or model_tags(tags)
        else:
            yield code, model_tags(tags)


def _batch_records(session: Session, settings: Settings, batch_id: str) -> Iterator[Weighted]:
    """The file's counts, then each decided review row moved from the model's code and tags
    (kept on its stored classification) to the analysts'."""
    rows: Counter[tuple[str, TagKey]] = Counter()
    for code, _flagged, tags, n in result_counts(settings, batch_id):
        rows[(code, tags)] += n
    for (code, tags), n in rows.items():
        yield code, dict(tags), n
    decided = session.execute(
        select(Classification.top_code, Classification.tags, ReviewItem)
        .join(ReviewItem, ReviewItem.id == Classification.id)
        .where(Classification.source == batch_id, ReviewItem.state == "decided")
    )
    for code, tags, item in decided:
        if item.final_code is not None:
            yield code, model_tags(tags), -1
            yield item.final_code, item.final_tags or model_tags(tags), 1


def _records(session: Session, settings: Settings, query: CountQuery) -> Iterator[Weighted]:
    if query.batch_id is None:
        for code, tags in _api_records(session, query):
            yield code, tags, 1
    batches = select(Batch.id, Batch.created_at).where(
        Batch.state == "succeeded", query.agencies.where(Batch.agency)
    )
    if query.batch_id is not None:
        batches = batches.where(Batch.id == query.batch_id)
    for batch_id, created_at in session.execute(batches).all():
        if _in_period(created_at, query):
            yield from _batch_records(session, settings, batch_id)


def count_records(
    session: Session, settings: Settings, query: CountQuery
) -> tuple[dict[str, GroupCounts], GroupCounts]:
    """Counts per group code (sorted) and over all records."""
    groups: dict[str, GroupCounts] = {}
    total = GroupCounts(by_tag={tag: Counter() for tag in query.tags})
    for code, tags, n in _records(session, settings, query):
        key = group_code(code, query.group_by)
        group = groups.setdefault(key, GroupCounts(by_tag={tag: Counter() for tag in query.tags}))
        for counts in (group, total):
            counts.records += n
            for tag in query.tags:
                counts.by_tag[tag][tags.get(tag, NOT_TAGGED)] += n
    for counts in (*groups.values(), total):  # a review can empty a value, or a group
        for values in counts.by_tag.values():
            for value in [v for v, n in values.items() if n <= 0]:
                del values[value]
    return {k: g for k, g in sorted(groups.items()) if g.records > 0}, total


def cyber_related_share(counts: GroupCounts) -> float | None:
    cyber = counts.by_tag.get("cyber")
    if cyber is None or not counts.records:
        return None
    return sum(cyber[v] for v in CYBER_RELATED) / counts.records


def value_columns(tags: tuple[str, ...]) -> list[tuple[str, str]]:
    """(tag, value) per column of the wide table, `not_tagged` last for each tag."""
    return [(tag, value) for tag in tags for value in (*TAGS[tag], NOT_TAGGED)]
