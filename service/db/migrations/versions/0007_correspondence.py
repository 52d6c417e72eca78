"""Correspondence tables: national offence codes mapped to ICCS, drafted or imported; batch
jobs may name a scheme and the column of their rows' national codes.

Revision ID: 0007_correspondence
Revises: 0006_tags
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_correspondence"
down_revision: str | Sequence[str] | None = "0006_tags"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "correspondence_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(100), nullable=False),
        sa.Column("national_code", sa.String(100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("iccs_code", sa.String(10), nullable=True),
        sa.Column("proposed_code", sa.String(10), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("review_item_id", sa.Uuid(), nullable=True),
        sa.Column("validator", sa.String(300), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correspondence_entries")),
        sa.UniqueConstraint(
            "scheme", "national_code", name=op.f("uq_correspondence_entries_scheme")
        ),
        sa.ForeignKeyConstraint(
            ["review_item_id"],
            ["classifications.id"],
            name=op.f("fk_correspondence_entries_review_item_id_classifications"),
            ondelete="SET NULL",
        ),
    )
    for column in ("scheme", "status", "review_item_id", "updated_at"):
        op.create_index(
            op.f(f"ix_correspondence_entries_{column}"), "correspondence_entries", [column]
        )
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("scheme", sa.String(100), nullable=True))
        batch.add_column(sa.Column("national_code_column", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("national_code_column")
        batch.drop_column("scheme")
    op.drop_table("correspondence_entries")
