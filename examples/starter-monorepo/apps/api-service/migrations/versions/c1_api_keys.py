"""keys branch: api keys

Revision ID: c1_api_keys
Revises: m2_merge_usage_audit
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "c1_api_keys"
down_revision: Union[str, Sequence[str], None] = "m2_merge_usage_audit"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True),
        sa.Column("hashed_secret", sa.String(128), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
