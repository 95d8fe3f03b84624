"""billing plans, seeded with the catalog

Revision ID: 0003_billing_plans
Revises: 0002_tenant_memberships
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003_billing_plans"
down_revision: Union[str, Sequence[str], None] = "0002_tenant_memberships"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The catalog the service sells; release.config.json lists the same codes and amounts.
# There is no stripe_price_id column: the price ids live in STRIPE_PRODUCT_PRICE_MAP
# (.env.local), as in the upstream starter.


def upgrade() -> None:
    op.create_table(
        "billing_plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="usd"),
        sa.Column("interval", sa.String(16), nullable=False, server_default="month"),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    # Literal SQL, so `--sql` renders the seed too.
    op.execute(
        """
        INSERT INTO billing_plans (code, name, description, amount_cents, currency, interval, is_active)
        VALUES
            ('starter', 'Starter', 'For individuals', 1500, 'usd', 'month', true),
            ('pro', 'Pro', 'For small teams', 4900, 'usd', 'month', true),
            ('enterprise', 'Enterprise', 'SSO, audit log, priority support', 19900, 'usd', 'month', true)
        """
    )


def downgrade() -> None:
    op.drop_table("billing_plans")
