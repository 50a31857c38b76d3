"""webhooks.signature_scheme: how a webhook's calls are signed (core.triggers.signatures). Webhooks whose
secret was made before keep the body-only `baton-v1` until their secret is rotated; new secrets are
Standard Webhooks.

Revision ID: 0006_webhook_signature_scheme
Revises: 0005_analytics
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_webhook_signature_scheme"
down_revision: str | None = "0005_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhooks",
        sa.Column("signature_scheme", sa.Text(), server_default=sa.text("'baton-v1'"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("webhooks", "signature_scheme")
