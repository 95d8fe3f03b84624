/**
 * Issue 12 cases 1 and 5 against the sample backend: a database holding two branch heads in
 * `alembic_version`, and a revision whose downgrade raises. Each assertion here failed on the
 * code before the revision set (16eafd3): it recorded one row, compensated to one revision and
 * reported rolled_back with a branch's table still there; it rolled back price ids before a
 * downgrade that raised.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadEnvScope } from '../../src/config/env-files';
import type { ReleaseSummary } from '../../src/release/types';
import { cliEnv, runCli } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { addMigration, addTable } from '../support/migrations';

let e2e: E2eStack;
const HEAD = '20251107_090000';
const ENVIRONMENT = 'revset';

beforeAll(async () => {
  e2e = await startE2eStack('revset', { environment: ENVIRONMENT });
  const first = await release([]);
  expect(first.summary.status).toBe('success');
});
afterAll(async () => {
  await e2e?.close();
});

async function release(extra: string[], plans = ['starter=0', 'pro=9900']) {
  const summaryPath = path.join(e2e.stack.backendDir, 'var', 'reports', `run-${Date.now()}.json`);
  const result = await runCli([
    'release',
    'db',
    '--project-root',
    e2e.stack.backendDir,
    '--environment',
    ENVIRONMENT,
    '--non-interactive',
    ...plans.flatMap((p) => ['--plan', p]),
    '--summary-path',
    summaryPath,
    ...e2e.temporalArgs,
    ...extra,
  ]);
  const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as ReleaseSummary;
  const report = await readFile(summaryPath.replace(/\.json$/, '.md'), 'utf8').catch(() => '');
  return { ...result, summary, report };
}

async function alembic(...args: string[]): Promise<void> {
  const scope = await loadEnvScope(e2e.stack.backendDir, {});
  execFileSync('alembic', ['-c', 'alembic.ini', ...args], {
    cwd: e2e.stack.backendDir,
    env: cliEnv({ DATABASE_URL: scope.values.DATABASE_URL ?? '' }),
    stdio: 'ignore',
  });
}

const rows = async () =>
  (
    await e2e.query<{ version_num: string }>('select version_num from alembic_version order by version_num')
  ).map((r) => r.version_num);
const tables = async (names: string[]) =>
  (
    await e2e.query<{ table_name: string }>(
      'select table_name from information_schema.tables where table_name = any($1) order by table_name',
      [names],
    )
  ).map((r) => r.table_name);

test('case 1: a database with two rows in alembic_version is recorded as a set and brought back to exactly that set', async () => {
  // HEAD branches into x and y; the database is at {x1, y1}; the release brings x2, y2, their
  // merge and a failing revision after it.
  const removers = [
    await addMigration(e2e.stack.backendDir, {
      ...addTable('rs_x1', HEAD, 'rs_x1'),
      message: 'branch x one',
    }),
    await addMigration(e2e.stack.backendDir, {
      ...addTable('rs_y1', HEAD, 'rs_y1'),
      message: 'branch y one',
    }),
    await addMigration(e2e.stack.backendDir, {
      ...addTable('rs_x2', 'rs_x1', 'rs_x2'),
      message: 'branch x two',
    }),
    await addMigration(e2e.stack.backendDir, {
      ...addTable('rs_y2', 'rs_y1', 'rs_y2'),
      message: 'branch y two',
    }),
    await addMigration(e2e.stack.backendDir, {
      revision: 'rs_m1',
      downRevision: ['rs_x2', 'rs_y2'],
      upgrade: 'pass',
      downgrade: 'pass',
      message: 'merge x and y',
    }),
    await addMigration(e2e.stack.backendDir, {
      revision: 'rs_m2',
      downRevision: 'rs_m1',
      upgrade: 'op.execute("select 1/0")',
      downgrade: 'pass',
    }),
  ];
  try {
    await alembic('upgrade', 'rs_x1');
    await alembic('upgrade', 'rs_y1');
    expect(await rows()).toEqual(['rs_x1', 'rs_y1']);

    const run = await release(['--skip-stripe']);
    expect(run.summary.error?.message).toMatch(/division by zero/);
    expect(run.summary.pre_release_revisions).toEqual(['rs_x1', 'rs_y1']);
    expect(run.summary.pre_release_revision).toBe('rs_x1,rs_y1');
    const pending = run.summary.pending_revisions.map((r) => r.revision);
    expect([...pending].sort()).toEqual(['rs_m1', 'rs_m2', 'rs_x2', 'rs_y2']);
    expect(pending.indexOf('rs_m1')).toBeGreaterThan(
      Math.max(pending.indexOf('rs_x2'), pending.indexOf('rs_y2')),
    );
    expect(pending.at(-1)).toBe('rs_m2');
    expect(run.summary.pending_revisions.find((r) => r.revision === 'rs_m1')).toMatchObject({
      isMerge: true,
      downRevisions: ['rs_x2', 'rs_y2'],
    });

    // Compensation: both branches back, nothing of the release left, and only then rolled_back.
    expect(run.summary.compensations.map((c) => [c.name, c.status])).toEqual([['migrations', 'success']]);
    expect(run.summary.status).toBe('rolled_back');
    expect(run.code).toBe(1);
    expect(await rows()).toEqual(['rs_x1', 'rs_y1']);
    expect(await tables(['rs_x1', 'rs_x2', 'rs_y1', 'rs_y2'])).toEqual(['rs_x1', 'rs_y1']);
    expect(run.summary.alembic_revisions).toEqual(['rs_x1', 'rs_y1']);
    expect(run.report).toContain('| `rs_x1`, `rs_y1` |');
  } finally {
    await alembic('downgrade', HEAD);
    for (const remove of removers.reverse()) await remove();
  }
});

test('case 5: a downgrade that raises is shown before approval, and `release rollback` refuses before changing anything', async () => {
  const remove = await addMigration(e2e.stack.backendDir, {
    ...addTable('rs_r5', HEAD, 'rs_r5'),
    downgrade: 'raise RuntimeError("rs_r5 cannot be undone")',
    message: 'one-way table',
  });
  try {
    const run = await release([], ['starter=0', 'pro=16900']);
    expect(run.summary.status).toBe('success');
    expect(run.summary.pending_revisions).toEqual([
      expect.objectContaining({
        revision: 'rs_r5',
        downgrade: { status: 'raises', detail: 'RuntimeError: rs_r5 cannot be undone' },
      }),
    ]);
    expect(run.report).toContain(
      '**Rollback readiness: not ready.** rs_r5 (downgrade raises: RuntimeError: rs_r5 cannot be undone)',
    );

    const envBefore = await readFile(path.join(e2e.stack.backendDir, '.env.local'), 'utf8');
    const pricesBefore = await e2e.query('select code, stripe_price_id from billing_plans order by code');
    const rollback = await runCli(['release', 'rollback', ENVIRONMENT, ...e2e.temporalArgs]);
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toMatch(
      /rollback refused: .*rs_r5 \(downgrade raises: RuntimeError: rs_r5 cannot be undone\)/,
    );
    expect(rollback.stderr).toContain('nothing was changed');
    // Nothing was put back: not the price ids, not the env file, not the schema.
    expect(await readFile(path.join(e2e.stack.backendDir, '.env.local'), 'utf8')).toBe(envBefore);
    expect(await e2e.query('select code, stripe_price_id from billing_plans order by code')).toEqual(
      pricesBefore,
    );
    expect(await rows()).toEqual(['rs_r5']);
    expect(await tables(['rs_r5'])).toEqual(['rs_r5']);
  } finally {
    await e2e.query('drop table if exists rs_r5');
    await e2e.query(`update alembic_version set version_num = '${HEAD}'`);
    await remove();
  }
});

test('a release from base that fails after Stripe: the schema goes back to base first, and the env file still comes back byte for byte', async () => {
  await e2e.query('drop schema public cascade');
  await e2e.query('create schema public');
  const envBefore = await readFile(path.join(e2e.stack.backendDir, '.env.local'), 'utf8');
  const remove = await addMigration(e2e.stack.backendDir, {
    revision: 'rs_deactivate',
    downRevision: HEAD,
    upgrade: `op.execute("update billing_plans set is_active = false where code = 'starter'")`,
    downgrade: `op.execute("update billing_plans set is_active = true where code = 'starter'")`,
  });
  try {
    const run = await release([], ['starter=0', 'pro=17900']);
    expect(run.summary.error?.message).toMatch(/starter \(inactive\)/);
    expect(run.summary.pre_release_revisions).toEqual([]);
    expect(run.summary.compensations[0]).toMatchObject({ name: 'migrations', status: 'success' });
    expect(run.summary.compensations.filter((c) => c.status === 'failed')).toEqual([]);
    expect(run.summary.status).toBe('rolled_back');
    expect(await rows()).toEqual([]);
    expect(await readFile(path.join(e2e.stack.backendDir, '.env.local'), 'utf8')).toBe(envBefore);
  } finally {
    await remove();
    await alembic('upgrade', HEAD);
  }
});
