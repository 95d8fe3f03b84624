"""billing plans stripe price id

Revision ID: 20251107_090000
Revises: 20251106_120000
Create Date: 2025-11-07 09:00:00

Adds billing_plans.stripe_price_id, the Stripe Price a plan is sold at. The
release runbook fills it in after creating/finding the Stripe prices. The
original starter project never had this column; adding it is a deliberate fix.
Nullable and not unique: plans exist before their Stripe prices do.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20251107_090000"
down_revision: Union[str, Sequence[str], None] = "20251106_120000"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("billing_plans", sa.Column("stripe_price_id", sa.String(128), nullable=True))
    op.create_index("ix_billing_plans_stripe_price_id", "billing_plans", ["stripe_price_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_billing_plans_stripe_price_id", table_name="billing_plans")
    op.drop_column("billing_plans", "stripe_price_id")
