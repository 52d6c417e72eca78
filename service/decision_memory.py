"""The decision memory of the service: validated correspondence rows and analysts' final
decisions, loaded from the database and handed to the core's `iccs.memory`.

Each process keeps one memory per served model and refreshes it when the database says
something changed (a cheap signature query, at most every `ICCS_MEMORY_REFRESH_SECONDS`), so a
decision or an import made through any worker is used by all of them within seconds. Drafted
correspondence rows enter the memory once validated, through their table row (not twice).

Analysts' decisions are their agency's data: each agency's memory holds its own decisions (and
the shared correspondence tables), so one agency's answers never show another's decisions.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from iccs.classifier import ICCSClassifier
from iccs.memory import DecisionMemory, MemoryRow, RememberingClassifier
from iccs.predict import Predictor
from service.correspondence.store import PROJECT_PREFIX, scheme_codes, sync_decided
from service.db import Database
from service.db.models import Classification, CorrespondenceEntry, ReviewItem

logger = logging.getLogger(__name__)


def memory_rows(session: Session, agency: str | None = None) -> list[MemoryRow]:
    """Every validated correspondence row and every decided review item (of `agency`; None:
    of every agency), as (text, code)."""
    sync_decided(session)
    entries = session.execute(
        select(
            CorrespondenceEntry.title,
            CorrespondenceEntry.description,
            CorrespondenceEntry.iccs_code,
        ).where(
            CorrespondenceEntry.status == "validated", CorrespondenceEntry.iccs_code.is_not(None)
        )
    ).all()
    rows = [
        MemoryRow(f"{title}. {description}" if description else title, code)
        for title, description, code in entries
        if code
    ]
    decisions = session.execute(
        select(Classification.text, ReviewItem.final_code)
        .join(ReviewItem, ReviewItem.id == Classification.id)
        .where(
            ReviewItem.state == "decided",
            ReviewItem.final_code.is_not(None),
            ~ReviewItem.source.startswith(PROJECT_PREFIX),
            *_of_agency(agency),
        )
    ).all()
    rows += [MemoryRow(text, code) for text, code in decisions if code]
    return rows


def _of_agency(agency: str | None) -> list[Any]:
    return [] if agency is None else [ReviewItem.agency == agency]


def memory_signature(session: Session, agency: str | None = None) -> tuple[Any, ...]:
    """Changes whenever a row enters, leaves or changes the memory (of `agency`)."""
    entries = session.execute(
        select(func.count(), func.max(CorrespondenceEntry.updated_at)).where(
            CorrespondenceEntry.status == "validated"
        )
    ).one()
    decided = session.execute(
        select(func.count(), func.max(ReviewItem.decided_at)).where(
            ReviewItem.state == "decided", *_of_agency(agency)
        )
    ).one()
    drafts_done = session.scalar(
        select(func.count())
        .select_from(CorrespondenceEntry)
        .join(ReviewItem, ReviewItem.id == CorrespondenceEntry.review_item_id)
        .where(CorrespondenceEntry.status == "draft", ReviewItem.state == "decided")
    )
    return (*entries, *decided, drafts_done)


@dataclass
class _Memory:
    """One agency's memory in this process, and when it was last compared with the database."""

    wrapped: RememberingClassifier | None = None
    signature: tuple[Any, ...] | None = None
    checked: float = -float("inf")


class MemoryHolder:
    """The memories of one process (one per agency), for whichever model is being served."""

    def __init__(self, database: Database, refresh_seconds: float, enabled: bool = True) -> None:
        self.database = database
        self.refresh_seconds = refresh_seconds
        self.enabled = enabled
        self._lock = threading.Lock()
        self._memories: dict[str | None, _Memory] = {}

    def predictor(self, classifier: ICCSClassifier, agency: str | None = None) -> Predictor:
        """The model with `agency`'s memory (None: every agency's decisions, for the operator's
        tools), or the model alone while that memory is empty."""
        if not self.enabled:
            return classifier
        memory = self._memories.get(agency)
        wrapped = memory.wrapped if memory is not None else None
        due = memory is None or time.monotonic() - memory.checked >= self.refresh_seconds
        if wrapped is None or wrapped.classifier is not classifier or due:
            wrapped = self._refresh(classifier, agency)
        return wrapped if len(wrapped.memory) else classifier

    def invalidate(self) -> None:
        """Reload at the next use (after an import or a draft in this process)."""
        with self._lock:
            for memory in self._memories.values():
                memory.signature = None
                memory.checked = -float("inf")

    def _refresh(self, classifier: ICCSClassifier, agency: str | None) -> RememberingClassifier:
        with self._lock:
            memory = self._memories.setdefault(agency, _Memory())
            wrapped = memory.wrapped
            same_model = wrapped is not None and wrapped.classifier is classifier
            if same_model and time.monotonic() - memory.checked < self.refresh_seconds:
                assert wrapped is not None
                return wrapped
            with self.database.sessionmaker() as session:
                signature = memory_signature(session, agency)
                if same_model and signature == memory.signature:
                    memory.checked = time.monotonic()
                    assert wrapped is not None
                    return wrapped
                rows = memory_rows(session, agency)
            if wrapped is not None and same_model:
                wrapped.memory.replace(rows)
            else:
                wrapped = RememberingClassifier(classifier, DecisionMemory(classifier, rows))
            memory.wrapped, memory.signature = wrapped, signature
            memory.checked = time.monotonic()
            logger.info("decision memory of agency %s: %d rows", agency, len(wrapped.memory))
            return wrapped


def load_predictor(
    database: Database, classifier: ICCSClassifier, agency: str | None = None
) -> Predictor:
    """The model with the database's memory (of `agency`), read once (batch jobs, the CLI)."""
    return MemoryHolder(database, refresh_seconds=float("inf")).predictor(classifier, agency)


class DatabaseDecisions:
    """The validated decisions of one database, for `iccs classify`."""

    def __init__(self, url: str) -> None:
        self.url = url

    def predictor(self, classifier: ICCSClassifier) -> Predictor:
        database = Database(self.url)
        try:
            return load_predictor(database, classifier)
        finally:
            database.dispose()

    def validated_codes(self, scheme: str) -> dict[str, str]:
        database = Database(self.url)
        try:
            with database.sessionmaker() as session:
                return scheme_codes(session, scheme)
        finally:
            database.dispose()


def database_decisions() -> DatabaseDecisions | None:
    """Entry point `iccs.decisions`: the database `ICCS_DATABASE_URL` names, or None when it
    names none (the CLI then classifies with the model alone)."""
    from service.config import Settings

    url = Settings().database_url
    return DatabaseDecisions(url) if url else None
