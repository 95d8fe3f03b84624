"""backfill usage totals, with progress on stdout

Revision ID: 0017_backfill_usage_totals
Revises: m3_merge_keys_notifications
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0017_backfill_usage_totals"
down_revision: Union[str, Sequence[str], None] = "m3_merge_keys_notifications"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Real backfills print progress. STARTER_NOISY_MIGRATION_MB=N makes this one print
# N MB of it (default: nothing), which a runner that buffers command output in memory
# cannot survive; STARTER_NOISY_MIGRATION_STREAM=stderr (default stdout) sends it to
# stderr instead. Online mode only: `--sql` output stays SQL.

import os
import sys

_LINE = "backfill progress: tenant batch processed, usage_daily totals checked .......... ok\n"


def _noise() -> None:
    megabytes = float(os.environ.get("STARTER_NOISY_MIGRATION_MB", "0") or "0")
    remaining = int(megabytes * 1024 * 1024)
    stream = sys.stderr if os.environ.get("STARTER_NOISY_MIGRATION_STREAM", "stdout") == "stderr" else sys.stdout
    chunk = _LINE * 2048
    while remaining > 0:
        part = chunk[:remaining]
        stream.write(part)
        remaining -= len(part)
    stream.flush()


def upgrade() -> None:
    if not op.get_context().as_sql:
        _noise()
    op.execute("UPDATE usage_daily SET backfilled_total = total WHERE backfilled_total IS NULL")


def downgrade() -> None:
    pass
