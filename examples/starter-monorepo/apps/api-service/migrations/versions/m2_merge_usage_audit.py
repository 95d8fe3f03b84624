"""merge usage and audit; backfill usage totals (irreversible)

Revision ID: m2_merge_usage_audit
Revises: 2025_02_ac_usage_daily, 2025_02_ba_audit_log
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "m2_merge_usage_audit"
down_revision: Union[str, Sequence[str], None] = ("2025_02_ac_usage_daily", "2025_02_ba_audit_log")
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# A merge that also moves data, as real merges sometimes do: it folds the raw usage
# events into usage_daily and deletes them. Nothing can bring them back, so the
# downgrade refuses. A database at any revision before this one cannot be reached
# again by downgrading from after it.


def upgrade() -> None:
    op.add_column("usage_daily", sa.Column("backfilled_total", sa.BigInteger(), nullable=True))
    op.execute(
        """
        INSERT INTO usage_daily (tenant_id, metric, day, total, backfilled_total)
        SELECT tenant_id, metric, date_trunc('day', occurred_at), sum(quantity), sum(quantity)
        FROM usage_events
        GROUP BY tenant_id, metric, date_trunc('day', occurred_at)
        """
    )
    op.execute("DELETE FROM usage_events")
    op.execute("INSERT INTO audit_log (action, detail) VALUES ('usage.backfill', 'm2_merge_usage_audit')")


def downgrade() -> None:
    raise NotImplementedError(
        "irreversible merge: m2_merge_usage_audit folded usage_events into usage_daily and deleted them; "
        "restore from a backup taken before it"
    )
