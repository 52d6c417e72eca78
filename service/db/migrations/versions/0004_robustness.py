"""Robustness: the environment a key was created in, and the readiness probe's row.

Revision ID: 0004_robustness
Revises: 0003_reviews
Create Date: 2026-12-06

Keys made before this revision have no recorded environment; the one `iccs serve` made in
development mode (named "development") is marked as such, so production refuses it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_robustness"
down_revision: str | Sequence[str] | None = "0003_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("environment", sa.String(20), nullable=True))
    op.execute("UPDATE api_keys SET environment = 'development' WHERE name = 'development'")
    op.create_table(
        "store_probe",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("probed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("store_probe")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("environment")
