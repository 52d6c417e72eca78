"""Lookups by id, limited to what the caller may see: its agency's rows (every agency's with
the cross-agency grant) and, for a submitter, only what its own key stored.

Anything else is None, which routes answer with the same 404 as an id that does not exist:
another agency's ids must not be told apart from unknown ones.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from service.api_keys import Principal
from service.db.models import Batch, Classification, ReviewItem


def _mine(caller: Principal, agency: str, api_key_id: int | None) -> bool:
    """Analysts see their agency's records; a submitter only those its key stored."""
    if not caller.scope.allows(agency):
        return False
    return caller.has_role("analyst") or api_key_id == caller.key_id


def visible_batch(session: Session, batch_id: str, caller: Principal) -> Batch | None:
    batch = session.get(Batch, batch_id)
    if batch is None or not _mine(caller, batch.agency, batch.api_key_id):
        return None
    return batch


def visible_classification(
    session: Session, classification_id: uuid.UUID, caller: Principal
) -> Classification | None:
    row = session.get(Classification, classification_id)
    if row is None or not _mine(caller, row.agency, row.api_key_id):
        return None
    return row


def visible_review_item(
    session: Session, item_id: uuid.UUID, caller: Principal
) -> ReviewItem | None:
    item = session.get(ReviewItem, item_id)
    if item is None or not caller.scope.allows(item.agency):
        return None
    return item
