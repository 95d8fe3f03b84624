"""audit branch: audit log (needs usage events)

Revision ID: 2025_02_ba_audit_log
Revises: m1_merge_billing_teams
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "2025_02_ba_audit_log"
down_revision: Union[str, Sequence[str], None] = "m1_merge_billing_teams"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = "2025_02_ab_usage"

# depends_on, not a merge: the audit log records usage events, so 2025_02_ab_usage must
# be applied first, yet the two stay on separate branches until m2_merge_usage_audit.


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="SET NULL"), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
