"""integration_usage.metadata: what a call consumed besides itself (an LLM call's model, tokens and cost).

Revision ID: 0012_usage_metadata
Revises: 0011_step_sequence
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_usage_metadata"
down_revision: str | None = "0011_step_sequence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for earlier calls and for actions that meter nothing beyond the call itself
    op.add_column("integration_usage", sa.Column("metadata", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("integration_usage", "metadata")
