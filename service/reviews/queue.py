"""The review queue: which classifications enter it, and in which order analysts see them.

Classifications are written by the API's group commit and by batch workers; the queue picks
them up from the `classifications` table (a scan from where it last stopped, a little further
back for rows committed late) rather than asking every writer to know about reviews. A record
is queued when the model flagged it (low confidence, back-off or `NONE`), when its section has a
stricter threshold in the settings, or when it falls in the quality-control sample of auto-coded
records (a deterministic hash of its id, so every process draws the same sample).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from iccs.codes import code_section
from iccs.hierarchy import NONE_CODE
from iccs.records import CORRESPONDENCE_SOURCE  # answered from a validated table: no review
from iccs.taxonomy import load_taxonomy
from iccs.text import normalize
from service.agencies import ALL_AGENCIES, AgencyScope
from service.api_keys import Principal
from service.config import ReviewSettings
from service.db.base import utcnow
from service.db.models import (
    Classification,
    ReviewAuditEvent,
    ReviewCoding,
    ReviewItem,
    ReviewQueueState,
)
from service.db.models.reviews import OPEN_STATES

logger = logging.getLogger(__name__)

SCAN_CHUNK = 5000
_STATE_ROW = 1


def sample_fraction(item_id: uuid.UUID, salt: str) -> float:
    """A stable number in [0, 1) per record: the same sample in every process and every run."""
    digest = hashlib.sha256(f"{salt}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def text_key(text: str) -> str:
    """Groups the spellings of one text (case, accents, spacing, abbreviations folded)."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()[:16]


def group_key(text: str, scheme: str | None = None, national_code: str | None = None) -> str:
    """What makes records one question for an analyst: the normalised text and, where a record
    carries them, its coding scheme and national code (the same text under two national codes
    may need two ICCS codes). Without those it equals `text_key`, so old items keep their group.
    """
    if not scheme and not national_code:
        return text_key(text)
    parts = (normalize(text), (scheme or "").strip().casefold(), (national_code or "").strip())
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def queue_reason(
    item_id: uuid.UUID,
    needs_review: bool,
    top_code: str,
    confidence: float,
    settings: ReviewSettings,
) -> str | None:
    """Why a record needs a person, or None when it stays auto-coded."""
    taxonomy = load_taxonomy()
    if needs_review:
        if top_code == NONE_CODE:
            return "no_offence"
        if top_code in taxonomy and not taxonomy.is_leaf(top_code):
            return "back_off"
        return "low_confidence"
    threshold = settings.section_thresholds.get(code_section(top_code))
    if threshold is not None and confidence < threshold:
        return "section_threshold"
    if sample_fraction(item_id, "qc") < settings.qc_rate:
        return "qc_sample"
    return None


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    """Two processes may scan the same records; the second insert of an item is a no-op."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(ReviewItem).on_conflict_do_nothing(), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(ReviewItem).on_conflict_do_nothing(), rows)


def _queue_rows(
    session: Session, candidates: list[tuple[uuid.UUID, str]], settings: ReviewSettings
) -> int:
    reasons = dict(candidates)
    details = session.execute(
        select(
            Classification.id,
            Classification.text,
            Classification.language,
            Classification.source,
            Classification.model_version,
            Classification.top_code,
            Classification.confidence,
            Classification.created_at,
            Classification.agency,
        ).where(Classification.id.in_(list(reasons)))
    ).all()
    now = utcnow()
    rows = [
        {
            "id": d.id,
            "state": "pending",
            "reason": reasons[d.id],
            "section": code_section(d.top_code),
            "model_code": d.top_code,
            "confidence": d.confidence,
            "language": d.language,
            "source": d.source,
            "text_key": text_key(d.text),
            "group_key": group_key(d.text),
            "model_version": d.model_version,
            "required_codings": 2
            if sample_fraction(d.id, "double") < settings.double_coding_rate
            else 1,
            "codings": 0,
            "assignees": [],
            "version": 1,
            "created_at": d.created_at,
            "queued_at": now,
            "updated_at": now,
            "agency": d.agency,
        }
        for d in details
    ]
    if rows:
        _insert_ignoring_duplicates(session, rows)
    return len(rows)


def enqueue_new_classifications(session: Session, settings: ReviewSettings) -> int:
    """Queue the classifications stored since the last scan; returns how many were queued."""
    state = session.get(ReviewQueueState, _STATE_ROW)
    scanned_until: datetime | None = state.scanned_until if state else None
    start = scanned_until - timedelta(seconds=settings.sync_lag_seconds) if scanned_until else None
    not_queued = ~exists().where(ReviewItem.id == Classification.id)
    cursor: tuple[datetime, uuid.UUID] | None = None
    queued = 0
    while True:
        query = select(
            Classification.id,
            Classification.created_at,
            Classification.needs_review,
            Classification.top_code,
            Classification.confidence,
        ).where(not_queued, Classification.source != CORRESPONDENCE_SOURCE)
        if start is not None:
            query = query.where(Classification.created_at >= start)
        if cursor is not None:
            query = query.where(
                or_(
                    Classification.created_at > cursor[0],
                    and_(Classification.created_at == cursor[0], Classification.id > cursor[1]),
                )
            )
        rows = session.execute(
            query.order_by(Classification.created_at, Classification.id).limit(SCAN_CHUNK)
        ).all()
        if not rows:
            break
        candidates = []
        for row in rows:
            reason = queue_reason(row.id, row.needs_review, row.top_code, row.confidence, settings)
            if reason is not None:
                candidates.append((row.id, reason))
        if candidates:
            queued += _queue_rows(session, candidates, settings)
        cursor = (rows[-1].created_at, rows[-1].id)
        if scanned_until is None or cursor[0] > scanned_until:
            scanned_until = cursor[0]
        if len(rows) < SCAN_CHUNK:
            break
    if state is None:
        state = ReviewQueueState(id=_STATE_ROW)
        session.add(state)
    state.scanned_until = scanned_until
    state.updated_at = utcnow()
    session.commit()
    if queued:
        logger.info("queued %d classifications for review", queued)
    return queued


@dataclass(frozen=True)
class ReviewFilters:
    """`state`: open (pending or escalated), pending, escalated, decided or all; `scope`: the
    agencies the caller sees."""

    state: str = "open"
    batch: str | None = None
    section: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    language: str | None = None
    reason: str | None = None
    scope: AgencyScope = ALL_AGENCIES

    def apply(self, query: Select[Any]) -> Select[Any]:
        if not self.scope.everything:
            query = query.where(self.scope.where(ReviewItem.agency))
        if self.state == "open":
            query = query.where(ReviewItem.state.in_(OPEN_STATES))
        elif self.state != "all":
            query = query.where(ReviewItem.state == self.state)
        if self.batch is not None:
            query = query.where(ReviewItem.source == self.batch)
        if self.section is not None:
            query = query.where(ReviewItem.section == self.section)
        if self.min_confidence is not None:
            query = query.where(ReviewItem.confidence >= self.min_confidence)
        if self.max_confidence is not None:
            query = query.where(ReviewItem.confidence <= self.max_confidence)
        if self.language is not None:
            query = query.where(ReviewItem.language == self.language)
        if self.reason is not None:
            query = query.where(ReviewItem.reason == self.reason)
        return query


class ReviewQueue:
    """The queue of one service process: its settings and a throttle on scans."""

    def __init__(self, settings: ReviewSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._last_scan = -math.inf

    def sync(self, session: Session, force: bool = False) -> int:
        """Pick up new classifications, at most once per `sync_interval_seconds`."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last_scan < self.settings.sync_interval_seconds:
                return 0
            self._last_scan = now
            return enqueue_new_classifications(session, self.settings)

    def uncertainty(self) -> Any:
        """How likely an item's model code is wrong, as the queue orders by it."""
        return case(
            (ReviewItem.reason == "qc_sample", self.settings.qc_uncertainty),
            else_=1.0 - ReviewItem.confidence,
        )

    def _ordered(self, query: Select[Any]) -> Select[Any]:
        """Most useful first: expected wrong records fixed = group size x uncertainty (a group
        never spans agencies)."""
        frequency = (
            select(ReviewItem.agency, ReviewItem.group_key, func.count().label("n"))
            .where(ReviewItem.state.in_(OPEN_STATES))
            .group_by(ReviewItem.agency, ReviewItem.group_key)
            .subquery()
        )
        uncertainty = self.uncertainty()
        same_text = func.coalesce(frequency.c.n, 1)
        same_group = and_(
            frequency.c.group_key == ReviewItem.group_key, frequency.c.agency == ReviewItem.agency
        )
        return (
            query.add_columns(same_text.label("same_text"))
            .outerjoin(frequency, same_group)
            .order_by(
                (same_text * uncertainty).desc(),
                ReviewItem.confidence,
                ReviewItem.created_at,
                ReviewItem.id,
            )
        )

    def list(
        self, session: Session, filters: ReviewFilters, limit: int, offset: int
    ) -> tuple[list[tuple[ReviewItem, int]], int]:
        """A page of items with their same-text counts, and the total matching the filters."""
        total = session.scalar(filters.apply(select(func.count()).select_from(ReviewItem))) or 0
        query = self._ordered(filters.apply(select(ReviewItem))).limit(limit).offset(offset)
        return [(row[0], int(row[1])) for row in session.execute(query).all()], int(total)

    def next_for(
        self, session: Session, analyst: Principal, scope: AgencyScope | None = None
    ) -> ReviewItem | None:
        """The first item this analyst may decide now (within `scope`, by default the
        analyst's agencies): not coded or skipped by them, assigned to them or to nobody;
        admins get escalated items first."""
        states: Sequence[str] = (
            ("escalated", "pending") if analyst.has_role("admin") else ("pending",)
        )
        for state in states:
            item = self._first_open(session, analyst, state, scope or analyst.scope)
            if item is not None:
                return item
        return None

    def _first_open(
        self, session: Session, analyst: Principal, state: str, scope: AgencyScope
    ) -> ReviewItem | None:
        mine_coded = exists().where(
            ReviewCoding.item_id == ReviewItem.id, ReviewCoding.analyst_key_id == analyst.key_id
        )
        mine_skipped = exists().where(
            ReviewAuditEvent.item_id == ReviewItem.id,
            ReviewAuditEvent.actor_key_id == analyst.key_id,
            ReviewAuditEvent.action == "skip",
        )
        base = select(ReviewItem).where(
            ReviewItem.state == state, ~mine_coded, ~mine_skipped, scope.where(ReviewItem.agency)
        )
        page, offset = 50, 0
        while True:
            rows = session.execute(self._ordered(base).limit(page).offset(offset)).all()
            for row in rows:
                item: ReviewItem = row[0]
                if not item.assignees or analyst.key_id in item.assignees:
                    return item
            if len(rows) < page:
                return None
            offset += page

    def open_counts(self, session: Session, scope: AgencyScope) -> dict[str, int]:
        rows = session.execute(
            select(ReviewItem.state, func.count())
            .where(ReviewItem.state.in_(OPEN_STATES), scope.where(ReviewItem.agency))
            .group_by(ReviewItem.state)
        ).all()
        counts = {state: 0 for state in OPEN_STATES}
        counts.update({state: int(n) for state, n in rows})
        return counts


_QUEUE_LOCK = threading.Lock()


def queue_for(state: Any) -> ReviewQueue:
    """The app's queue (`app.state.review_queue`), made from its settings on first use."""
    with _QUEUE_LOCK:
        queue: ReviewQueue | None = getattr(state, "review_queue", None)
        if queue is None:
            queue = ReviewQueue(state.settings.reviews)
            state.review_queue = queue
        return queue
