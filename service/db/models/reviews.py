"""The analyst review queue: one item per queued classification, codings, an audit trail.

A review item shares its id with the classification it reviews and is deleted with it by the
retention purge (CASCADE), and so are its codings and audit events: the audit trail lives as
long as the record it is about. The audit table is append-only: the migration installs a
trigger that refuses UPDATE on it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from service.agencies import DEFAULT_AGENCY
from service.db.base import Base, JSONType, Timestamp, utcnow

REVIEW_STATES = ("pending", "escalated", "decided")
OPEN_STATES = ("pending", "escalated")
QUEUE_REASONS = ("low_confidence", "back_off", "no_offence", "section_threshold", "qc_sample")
CODING_ACTIONS = ("accept", "recode", "not_an_offence")
DECISION_ACTIONS = (*CODING_ACTIONS, "skip", "escalate")


class ReviewItem(Base):
    """A classification waiting for (or given) an analyst's decision.

    Open items sharing a `group_key` are one question for an analyst: a decision on one is
    applied to each of the others (each with its own audit event).

    `version` changes whenever what people see changes (state, final code, assignment), so a
    decision made on an older version is refused. `codings` counts the blind codings received
    so far; an item needing two of them (double coding) is decided only when both agree.
    """

    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_items_group_key_state", "group_key", "state"),)

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("classifications.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(20), index=True, default="pending")
    reason: Mapped[str] = mapped_column(String(20))
    section: Mapped[str] = mapped_column(String(4), index=True)  # model's section, or NONE
    model_code: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float] = mapped_column(Float, index=True)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    source: Mapped[str] = mapped_column(String(100), index=True)
    text_key: Mapped[str] = mapped_column(String(16), index=True)  # hash of the normalised text
    # Items an analyst decides together: hash of the normalised text (and scheme/national code
    # once records carry them); see service.reviews.groups.group_key.
    group_key: Mapped[str] = mapped_column(String(32))
    model_version: Mapped[str] = mapped_column(String(200))
    required_codings: Mapped[int] = mapped_column(Integer, default=1)
    codings: Mapped[int] = mapped_column(Integer, default=0)
    assignees: Mapped[list[int]] = mapped_column(JSONType, default=list)  # api key ids
    version: Mapped[int] = mapped_column(Integer, default=1)
    final_code: Mapped[str | None] = mapped_column(String(10), default=None)
    final_action: Mapped[str | None] = mapped_column(String(20), default=None)
    final_by: Mapped[str | None] = mapped_column(String(300), default=None)
    final_tags: Mapped[dict[str, str] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[datetime] = mapped_column(Timestamp, index=True)  # of the classification
    queued_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None, index=True)
    # The classification's agency: only its analysts (and cross-agency ones) see the item.
    agency: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_AGENCY, server_default=DEFAULT_AGENCY, index=True
    )


class ReviewCoding(Base):
    """One analyst's code for one item (blind when the item is double-coded)."""

    __tablename__ = "review_codings"
    __table_args__ = (UniqueConstraint("item_id", "analyst_key_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("review_items.id", ondelete="CASCADE"), index=True
    )
    analyst_key_id: Mapped[int] = mapped_column(Integer)
    analyst_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(10))
    tags: Mapped[dict[str, str] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)


class ReviewAuditEvent(Base):
    """Append-only record of every action on an item: who, when, before, after, why."""

    __tablename__ = "review_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("review_items.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(20), index=True)
    actor_key_id: Mapped[int] = mapped_column(Integer, index=True)  # no FK: never rewritten
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    code: Mapped[str | None] = mapped_column(String(10), default=None)
    tags: Mapped[dict[str, str] | None] = mapped_column(JSONType, default=None)  # corrections
    before: Mapped[dict[str, Any]] = mapped_column(JSONType)
    after: Mapped[dict[str, Any]] = mapped_column(JSONType)
    model_version: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)
    agency: Mapped[str] = mapped_column(  # the item's
        String(64), default=DEFAULT_AGENCY, server_default=DEFAULT_AGENCY, index=True
    )


class ReviewQueueState(Base):
    """How far the queue has scanned the classifications table (one row, id 1)."""

    __tablename__ = "review_queue_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    scanned_until: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
