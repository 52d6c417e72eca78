"""Tags: the model's tags on each classification, analysts' tags on codings and decisions.

Revision ID: 0006_tags
Revises: 0005_review_groups
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_tags"
down_revision: str | Sequence[str] | None = "0005_review_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_COLUMNS = (
    ("classifications", "tags"),  # [{"tag", "value", "confidence"}] as the model said
    ("review_codings", "tags"),  # {tag: value} the analyst settled on
    ("review_items", "final_tags"),  # {tag: value} that stand after the decision
    ("review_audit", "tags"),  # {tag: value} corrections given with the action
)


def upgrade() -> None:
    # A plain ADD COLUMN on every backend: no table copy, so review_audit keeps its trigger.
    for table, column in _COLUMNS:
        op.add_column(table, sa.Column(column, JSON, nullable=True))


def downgrade() -> None:
    # DROP COLUMN in place (SQLite >= 3.35, PostgreSQL): a batch copy would lose the trigger.
    for table, column in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
