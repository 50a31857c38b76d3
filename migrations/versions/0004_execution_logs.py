"""execution_logs: the seed's MongoDB collection in its PostgreSQL form (installations without MONGODB_URL).

Revision ID: 0004_execution_logs
Revises: 0003_integration_runtime
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_execution_logs"
down_revision: str | None = "0003_integration_runtime"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "execution_logs",
        sa.Column("id", sa.Text(), server_default=sa.text("gen_random_uuid()::text"), nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("workflow_id", sa.Text(), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("step_id", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name="execution_logs_pkey"),
    )
    op.create_index("execution_logs_execution_id_timestamp_idx", "execution_logs", ["execution_id", "timestamp"])
    op.create_index("execution_logs_workflow_id_timestamp_idx", "execution_logs",
                    ["workflow_id", sa.text("timestamp DESC")])


def downgrade() -> None:
    op.drop_table("execution_logs")
