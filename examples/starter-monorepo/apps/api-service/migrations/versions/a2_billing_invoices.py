"""billing branch: invoices

Revision ID: a2_billing_invoices
Revises: a1_billing_subscriptions
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "a2_billing_invoices"
down_revision: Union[str, Sequence[str], None] = "a1_billing_subscriptions"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("invoices")
