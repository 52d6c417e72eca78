"""Every table of the service. Add a module per table family and import it here, so that
Alembic (service/db/migrations/env.py) and `Base.metadata` see it."""

from service.db.models.api_keys import ApiKey
from service.db.models.batches import Batch
from service.db.models.classifications import Classification
from service.db.models.correspondence import CorrespondenceEntry
from service.db.models.reviews import (
    ReviewAuditEvent,
    ReviewCoding,
    ReviewItem,
    ReviewQueueState,
)
from service.db.models.store_probe import StoreProbe

__all__ = [
    "ApiKey",
    "Batch",
    "Classification",
    "CorrespondenceEntry",
    "ReviewAuditEvent",
    "ReviewCoding",
    "ReviewItem",
    "ReviewQueueState",
    "StoreProbe",
]
