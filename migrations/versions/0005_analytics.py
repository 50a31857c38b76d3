"""analytics_events and analytics_daily (the seed's analytics in their PostgreSQL form), and a `timestamp`
index on each log table for retention.

Revision ID: 0005_analytics
Revises: 0004_execution_logs
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_analytics"
down_revision: str | None = "0004_execution_logs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.Text(), server_default=sa.text("gen_random_uuid()::text"), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("workflow_id", sa.Text(), nullable=True),
        sa.Column("properties", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name="analytics_events_pkey"),
    )
    op.create_index("analytics_events_workspace_id_timestamp_idx", "analytics_events",
                    ["workspace_id", sa.text("timestamp DESC")])
    op.create_index("analytics_events_event_timestamp_idx", "analytics_events", ["event", sa.text("timestamp DESC")])
    op.create_index("analytics_events_timestamp_idx", "analytics_events", ["timestamp"])
    op.create_table(
        "analytics_daily",
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("workflow_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("errors", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("duration_sum", sa.BigInteger(), nullable=False),
        sa.Column("histogram", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "day", "kind", "workflow_id", "name", name="analytics_daily_pkey"),
    )
    op.create_index("analytics_daily_day_idx", "analytics_daily", ["day"])
    op.create_index("execution_logs_timestamp_idx", "execution_logs", ["timestamp"])
    op.create_index("integration_usage_timestamp_idx", "integration_usage", ["timestamp"])


def downgrade() -> None:
    op.drop_index("integration_usage_timestamp_idx", "integration_usage")
    op.drop_index("execution_logs_timestamp_idx", "execution_logs")
    op.drop_table("analytics_daily")
    op.drop_table("analytics_events")
