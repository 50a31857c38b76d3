"""step_executions.sequence: where a step began in its run (the interpreter numbers steps as they start).
Rows written in one workflow task share their started_at (the workflow's clock stands still within a task)
and their created_at (one transaction), so neither orders a condition before the steps of its branch.

Revision ID: 0011_step_sequence
Revises: 0010_concurrency
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_step_sequence"
down_revision: str | None = "0010_concurrency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for rows written before: they keep their former order (started_at, then created_at)
    op.add_column("step_executions", sa.Column("sequence", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("step_executions", "sequence")
