"""merge billing and teams

Revision ID: m1_merge_billing_teams
Revises: a2_billing_invoices, b8_team_invites
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "m1_merge_billing_teams"
down_revision: Union[str, Sequence[str], None] = ("a2_billing_invoices", "b8_team_invites")
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
