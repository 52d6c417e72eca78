"""Batch jobs: uploaded files classified by a worker, with progress and a resume point.

Revision ID: 0002_batches
Revises: 0001_core
Create Date: 2025-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_batches"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("input_format", sa.String(10), nullable=False),
        sa.Column("id_column", sa.String(200), nullable=False),
        sa.Column("text_column", sa.String(200), nullable=False),
        sa.Column("top_k", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("rows_need_review", sa.Integer(), nullable=False),
        sa.Column("distinct_texts", sa.Integer(), nullable=False),
        sa.Column("reject_reasons", JSON, nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("taxonomy_version", sa.String(50), nullable=True),
        sa.Column("checkpoint", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("worker_id", sa.String(100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_batches_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
    )
    for column in ("state", "api_key_id", "created_at"):
        op.create_index(op.f(f"ix_batches_{column}"), "batches", [column])


def downgrade() -> None:
    op.drop_table("batches")
