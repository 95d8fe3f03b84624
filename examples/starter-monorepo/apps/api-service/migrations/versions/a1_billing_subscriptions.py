"""billing branch: subscriptions

Revision ID: a1_billing_subscriptions
Revises: 0003_billing_plans
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "a1_billing_subscriptions"
down_revision: Union[str, Sequence[str], None] = "0003_billing_plans"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("plan_code", sa.String(64), sa.ForeignKey("billing_plans.code"), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("stripe_subscription_id", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("subscriptions")
