/**
 * tools/alembic_inspect.py --upgrade-sql on the second sample (merges, depends_on, non-hex ids):
 * Alembic's offline mode through the sample's env.py renders exactly the pending range, each
 * statement attributed to the revision that emits it; no database is needed or touched.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseRenderedSql, type RenderedSql } from '../../src/activities/sql-review';
import { parseInspection } from '../../src/runtime/alembic-inspection';
import { venvBin } from '../../src/devstack/paths';

const backend = path.join(__dirname, '..', '..', 'examples', 'starter-monorepo', 'apps', 'api-service');
const script = path.join(__dirname, '..', '..', 'tools', 'alembic_inspect.py');

function inspect(current: string): { pending: string[]; sql: RenderedSql } {
  const stdout = execFileSync(
    path.join(venvBin(), 'python3'),
    [script, '--config', 'alembic.ini', '--current', current, '--sql', '--upgrade-sql'],
    {
      cwd: backend,
      // Unreachable on purpose: offline mode never connects.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none',
      },
      encoding: 'utf8',
    },
  );
  const read = parseInspection(stdout);
  if (!read.ok) throw new Error(read.detail);
  const sql = parseRenderedSql(stdout);
  if (!sql.ok) throw new Error(sql.why);
  return { pending: read.inspection.pending, sql: sql.rendered };
}

test('from one revision: every pending revision has its own upgrade SQL, merges included; the downgrade stops at the raising merge, saying so', () => {
  const { pending, sql } = inspect('m1_merge_billing_teams');
  expect(sql.unavailable).toBeNull();
  expect(Object.keys(sql.revisions).sort()).toEqual([...pending].sort());
  for (const rev of pending) {
    const r = sql.revisions[rev];
    expect(r?.upgrade_unavailable).toBeNull();
    // Alembic's own step comment for exactly this revision, and no other revision's step.
    expect(r?.upgrade).toMatch(new RegExp(`-- Running upgrade .* -> ${rev}\\n`));
    expect((r?.upgrade ?? '').match(/-- Running upgrade/g)).toHaveLength(1);
  }
  expect(sql.revisions.m3_merge_keys_notifications?.upgrade).toMatch(
    /-- Running upgrade c2_api_key_scopes, d2_notification_preferences -> m3_merge_keys_notifications/,
  );
  // Downgrades run heads first: the ones before the raising merge are rendered, it and the rest say why.
  expect(sql.revisions['0018_plan_display_order']?.downgrade).toMatch(
    /-- Running downgrade 0018_plan_display_order -> 0017_backfill_usage_totals/,
  );
  expect(sql.revisions.m2_merge_usage_audit?.downgrade).toBeNull();
  expect(sql.revisions.m2_merge_usage_audit?.downgrade_unavailable).toMatch(
    /^its downgrade\(\) failed offline: NotImplementedError: irreversible merge/,
  );
  expect(sql.revisions['2025_02_ab_usage']?.downgrade_unavailable).toBe(
    'not rendered: the offline downgrade stopped at m2_merge_usage_audit',
  );
});

test('from a set of branch heads: the range starts from the whole set (nothing applied is rendered again); the downgrade to several heads is said unavailable', () => {
  const { pending, sql } = inspect('a2_billing_invoices,b7_add_teams');
  expect(pending[0]).toBe('b8_team_invites');
  expect(Object.keys(sql.revisions).sort()).toEqual([...pending].sort());
  const all = Object.values(sql.revisions)
    .map((r) => r.upgrade ?? '')
    .join('\n');
  expect(all).not.toMatch(/-> (a1_billing_subscriptions|a2_billing_invoices|b7_add_teams)\n/);
  expect(sql.revisions.b8_team_invites?.upgrade).toMatch(
    /-- Running upgrade b7_add_teams -> b8_team_invites/,
  );
  expect(sql.revisions.b8_team_invites?.downgrade_unavailable).toMatch(
    /^the database is at several heads \(a2_billing_invoices, b7_add_teams\)/,
  );
});
