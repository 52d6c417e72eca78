"""Review groups: the pending items of one text (and, later, one scheme/national code) are
decided once.

`group_key` is a hash of what makes two records the same question for an analyst; today that is
the normalised text alone, so existing items take their `text_key`.

Revision ID: 0005_review_groups
Revises: 0004_robustness
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_review_groups"
down_revision: str | Sequence[str] | None = "0004_robustness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("group_key", sa.String(32), nullable=True))
    op.execute("UPDATE review_items SET group_key = text_key")
    with op.batch_alter_table("review_items") as batch:
        batch.alter_column("group_key", existing_type=sa.String(32), nullable=False)
        batch.create_index("ix_review_items_group_key_state", ["group_key", "state"])


def downgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.drop_index("ix_review_items_group_key_state")
        batch.drop_column("group_key")
