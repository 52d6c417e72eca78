"""Correspondence tables in the database: draft, import, validate, export, look up.

A draft classifies every national title and stores it as a classification of the mapping
project `correspondence:<scheme>`, flagged for review, so it enters the ordinary review queue
(most uncertain first). An analyst's final decision on such an item validates the row: rows are
brought up to date from the review items (`sync_decided`) before anything reads them, so the
review workflow needs no knowledge of correspondence tables.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from typing import TextIO

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from iccs.hierarchy import NONE_CODE, NONE_TITLE
from iccs.taxonomy import load_taxonomy
from service.agencies import DEFAULT_AGENCY
from service.classification import Suggest, TextToClassify, classify_texts
from service.correspondence.tables import NationalRow
from service.db.base import utcnow
from service.db.models import CorrespondenceEntry, ReviewAuditEvent, ReviewItem
from service.model_holder import ServedModel

logger = logging.getLogger(__name__)

SCHEME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$"
PROJECT_PREFIX = "correspondence:"


class SchemeError(ValueError):
    """A scheme name that cannot be used."""


def check_scheme(scheme: str) -> str:
    if not re.fullmatch(SCHEME_PATTERN, scheme):
        raise SchemeError(
            "a scheme name is 1-60 letters, digits, '.', '_' or '-', starting with a letter or "
            "digit"
        )
    return scheme


def project_source(scheme: str) -> str:
    """The review-queue source (batch filter) of a scheme's mapping project."""
    return PROJECT_PREFIX + scheme


@dataclass(frozen=True)
class DraftSummary:
    scheme: str
    drafted: int
    already_present: int
    source: str


@dataclass(frozen=True)
class ImportSummary:
    scheme: str
    added: int
    updated: int


@dataclass(frozen=True)
class SchemeProgress:
    scheme: str
    total: int
    validated: int


@dataclass(frozen=True)
class ExportRow:
    national_code: str
    title: str
    iccs_code: str | None
    level: str | None
    iccs_title: str | None
    status: str
    validator: str | None
    comment: str | None


def _existing(session: Session, scheme: str) -> dict[str, CorrespondenceEntry]:
    entries = session.scalars(
        select(CorrespondenceEntry).where(CorrespondenceEntry.scheme == scheme)
    ).all()
    return {e.national_code: e for e in entries}


def draft(
    session: Session,
    model: ServedModel,
    scheme: str,
    rows: Sequence[NationalRow],
    suggest: Suggest | None = None,
    top_k: int = 3,
    agency: str = DEFAULT_AGENCY,
) -> DraftSummary:
    """Propose ICCS codes for the national codes not yet in the table and queue them for
    validation; codes already in the table are left as they are, except drafts whose review
    item the retention purge deleted, which are queued again. The table is shared by every
    agency; its review items are the drafting `agency`'s."""
    check_scheme(scheme)
    existing = _existing(session, scheme)

    def needs_draft(row: NationalRow) -> bool:
        entry = existing.get(row.national_code)
        return entry is None or (entry.status == "draft" and entry.review_item_id is None)

    new = [r for r in rows if needs_draft(r)]
    source = project_source(scheme)
    items = [TextToClassify(r.text, language=r.language) for r in new]
    _, stored = classify_texts(model, items, top_k, source=source, suggest=suggest, agency=agency)
    now = utcnow()
    for row, classification in zip(new, stored, strict=True):
        classification.needs_review = True  # every drafted row waits for a person
        session.add(classification)
        entry = existing.get(row.national_code)
        if entry is None:
            entry = CorrespondenceEntry(scheme=scheme, national_code=row.national_code)
            entry.status, entry.origin, entry.created_at = "draft", "draft", now
            session.add(entry)
        entry.title, entry.description, entry.language = row.title, row.description, row.language
        entry.proposed_code, entry.confidence = classification.top_code, classification.confidence
        entry.review_item_id, entry.updated_at = classification.id, now
    session.commit()
    logger.info("drafted %d national codes of scheme %s", len(new), scheme)
    return DraftSummary(scheme, len(new), len(rows) - len(new), source)


def import_table(
    session: Session, scheme: str, rows: Sequence[NationalRow], validator: str
) -> ImportSummary:
    """Load a validated table: every row becomes validated, in one transaction."""
    check_scheme(scheme)
    existing = _existing(session, scheme)
    now = utcnow()
    added = updated = 0
    for row in rows:
        entry = existing.get(row.national_code)
        if entry is None:
            entry = CorrespondenceEntry(
                scheme=scheme, national_code=row.national_code, origin="import", created_at=now
            )
            session.add(entry)
            added += 1
        else:
            updated += 1
        entry.title = row.title
        entry.description = row.description
        entry.language = row.language
        entry.status = "validated"
        entry.iccs_code = row.iccs_code
        entry.validator = validator[:300]
        entry.comment = row.comment
        entry.updated_at = now
    session.commit()
    logger.info("imported %d rows into scheme %s (%d new)", len(rows), scheme, added)
    return ImportSummary(scheme, added, updated)


def sync_decided(session: Session) -> int:
    """Validate the drafted rows whose review item has been decided; returns how many."""
    decided = session.execute(
        select(
            CorrespondenceEntry.id,
            ReviewItem.id.label("item_id"),
            ReviewItem.final_code,
            ReviewItem.final_by,
        )
        .join(ReviewItem, ReviewItem.id == CorrespondenceEntry.review_item_id)
        .where(CorrespondenceEntry.status == "draft", ReviewItem.state == "decided")
    ).all()
    for row in decided:
        comment = session.scalar(
            select(ReviewAuditEvent.comment)
            .where(ReviewAuditEvent.item_id == row.item_id, ReviewAuditEvent.comment.is_not(None))
            .order_by(ReviewAuditEvent.id.desc())
            .limit(1)
        )
        session.execute(
            update(CorrespondenceEntry)
            .where(CorrespondenceEntry.id == row.id, CorrespondenceEntry.status == "draft")
            .values(
                status="validated",
                iccs_code=row.final_code,
                validator=row.final_by,
                comment=comment,
                updated_at=utcnow(),
            )
        )
    if decided:
        session.commit()
    return len(decided)


def progress(session: Session) -> list[SchemeProgress]:
    """Validated / total per scheme."""
    sync_decided(session)
    validated = func.sum(case((CorrespondenceEntry.status == "validated", 1), else_=0))
    rows = session.execute(
        select(CorrespondenceEntry.scheme, func.count(), validated)
        .group_by(CorrespondenceEntry.scheme)
        .order_by(CorrespondenceEntry.scheme)
    ).all()
    return [SchemeProgress(scheme, int(total), int(done or 0)) for scheme, total, done in rows]


def _describe(code: str | None) -> tuple[str | None, str | None]:
    if code is None:
        return None, None
    if code == NONE_CODE:
        return "none", NONE_TITLE
    category = load_taxonomy().get(code)
    return category.level_name, category.title_en


def export(session: Session, scheme: str) -> list[ExportRow]:
    """The table as it stands: validated codes, and the model's proposal for draft rows."""
    sync_decided(session)
    entries = session.scalars(
        select(CorrespondenceEntry)
        .where(CorrespondenceEntry.scheme == scheme)
        .order_by(CorrespondenceEntry.national_code)
    ).all()
    out = []
    for e in entries:
        code = e.iccs_code if e.status == "validated" else e.proposed_code
        level, title = _describe(code)
        out.append(
            ExportRow(
                e.national_code, e.title, code, level, title, e.status, e.validator, e.comment
            )
        )
    return out


def validated_codes(
    session: Session, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(scheme, national code) -> the validated ICCS code, for the pairs that have one."""
    wanted = set(pairs)
    if not wanted:
        return {}
    sync_decided(session)
    found: dict[tuple[str, str], str] = {}
    for scheme in {s for s, _ in wanted}:
        codes = [c for s, c in wanted if s == scheme]
        rows = session.execute(
            select(CorrespondenceEntry.national_code, CorrespondenceEntry.iccs_code).where(
                CorrespondenceEntry.scheme == scheme,
                CorrespondenceEntry.status == "validated",
                CorrespondenceEntry.national_code.in_(codes),
            )
        ).all()
        found.update({(scheme, code): iccs for code, iccs in rows if iccs})
    return found


def export_csv(rows: Sequence[ExportRow], handle: TextIO) -> None:
    """The exported table as CSV, one header row then one row per national code."""
    writer = csv.writer(handle)
    writer.writerow([f.name for f in fields(ExportRow)])
    writer.writerows(["" if v is None else v for v in astuple(r)] for r in rows)


def scheme_codes(session: Session, scheme: str) -> dict[str, str]:
    """Every validated national code of a scheme -> its ICCS code (for bulk runs)."""
    sync_decided(session)
    rows = session.execute(
        select(CorrespondenceEntry.national_code, CorrespondenceEntry.iccs_code).where(
            CorrespondenceEntry.scheme == scheme,
            CorrespondenceEntry.status == "validated",
            CorrespondenceEntry.iccs_code.is_not(None),
        )
    ).all()
    return {code: iccs for code, iccs in rows if iccs}
