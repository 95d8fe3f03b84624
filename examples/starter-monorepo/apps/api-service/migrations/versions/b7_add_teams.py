"""teams branch: teams

Revision ID: b7_add_teams
Revises: 0003_billing_plans
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "b7_add_teams"
down_revision: Union[str, Sequence[str], None] = "0003_billing_plans"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("teams")
