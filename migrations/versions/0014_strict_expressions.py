"""workflows.strict_expressions: the workflow's expressions fail on a missing path, naming it, instead of
giving null (core.expressions.strict). Not versioned, like `concurrency`: a change applies to the runs
that start after it.

Revision ID: 0014_strict_expressions
Revises: 0013_data_store
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_strict_expressions"
down_revision: str | None = "0013_data_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "workflows",
        sa.Column("strict_expressions", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )


def downgrade() -> None:
    op.drop_column("workflows", "strict_expressions")
