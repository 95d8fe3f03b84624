"""merge api keys and notifications

Revision ID: m3_merge_keys_notifications
Revises: c2_api_key_scopes, d2_notification_preferences
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "m3_merge_keys_notifications"
down_revision: Union[str, Sequence[str], None] = ("c2_api_key_scopes", "d2_notification_preferences")
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
