"""usage branch: usage events

Revision ID: 2025_02_ab_usage
Revises: m1_merge_billing_teams
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "2025_02_ab_usage"
down_revision: Union[str, Sequence[str], None] = "m1_merge_billing_teams"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_usage_events_tenant_metric", "usage_events", ["tenant_id", "metric"])


def downgrade() -> None:
    op.drop_index("ix_usage_events_tenant_metric", table_name="usage_events")
    op.drop_table("usage_events")
