"""Flow control: workflows.concurrency (`{limit, key?}`: at most `limit` runs per key past their start at
once), concurrency_slots (the runs that hold a slot or wait for one, in arrival order: `seq`) and
workflows.priority (1 first to 5 last: its runs' Temporal task queue priority).

Revision ID: 0010_concurrency
Revises: 0009_error_workflows
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_concurrency"
down_revision: str | None = "0009_error_workflows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("workflows", sa.Column("concurrency", postgresql.JSONB(), nullable=True))
    op.add_column("workflows", sa.Column("priority", sa.Integer(), nullable=True))
    op.create_table(
        "concurrency_slots",
        sa.Column("execution_id", sa.Text(), primary_key=True),  # no FK: executions may be partitioned
        sa.Column(
            "workflow_id",
            sa.Text(),
            sa.ForeignKey("workflows.id", ondelete="CASCADE", onupdate="CASCADE"),
            nullable=False,
        ),
        sa.Column("slot_key", sa.Text(), nullable=False),
        sa.Column("slot_limit", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False, unique=True),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("concurrency_slots_queue_idx", "concurrency_slots", ["workflow_id", "slot_key", "seq"])


def downgrade() -> None:
    op.drop_table("concurrency_slots")
    op.drop_column("workflows", "priority")
    op.drop_column("workflows", "concurrency")
