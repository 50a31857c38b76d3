"""workflows.key: a stable name for a workflow in its workspace, chosen by its author, unique when set.
`baton workflows pull|diff|push` (workflows kept as files in git) finds a workspace's workflow by it, so the
same files update the same workflows in staging and in production.

Revision ID: 0008_workflow_key
Revises: 0007_step_live_state
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_workflow_key"
down_revision: str | None = "0007_step_live_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("workflows", sa.Column("key", sa.Text(), nullable=True))
    op.create_index(
        "workflows_workspace_key_idx",
        "workflows",
        ["workspace_id", "key"],
        unique=True,
        postgresql_where=sa.text("key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("workflows_workspace_key_idx", table_name="workflows")
    op.drop_column("workflows", "key")
