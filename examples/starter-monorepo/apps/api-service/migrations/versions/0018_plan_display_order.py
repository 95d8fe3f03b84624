"""billing plans display order

Revision ID: 0018_plan_display_order
Revises: 0017_backfill_usage_totals
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0018_plan_display_order"
down_revision: Union[str, Sequence[str], None] = "0017_backfill_usage_totals"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("billing_plans", sa.Column("display_order", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE billing_plans SET display_order = CASE code WHEN 'starter' THEN 1 WHEN 'pro' THEN 2 ELSE 3 END")


def downgrade() -> None:
    op.drop_column("billing_plans", "display_order")
