"""connections.connected_as: who an OAuth2 connection acts for (the provider's userinfo or id_token).

Revision ID: 0016_connection_identity
Revises: 0015_imported_services
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_connection_identity"
down_revision: str | None = "0015_imported_services"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("connections", sa.Column("connected_as", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("connections", "connected_as")
