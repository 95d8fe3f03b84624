"""teams branch: invites

Revision ID: b8_team_invites
Revises: b7_add_teams
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "b8_team_invites"
down_revision: Union[str, Sequence[str], None] = "b7_add_teams"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "team_invites",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("team_invites")
