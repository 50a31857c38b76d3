"""imported_services: services imported from OpenAPI documents (core.imported_services).

Revision ID: 0015_imported_services
Revises: 0014_strict_expressions
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_imported_services"
down_revision: str | None = "0014_strict_expressions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imported_services",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("description", postgresql.JSONB(), nullable=False),
        sa.Column("source_sha256", sa.Text(), nullable=False),
        sa.Column("imported_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.execute(
        "CREATE TRIGGER imported_services_set_updated_at BEFORE UPDATE ON imported_services "
        "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
    )


def downgrade() -> None:
    op.drop_table("imported_services")
