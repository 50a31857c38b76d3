"""The integration runtime: a connection's own rate limit, and integration_usage (the seed's MongoDB
collection in its PostgreSQL form, for installations without MONGODB_URL).

Revision ID: 0003_integration_runtime
Revises: 0002_poll_states
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_integration_runtime"
down_revision: str | None = "0002_poll_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("connections", sa.Column("rate_limit", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.create_table(
        "integration_usage",
        sa.Column("id", sa.Text(), server_default=sa.text("gen_random_uuid()::text"), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("integration_id", sa.Text(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=True),
        sa.Column("success", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("duration", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rate_limit", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("execution_id", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="integration_usage_pkey"),
    )
    op.create_index("integration_usage_integration_id_timestamp_idx", "integration_usage",
                    ["integration_id", sa.text("timestamp DESC")])
    op.create_index("integration_usage_workspace_id_timestamp_idx", "integration_usage",
                    ["workspace_id", sa.text("timestamp DESC")])


def downgrade() -> None:
    op.drop_table("integration_usage")
    op.drop_column("connections", "rate_limit")
