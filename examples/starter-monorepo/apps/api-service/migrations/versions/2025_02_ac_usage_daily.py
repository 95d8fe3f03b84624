"""usage branch: daily rollup

Revision ID: 2025_02_ac_usage_daily
Revises: 2025_02_ab_usage
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "2025_02_ac_usage_daily"
down_revision: Union[str, Sequence[str], None] = "2025_02_ab_usage"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("metric", sa.String(64), primary_key=True),
        sa.Column("day", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("total", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("usage_daily")
