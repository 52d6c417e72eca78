"""Analyst review: queue items, blind codings, an append-only audit trail, the queue's scan point.

Revision ID: 0003_reviews
Revises: 0002_batches
Create Date: 2025-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_reviews"
down_revision: str | Sequence[str] | None = "0002_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)

# The audit trail is append-only: the database itself refuses to rewrite an event.
# (DELETE stays possible so that the retention purge can cascade to it.)
_SQLITE_TRIGGER = """
CREATE TRIGGER review_audit_append_only BEFORE UPDATE ON review_audit
BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END
"""
_PG_FUNCTION = """
CREATE FUNCTION review_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'review_audit is append-only'; END $$
"""
_PG_TRIGGER = """
CREATE TRIGGER review_audit_append_only BEFORE UPDATE ON review_audit
FOR EACH ROW EXECUTE FUNCTION review_audit_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("section", sa.String(4), nullable=False),
        sa.Column("model_code", sa.String(10), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("text_key", sa.String(16), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("required_codings", sa.Integer(), nullable=False),
        sa.Column("codings", sa.Integer(), nullable=False),
        sa.Column("assignees", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("final_code", sa.String(10), nullable=True),
        sa.Column("final_action", sa.String(20), nullable=True),
        sa.Column("final_by", sa.String(300), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("queued_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.ForeignKeyConstraint(
            ["id"],
            ["classifications.id"],
            name=op.f("fk_review_items_id_classifications"),
            ondelete="CASCADE",
        ),
    )
    for column in ("state", "section", "confidence", "source", "text_key", "created_at"):
        op.create_index(op.f(f"ix_review_items_{column}"), "review_items", [column])
    op.create_index(op.f("ix_review_items_decided_at"), "review_items", ["decided_at"])

    op.create_table(
        "review_codings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("analyst_key_id", sa.Integer(), nullable=False),
        sa.Column("analyst_name", sa.String(100), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("code", sa.String(10), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_codings")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_review_codings_item_id_review_items"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("item_id", "analyst_key_id", name=op.f("uq_review_codings_item_id")),
    )
    for column in ("item_id", "created_at"):
        op.create_index(op.f(f"ix_review_codings_{column}"), "review_codings", [column])

    op.create_table(
        "review_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor_key_id", sa.Integer(), nullable=False),
        sa.Column("actor_name", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("code", sa.String(10), nullable=True),
        sa.Column("before", JSON, nullable=False),
        sa.Column("after", JSON, nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_audit")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_review_audit_item_id_review_items"),
            ondelete="CASCADE",
        ),
    )
    for column in ("item_id", "action", "actor_key_id", "created_at"):
        op.create_index(op.f(f"ix_review_audit_{column}"), "review_audit", [column])

    op.create_table(
        "review_queue_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scanned_until", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_queue_state")),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS review_audit_append_only ON review_audit")
        op.execute("DROP FUNCTION IF EXISTS review_audit_append_only()")
    op.drop_table("review_queue_state")
    op.drop_table("review_audit")
    op.drop_table("review_codings")
    op.drop_table("review_items")
