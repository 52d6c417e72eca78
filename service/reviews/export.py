"""Decided review items as training data: the corpus columns first, then their provenance.

`iccs train --include-reviews FILE` reads this file (training/reviews_import.py); the corpus
columns make it a valid extra-data file as it is (origin `real`, source `review`, split
`train`: reviewed items never enter the frozen test split).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select

from iccs.language import guess_language
from iccs.tags import TAGS
from service.agencies import AgencyScope
from service.db import Database
from service.db.models import Classification, ReviewItem
from service.reviews.stats import as_utc

CORPUS_COLUMNS = ["id", "text", "language", "iccs_code", "origin", "source", "labeller", "split"]
PROVENANCE_COLUMNS = [
    "classification_id",
    "action",
    "decided_by",
    "decided_at",
    "model_version",
    "model_code",
    "model_confidence",
    "queue_reason",
    "record_source",
]
# The tags that stand after the decision ('' when the record has none): tag-model training data.
TAG_COLUMNS = list(TAGS)
EXPORT_COLUMNS = CORPUS_COLUMNS + PROVENANCE_COLUMNS + TAG_COLUMNS


def _row(item: ReviewItem, text: str, language: str | None) -> list[Any]:
    decided_at: datetime | None = item.decided_at
    return [
        f"review-{item.id}",
        text,
        language or guess_language(text),
        item.final_code,
        "real",
        "review",
        f"review:{item.final_by}",
        "train",
        str(item.id),
        item.final_action,
        item.final_by,
        as_utc(decided_at).isoformat(timespec="seconds") if decided_at else "",
        item.model_version,
        item.model_code,
        item.confidence,
        item.reason,
        item.source,
        *[(item.final_tags or {}).get(tag, "") for tag in TAG_COLUMNS],
    ]


def export_csv(
    database: Database, scope: AgencyScope, since: datetime | None = None
) -> Iterator[str]:
    """CSV text in chunks, oldest decision first, of the agencies in `scope` (its own session:
    it outlives the request's)."""
    query = (
        select(ReviewItem, Classification.text, Classification.language)
        .join(Classification, Classification.id == ReviewItem.id)
        .where(
            ReviewItem.state == "decided",
            ReviewItem.final_code.is_not(None),
            scope.where(ReviewItem.agency),
        )
        .order_by(ReviewItem.decided_at, ReviewItem.id)
    )
    if since is not None:
        query = query.where(ReviewItem.decided_at >= since)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    with database.sessionmaker() as session:
        rows = session.execute(query.execution_options(yield_per=1000))
        for number, (item, text, language) in enumerate(rows, start=1):
            writer.writerow(_row(item, text, language))
            if number % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
