/**
 * Tracked test migrations, written into a case's backend copy (never into examples/). Each one
 * logs when its upgrade starts and ends (var/faults-migration-runs.log, outside any transaction),
 * and notes an overlap when another process is running the same upgrade at that moment (a file
 * lock held for the life of the process), so "a migration ran twice" is measured, not guessed.
 * While var/faults-hold-alembic exists, every alembic invocation waits at import: a case can
 * pause preflight (alembic heads) at a known point.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The sample backend's head: tracked migrations chain after it. */
export const SAMPLE_HEAD = '20251107_090000';

export interface TrackedMigration {
  revision: string;
  /** Python statements of upgrade(), after the start mark; `op`, `sa` and `time` are imported. */
  upgrade: string[];
  downgrade: string[];
  /** Tables the upgrade creates (for the end-state check). */
  creates: string[];
}

export const quickTable = (revision: string, table: string): TrackedMigration => ({
  revision,
  upgrade: [`op.create_table("${table}", sa.Column("id", sa.Integer, primary_key=True))`],
  downgrade: [`op.drop_table("${table}")`],
  creates: [table],
});

/** A migration that holds its transaction in the database for `seconds` (pg_sleep), then creates a table. */
export const slowTable = (revision: string, table: string, seconds: number): TrackedMigration => ({
  revision,
  upgrade: [
    `op.execute("select pg_sleep(${seconds})")`,
    `op.create_table("${table}", sa.Column("id", sa.Integer, primary_key=True))`,
  ],
  downgrade: [`op.drop_table("${table}")`],
  creates: [table],
});

/** A migration that hangs in the migrate process itself (no database involved). */
export const hungTable = (revision: string, table: string): TrackedMigration => ({
  revision,
  upgrade: ['time.sleep(3600)', `op.create_table("${table}", sa.Column("id", sa.Integer, primary_key=True))`],
  downgrade: [`op.drop_table("${table}")`],
  creates: [table],
});

/** Makes the starter plan row inactive, so billing plan verification fails after Stripe changed things. */
export const deactivateStarter = (revision: string): TrackedMigration => ({
  revision,
  upgrade: [`op.execute("update billing_plans set is_active = false where code = 'starter'")`],
  downgrade: [`op.execute("update billing_plans set is_active = true where code = 'starter'")`],
  creates: [],
});

function source(m: TrackedMigration, downRevision: string): string {
  const body = (lines: string[]) => lines.map((l) => `    ${l}`).join('\n');
  const offlineBody = (lines: string[]) =>
    lines
      .filter((l) => !l.startsWith('time.sleep('))
      .map((l) => `        ${l}`)
      .join('\n') || '        pass';
  return `"""fault suite revision ${m.revision}"""
import fcntl
import os
import time

import sqlalchemy as sa
from alembic import context, op

revision = "${m.revision}"
down_revision = "${downRevision}"
branch_labels = None
depends_on = None

_VAR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "var")
_HOLD = os.path.join(_VAR, "faults-hold-alembic")
_since = time.time()
while os.path.exists(_HOLD) and time.time() - _since < 300:
    time.sleep(0.1)
_lock = None


def _mark(event):
    os.makedirs(_VAR, exist_ok=True)
    with open(os.path.join(_VAR, "faults-migration-runs.log"), "a") as log:
        log.write(f"{revision} {event} {os.getpid()} {time.time():.3f}\\n")


def upgrade() -> None:
    global _lock
    if context.is_offline_mode():
        # Preflight's SQL review renders this revision with Alembic's offline mode: that writes SQL
        # to a buffer and runs nothing in the database, so it is not a run of the migration. It
        # neither marks the runs log nor takes the overlap lock (the "no migration ran twice" check
        # counts online runs only), and skips the Python-side sleeps (a hung migration hangs the
        # migrate step, which is what the fault case tests, not the review).
${offlineBody(m.upgrade)}
        return
    os.makedirs(_VAR, exist_ok=True)
    _lock = open(os.path.join(_VAR, f"faults-running-{revision}.lock"), "w")
    try:
        fcntl.flock(_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        _mark("overlap")
    _mark("start")
${body(m.upgrade)}
    _mark("end")


def downgrade() -> None:
${body(m.downgrade)}
`;
}

/** Writes the chain after the sample head; returns the new head. */
export async function writeTrackedMigrations(
  backendDir: string,
  migrations: TrackedMigration[],
): Promise<string> {
  let down = SAMPLE_HEAD;
  for (const m of migrations) {
    await writeFile(
      path.join(backendDir, 'migrations', 'versions', `${m.revision}_faults.py`),
      source(m, down),
    );
    down = m.revision;
  }
  return down;
}

export interface MigrationRuns {
  starts: Record<string, number>;
  ends: Record<string, number>;
  overlaps: Record<string, number>;
  /** Runs beyond the first that completed, plus runs that overlapped another: must be 0. */
  ranTwice: number;
  lines: string[];
}

export async function migrationRuns(backendDir: string): Promise<MigrationRuns> {
  let text = '';
  try {
    text = await readFile(path.join(backendDir, 'var', 'faults-migration-runs.log'), 'utf8');
  } catch {
    // no tracked migration ran
  }
  const lines = text.split('\n').filter(Boolean);
  const count = (event: string) => {
    const out: Record<string, number> = {};
    for (const line of lines) {
      const [revision, what] = line.split(' ');
      if (revision && what === event) out[revision] = (out[revision] ?? 0) + 1;
    }
    return out;
  };
  const starts = count('start');
  const ends = count('end');
  const overlaps = count('overlap');
  const ranTwice =
    Object.values(ends).reduce((sum, n) => sum + Math.max(0, n - 1), 0) +
    Object.values(overlaps).reduce((sum, n) => sum + n, 0);
  return { starts, ends, overlaps, ranTwice, lines };
}
