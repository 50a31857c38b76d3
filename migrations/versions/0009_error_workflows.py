"""Error workflows: workflows.error_workflow_id (the workflow started when a run of this one fails or times
out) and workspaces.error_workflow_id (the workspace's default, for workflows that name none). A plain
column on workspaces (no foreign key: workspaces and workflows would reference each other); an id that no
longer names a workflow of the workspace is ignored.

Revision ID: 0009_error_workflows
Revises: 0008_workflow_key
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_error_workflows"
down_revision: str | None = "0008_workflow_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "workflows",
        sa.Column(
            "error_workflow_id",
            sa.Text(),
            sa.ForeignKey("workflows.id", ondelete="SET NULL", onupdate="CASCADE"),
            nullable=True,
        ),
    )
    op.add_column("workspaces", sa.Column("error_workflow_id", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("workspaces", "error_workflow_id")
    op.drop_column("workflows", "error_workflow_id")
