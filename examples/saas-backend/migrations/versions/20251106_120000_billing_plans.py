"""billing plans

Revision ID: 20251106_120000
Revises:
Create Date: 2025-11-06 12:00:00

Creates the billing catalog (billing_plans, plan_features) and
tenant_subscriptions, and seeds the two plans the app ships with.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "20251106_120000"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _uuid_pk() -> sa.Column:
    return sa.Column(
        "id",
        postgresql.UUID(as_uuid=True),
        primary_key=True,
        server_default=sa.text("gen_random_uuid()"),
    )


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    ]


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "billing_plans",
        _uuid_pk(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("interval", sa.String(16), nullable=False, server_default="monthly"),
        sa.Column("interval_count", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
        sa.Column("trial_days", sa.Integer(), nullable=True),
        sa.Column("seat_included", sa.Integer(), nullable=True),
        sa.Column("feature_toggles", postgresql.JSONB(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        *_timestamps(),
        sa.UniqueConstraint("code", name="uq_billing_plans_code"),
    )

    op.create_table(
        "plan_features",
        _uuid_pk(),
        sa.Column(
            "plan_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("billing_plans.id", ondelete="CASCADE", name="fk_plan_features_plan_id"),
            nullable=False,
        ),
        sa.Column("feature_key", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("value", sa.String(64), nullable=True),
        sa.Column("is_metered", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("plan_id", "feature_key", name="uq_plan_features_plan_id_feature_key"),
    )

    op.create_table(
        "tenant_subscriptions",
        _uuid_pk(),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "plan_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("billing_plans.id", ondelete="RESTRICT", name="fk_tenant_subscriptions_plan_id"),
            nullable=False,
        ),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("stripe_subscription_id", sa.String(128), nullable=True),
        *_timestamps(),
    )

    # Seed data. Plain SQL literals, so `alembic upgrade head --sql` renders it too.
    op.execute(
        """
        INSERT INTO billing_plans (code, name, price_cents, currency, trial_days, seat_included, feature_toggles)
        VALUES
            ('starter', 'Starter', 0, 'USD', 14, 1, '{"api_access": false, "sso": false}'::jsonb),
            ('pro', 'Pro', 9900, 'USD', 14, 5, '{"api_access": true, "sso": false}'::jsonb)
        """
    )
    op.execute(
        """
        INSERT INTO plan_features (plan_id, feature_key, display_name, description, value, is_metered)
        SELECT p.id, f.feature_key, f.display_name, f.description, f.value, f.is_metered
        FROM (VALUES
            ('starter', 'projects', 'Projects', 'Active projects per workspace', '3', false),
            ('starter', 'support', 'Support', 'Support channel', 'community', false),
            ('pro', 'projects', 'Projects', 'Active projects per workspace', 'unlimited', false),
            ('pro', 'support', 'Support', 'Support channel', 'priority email', false),
            ('pro', 'api_calls', 'API calls', 'Metered API requests per month', '100000', true)
        ) AS f (plan_code, feature_key, display_name, description, value, is_metered)
        JOIN billing_plans p ON p.code = f.plan_code
        """
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("tenant_subscriptions")
    op.drop_table("plan_features")
    op.drop_table("billing_plans")
