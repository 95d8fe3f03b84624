"""keys branch: api key scopes

Revision ID: c2_api_key_scopes
Revises: c1_api_keys
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "c2_api_key_scopes"
down_revision: Union[str, Sequence[str], None] = "c1_api_keys"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "api_key_scopes",
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("scope", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("api_key_scopes")
