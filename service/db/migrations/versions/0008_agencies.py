"""Agencies: every key belongs to one, and every stored row records the agency that stored it;
existing keys and rows go to the `default` agency.

Revision ID: 0008_agencies
Revises: 0007_correspondence
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_agencies"
down_revision: str | Sequence[str] | None = "0007_correspondence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_AGENCY = "default"  # as service.agencies.DEFAULT_AGENCY when this was written
_TABLES = ("api_keys", "classifications", "batches", "review_items", "review_audit")


def upgrade() -> None:
    # A plain ADD COLUMN on every backend: no table copy, so review_audit keeps its trigger
    # (and the server default fills existing rows without an UPDATE the trigger would refuse).
    for table in _TABLES:
        op.add_column(
            table,
            sa.Column("agency", sa.String(64), nullable=False, server_default=DEFAULT_AGENCY),
        )
        op.create_index(op.f(f"ix_{table}_agency"), table, ["agency"])
    op.add_column(
        "api_keys",
        sa.Column("cross_agency", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # DROP COLUMN in place (SQLite >= 3.35, PostgreSQL): a batch copy would lose the trigger.
    op.execute("ALTER TABLE api_keys DROP COLUMN cross_agency")
    for table in reversed(_TABLES):
        op.drop_index(op.f(f"ix_{table}_agency"), table_name=table)
        op.execute(f"ALTER TABLE {table} DROP COLUMN agency")
