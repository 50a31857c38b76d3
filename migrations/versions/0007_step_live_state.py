"""step_executions.state: what a step that has not ended is doing (running, retrying, rate-limited,
waiting for an approval, a delay, a child run), null once it ends. The run's live state in the API, the
approvals inbox and `baton runs` read it. step_executions.step_key: the step's id and loop iteration path
(`send/2`: the third item), so a run's timeline tells its iterations apart.

Revision ID: 0007_step_live_state
Revises: 0006_webhook_signature_scheme
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_step_live_state"
down_revision: str | None = "0006_webhook_signature_scheme"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("step_executions", sa.Column("state", postgresql.JSONB(), nullable=True))
    op.add_column("step_executions", sa.Column("step_key", sa.Text(), nullable=True))
    # the approvals inbox and `?state=` filters look for the steps that wait, which are few
    op.create_index(
        "step_executions_waiting_idx",
        "step_executions",
        ["execution_id"],
        postgresql_where=sa.text("state IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("step_executions_waiting_idx", table_name="step_executions")
    op.drop_column("step_executions", "step_key")
    op.drop_column("step_executions", "state")
