/**
 * Issue 17, the SQL under review end to end: on a copy of the sample backend with a revision
 * written to trigger every risk flag, preflight renders the pending SQL with Alembic's offline mode
 * (through the backend's own env.py), Squawk flags it, and the environment's policy decides:
 * `require-approval` gates a release whose environment needs no approval and `release status`
 * prints the flags and the SQL whole, report.md holds them; `refuse` stops before any change
 * naming the flags; an env.py without offline mode is said so, not guessed.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../src/devstack/paths';
import { reportPathFor } from '../../src/release/report';
import type { ReleaseSummary } from '../../src/release/types';
import { gateQuery, type GateView } from '../../src/workflows/messages';
import { releaseDbArgs, runCli, startCli } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { uniqueName } from '../support/temporal';

let e2e: E2eStack;
const SAMPLE = path.join(repoRoot(), 'examples', 'saas-backend');
const environment = uniqueName('sqlreview');
const releaseId = `db-release-${environment}`;
const backend = () => e2e.stack.backendDir;
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@localhost',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@localhost',
};

/** One revision after the sample's head whose upgrade() does each risky thing once. */
const RISKY = `"""risky changes for the SQL review test"""
import sqlalchemy as sa
from alembic import op

revision = "20251201_000000"
down_revision = "20251107_090000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("billing_plans", "seat_included")
    op.alter_column("billing_plans", "trial_days", type_=sa.BigInteger())
    op.add_column("billing_plans", sa.Column("region", sa.String(8), nullable=False))
    op.create_foreign_key("fk_plan_features_plan", "plan_features", "billing_plans", ["plan_id"], ["id"])
    op.alter_column("billing_plans", "currency", new_column_name="currency_code")
    op.rename_table("tenant_subscriptions", "subscriptions")
    op.drop_table("plan_features")


def downgrade() -> None:
    raise NotImplementedError("test revision: never applied")
`;

async function setPolicy(flags: string): Promise<void> {
  const file = path.join(backend(), 'release.config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as { environments: Record<string, unknown> };
  config.environments[environment] = { approval: { required: false }, sqlReview: { flags } };
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  execFileSync('git', ['commit', '-qam', `sql review policy ${flags}`], { cwd: backend(), env: GIT_ENV });
}

beforeAll(async () => {
  e2e = await startE2eStack('sqlreview', { environment });
  await writeFile(path.join(backend(), 'migrations', 'versions', '20251201_000000_risky.py'), RISKY);
  execFileSync('git', ['add', '-A'], { cwd: backend(), env: GIT_ENV });
  execFileSync('git', ['commit', '-qm', 'a risky revision'], { cwd: backend(), env: GIT_ENV });
});
afterAll(async () => {
  await e2e?.close();
});

function releaseArgs(summaryPath: string): string[] {
  return releaseDbArgs({ projectRoot: backend(), environment, summaryPath, temporalArgs: e2e.temporalArgs });
}

async function waitingGate(): Promise<GateView> {
  const handle = e2e.ctx.client.workflow.getHandle(releaseId);
  let last: GateView | null = null;
  for (let i = 0; i < 1200; i++) {
    last = await handle.query(gateQuery).catch(() => null);
    if (last?.waitingForApproval && last.planDigest) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${releaseId} never waited at the gate; last: ${JSON.stringify(last)}`);
}

const revisionTable = async () =>
  (await e2e.query<{ version_num: string }>('select version_num from alembic_version').catch(() => [])).map(
    (r) => r.version_num,
  );

test('require-approval: a release of an environment without approval waits; release status and report.md show the SQL and every flag', async () => {
  await setPolicy('require-approval');
  const summaryPath = path.join(backend(), 'var', 'reports', 'sql-review.json');
  const cli = startCli(releaseArgs(summaryPath));
  const gate = await waitingGate();
  const review = gate.plan?.sqlReview;
  expect(review?.revisions.map((r) => r.revision)).toEqual([
    '20251106_120000',
    '20251107_090000',
    '20251201_000000',
  ]);
  expect(review?.decision.action).toBe('require-approval');
  const flagged = (review?.flags ?? [])
    .filter((f) => f.revision === '20251201_000000')
    .map((f) => `${f.kind} ${f.rule}`);
  expect(flagged).toEqual(
    expect.arrayContaining([
      'drop ban-drop-column',
      'drop ban-drop-table',
      'type-change changing-column-type',
      'not-null-without-default adding-required-field',
      'table-lock-constraint adding-foreign-key-constraint',
      'rename renaming-column',
      'rename renaming-table',
    ]),
  );
  expect(review?.flags).toContainEqual(
    expect.objectContaining({
      revision: '20251107_090000',
      kind: 'non-concurrent-index',
      rule: 'require-concurrent-index-creation',
    }),
  );
  // nothing ran: the gate stands before the migrations
  expect(await revisionTable()).toEqual([]);

  const status = await runCli(['release', 'status', releaseId, ...e2e.temporalArgs]);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(
    /sql review: SQL of 3 of 3 pending revision\(s\) rendered offline; \d+ risk flag\(s\) \(.*drop.*\); policy: require-approval/,
  );
  expect(status.stdout).toContain(
    'flag drop (ban-drop-column) in 20251201_000000: ALTER TABLE billing_plans DROP COLUMN seat_included;',
  );
  expect(status.stdout).toContain(
    'flag rename (renaming-table) in 20251201_000000: ALTER TABLE tenant_subscriptions RENAME TO subscriptions;',
  );
  expect(status.stdout).toContain('sql upgrade 20251201_000000:');
  expect(status.stdout).toContain('      ALTER TABLE billing_plans ADD COLUMN region VARCHAR(8) NOT NULL;');
  // the revision's downgrade() raises: said, not guessed
  expect(status.stdout).toMatch(
    /sql downgrade 20251201_000000: SQL unavailable: its downgrade\(\) failed offline: NotImplementedError: test revision: never applied/,
  );

  const reject = await runCli([
    'release',
    'reject',
    releaseId,
    '--approver',
    'bob',
    '--reason',
    'drops need a plan',
    ...e2e.temporalArgs,
  ]);
  expect(reject.code).toBe(0);
  await cli.done;
  const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as ReleaseSummary;
  expect(summary.status).toBe('rejected');
  expect(summary.sql_review?.flags.length).toBe(review?.flags.length);
  const report = await readFile(reportPathFor(summaryPath), 'utf8');
  expect(report).toContain('## SQL review');
  expect(report).toContain(
    '| `20251201_000000` | drop | ban-drop-column | `ALTER TABLE billing_plans DROP COLUMN seat_included;` |',
  );
  expect(report).toContain('DROP TABLE plan_features;');
  expect(await revisionTable()).toEqual([]);
});

test('refuse: the release is refused before any change, naming the flags', async () => {
  await setPolicy('refuse');
  const run = await runCli(releaseArgs(path.join('var', 'reports', 'sql-refused.json')));
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(
    /release refused, nothing was changed: refused by the SQL review policy: .*drop \(ban-drop-column\) in 20251201_000000: ALTER TABLE billing_plans DROP COLUMN seat_included;/,
  );
  expect(run.stderr).toContain(`set environments.${environment}.sqlReview in release.config.json`);
  expect(await revisionTable()).toEqual([]);
});

test('an env.py without offline mode: SQL unavailable, said per revision; never guessed, so approval is required', async () => {
  await setPolicy('require-approval');
  const envPy = path.join(backend(), 'migrations', 'env.py');
  const source = await readFile(envPy, 'utf8');
  await writeFile(
    envPy,
    source.replace(
      /if context\.is_offline_mode\(\):\n\s+run_migrations_offline\(\)\nelse:\n\s+run_migrations_online\(\)/,
      'run_migrations_online()',
    ),
  );
  expect(await readFile(envPy, 'utf8')).not.toContain('is_offline_mode()');
  execFileSync('git', ['commit', '-qam', 'env.py online only'], { cwd: backend(), env: GIT_ENV });
  const summaryPath = path.join(backend(), 'var', 'reports', 'sql-online-only.json');
  const cli = startCli(releaseArgs(summaryPath));
  const gate = await waitingGate();
  expect(gate.plan?.sqlReview?.unavailable).toMatch(/^env\.py has no offline mode/);
  expect(gate.plan?.sqlReview?.flags).toEqual([]);
  expect(gate.plan?.sqlReview?.decision.reason).toMatch(
    /the SQL could not be reviewed in full \(env\.py has no offline mode/,
  );
  const status = await runCli(['release', 'status', releaseId, ...e2e.temporalArgs]);
  expect(status.stdout).toContain('sql upgrade 20251201_000000: SQL unavailable: env.py has no offline mode');
  await runCli([
    'release',
    'reject',
    releaseId,
    '--approver',
    'bob',
    '--reason',
    'no SQL to read',
    ...e2e.temporalArgs,
  ]);
  await cli.done;
  expect(await revisionTable()).toEqual([]);
});

test('an offline render that hangs is stopped at its own deadline: the inspection stands, the SQL is "timed out", approval required', async () => {
  // The sample's env.py (with offline mode), and a revision whose upgrade() sleeps even offline.
  await writeFile(
    path.join(backend(), 'migrations', 'env.py'),
    await readFile(path.join(SAMPLE, 'migrations', 'env.py'), 'utf8'),
  );
  await setPolicy('require-approval');
  await writeFile(
    path.join(backend(), 'migrations', 'versions', '20251202_000000_hangs.py'),
    'import time\n\nrevision = "20251202_000000"\ndown_revision = "20251201_000000"\nbranch_labels = None\ndepends_on = None\n\n\n' +
      'def upgrade() -> None:\n    time.sleep(3600)\n\n\ndef downgrade() -> None:\n    pass\n',
  );
  execFileSync('git', ['add', '-A'], { cwd: backend(), env: GIT_ENV });
  execFileSync('git', ['commit', '-qm', 'a revision that hangs'], { cwd: backend(), env: GIT_ENV });
  const saved = process.env.DB_RELEASE_SQL_RENDER_TIMEOUT_MS;
  process.env.DB_RELEASE_SQL_RENDER_TIMEOUT_MS = '4000'; // the worker runs in this process
  try {
    const cli = startCli(releaseArgs(path.join(backend(), 'var', 'reports', 'sql-hangs.json')));
    const gate = await waitingGate();
    expect(gate.plan?.pendingRevisions.map((r) => r.revision)).toEqual([
      '20251106_120000',
      '20251107_090000',
      '20251201_000000',
      '20251202_000000',
    ]);
    expect(gate.plan?.sqlReview?.unavailable).toMatch(
      /^timed out: the offline render ran past 4 s and was stopped/,
    );
    expect(
      gate.plan?.sqlReview?.revisions.every(
        (r) => r.upgrade === null && /^timed out/.test(r.upgradeUnavailable ?? ''),
      ),
    ).toBe(true);
    expect(gate.plan?.sqlReview?.decision.action).toBe('require-approval');
    await runCli([
      'release',
      'reject',
      releaseId,
      '--approver',
      'bob',
      '--reason',
      'hangs',
      ...e2e.temporalArgs,
    ]);
    await cli.done;
  } finally {
    if (saved === undefined) delete process.env.DB_RELEASE_SQL_RENDER_TIMEOUT_MS;
    else process.env.DB_RELEASE_SQL_RENDER_TIMEOUT_MS = saved;
  }
  expect(await revisionTable()).toEqual([]);
});
