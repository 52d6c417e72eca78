"""Tags: the model's tags on each classification, analysts' tags on codings and decisions.

Revision ID: 0006_tags
Revises: 0003_reviews
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_tags"
down_revision: str | Sequence[str] | None = "0003_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_COLUMNS = (
    ("classifications", "tags"),  # [{"tag", "value", "confidence"}] as the model said
    ("review_codings", "tags"),  # {tag: value} the analyst settled on
    ("review_items", "final_tags"),  # {tag: value} that stand after the decision
)


def upgrade() -> None:
    for table, column in _COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, JSON, nullable=True))


def downgrade() -> None:
    for table, column in reversed(_COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
