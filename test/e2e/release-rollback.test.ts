/**
 * Compensation end to end: a release that fails after changing things leaves the database, the
 * Stripe peer and `.env.local` as it found them.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ReleaseSummary } from '../../src/release/types';
import { loadEnvScope } from '../../src/config/env-files';
import { cliEnv, runCli } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { addColumn, addMigration } from '../support/migrations';

let e2e: E2eStack;
const HEAD = '20251107_090000';

beforeAll(async () => {
  e2e = await startE2eStack('rollback', { environment: 'rollback' });
  // a first good release: the state every failed release below must return to
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
    'rollback',
    '--non-interactive',
    ...plans.flatMap((p) => ['--plan', p]),
    '--summary-path',
    summaryPath,
    ...e2e.temporalArgs,
    ...extra,
  ]);
  const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as ReleaseSummary;
  return { ...result, summary };
}

interface Snapshot {
  revision: string[];
  envLocal: string;
  priceIds: Record<string, string | null>;
  activePrices: Array<{ id: string; lookup_key: string | null }>;
  columns: string[];
}

async function snapshot(): Promise<Snapshot> {
  const revision = (await e2e.query<{ version_num: string }>('select version_num from alembic_version')).map(
    (r) => r.version_num,
  );
  const rows = await e2e.query<{ code: string; stripe_price_id: string | null }>(
    'select code, stripe_price_id from billing_plans order by code',
  );
  const columns = await e2e.query<{ column_name: string }>(
    "select column_name from information_schema.columns where table_name = 'billing_plans' order by column_name",
  );
  return {
    revision,
    envLocal: await readFile(path.join(e2e.stack.backendDir, '.env.local'), 'utf8'),
    priceIds: Object.fromEntries(rows.map((r) => [r.code, r.stripe_price_id])),
    activePrices: e2e.stack.stripe
      .state()
      .prices.filter((p) => p.active)
      .map((p) => ({ id: p.id, lookup_key: p.lookup_key }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    columns: columns.map((c) => c.column_name),
  };
}

test('a failing migration rolls back to the pre-release revision', async () => {
  const before = await snapshot();
  const removeGood = await addMigration(e2e.stack.backendDir, addColumn('20251120_000001', HEAD, 'tier'));
  const removeBad = await addMigration(e2e.stack.backendDir, {
    revision: '20251120_000002',
    downRevision: '20251120_000001',
    upgrade: 'op.execute("select 1/0")',
    downgrade: 'pass',
  });
  try {
    const run = await release([]);
    expect(run.code).toBe(1);
    expect(run.summary.status).toBe('rolled_back');
    expect(run.summary.steps.map((s) => [s.name, s.status])).toEqual([
      ['preflight', 'success'],
      ['migrations', 'failed'],
    ]);
    expect(run.summary.steps[1]?.detail).toMatch(/division by zero/);
    expect(run.summary.compensations.map((c) => [c.name, c.status])).toEqual([['migrations', 'success']]);
    expect(await snapshot()).toEqual(before);
  } finally {
    await removeBad();
    await removeGood();
  }
});

test('a verification failure after Stripe changes undoes migrations, Stripe and the env file', async () => {
  const before = await snapshot();
  const remove = await addMigration(e2e.stack.backendDir, addColumn('20251121_000001', HEAD, 'tier'));
  // a plan row made inactive by the new release's migration makes verification fail late
  const removeDeactivate = await addMigration(e2e.stack.backendDir, {
    revision: '20251121_000002',
    downRevision: '20251121_000001',
    upgrade: `op.execute("update billing_plans set is_active = false where code = 'starter'")`,
    downgrade: `op.execute("update billing_plans set is_active = true where code = 'starter'")`,
  });
  try {
    const run = await release([], ['starter=0', 'pro=12900']);
    expect(run.code).toBe(1);
    expect(run.summary.error?.message).toMatch(/starter \(inactive\)/);
    expect(run.summary.steps.map((s) => s.status)).toEqual([
      'success',
      'success',
      'success',
      'success',
      'failed',
    ]);
    const created = run.summary.stripe?.plans.find((p) => p.code === 'pro');
    expect(created?.priceAction).toBe('created');
    // The schema first (to exactly the recorded set), then price ids and Stripe.
    expect(run.summary.compensations.map((c) => [c.name, c.status])).toEqual([
      ['migrations', 'success'],
      ['env_file', 'success'],
      ['billing_plans', 'success'],
      ['stripe:pro', 'success'],
      ['stripe:starter', 'skipped'],
    ]);
    expect(run.summary.status).toBe('rolled_back');
    const after = await snapshot();
    expect(after).toEqual(before); // revision, columns, env file byte for byte, price ids, active prices
    const createdPrice = e2e.stack.stripe.state().prices.find((p) => p.id === created?.priceId);
    expect(createdPrice?.active).toBe(false);
  } finally {
    await removeDeactivate();
    await remove();
  }
});

test('a Stripe error rolls back the migrations and leaves Stripe untouched', async () => {
  const before = await snapshot();
  const remove = await addMigration(e2e.stack.backendDir, addColumn('20251122_000001', HEAD, 'tier'));
  await fetch(`${e2e.stack.stripe.url}/_peer/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      method: 'POST',
      pathPrefix: '/v1/prices',
      bodyIncludes: 'unit_amount',
      status: 400,
      message: 'injected by the test',
      times: 1,
    }),
  });
  try {
    const run = await release([], ['starter=0', 'pro=14900']);
    expect(run.code).toBe(1);
    expect(run.summary.steps.map((s) => [s.name, s.status]).at(-1)).toEqual(['stripe_setup', 'failed']);
    expect(run.summary.error?.type).toBe('StripeInvalidRequest');
    expect(run.summary.status).toBe('rolled_back');
    expect(await snapshot()).toEqual(before);
  } finally {
    await fetch(`${e2e.stack.stripe.url}/_peer/faults`, { method: 'DELETE' });
    await remove();
  }
});

test('--no-rollback keeps the partial state and says so', async () => {
  const remove = await addMigration(e2e.stack.backendDir, addColumn('20251123_000001', HEAD, 'tier'));
  const removeDeactivate = await addMigration(e2e.stack.backendDir, {
    revision: '20251123_000002',
    downRevision: '20251123_000001',
    upgrade: `op.execute("update billing_plans set is_active = false where code = 'starter'")`,
    downgrade: `op.execute("update billing_plans set is_active = true where code = 'starter'")`,
  });
  try {
    const run = await release(['--no-rollback', '--skip-stripe']);
    expect(run.code).toBe(1);
    expect(run.summary.status).toBe('failed');
    expect(run.summary.options.no_rollback).toBe(true);
    expect(run.summary.compensations.map((c) => c.status)).toEqual(['skipped']);
    expect((await snapshot()).revision).toEqual(['20251123_000002']);
  } finally {
    // leave the database at the state the other tests start from
    const scope = await loadEnvScope(e2e.stack.backendDir, {});
    execFileSync('alembic', ['-c', 'alembic.ini', 'downgrade', HEAD], {
      cwd: e2e.stack.backendDir,
      env: cliEnv({ DATABASE_URL: scope.values.DATABASE_URL ?? '' }),
      stdio: 'ignore',
    });
    await removeDeactivate();
    await remove();
  }
});

test('a migration whose downgrade raises: the compensation is refused, not started, and ends rollback_failed with exit 4 and a manual action', async () => {
  const remove = await addMigration(e2e.stack.backendDir, {
    revision: '20251124_000001',
    downRevision: HEAD,
    upgrade: `op.execute("update billing_plans set is_active = false where code = 'starter'")`,
    downgrade: 'raise RuntimeError("this migration cannot be undone")',
  });
  try {
    const run = await release(['--skip-stripe']);
    expect(run.code).toBe(4);
    expect(run.summary.status).toBe('rollback_failed');
    const migration = run.summary.compensations.find((c) => c.name === 'migrations');
    expect(migration?.status).toBe('skipped');
    expect(migration?.detail).toMatch(
      /^refused: the downgrade would stop half-way at 20251124_000001 \(downgrade raises: RuntimeError: this migration cannot be undone\); the database stayed at 20251124_000001$/,
    );
    // The exact command, with the backend's configured alembic invocation.
    expect(migration?.manual_action).toContain(`(alembic -c alembic.ini downgrade ${HEAD})`);
    expect(run.summary.alembic_revisions).toEqual(['20251124_000001']);
    expect(run.stderr).toMatch(/by hand \(migrations\)/);
  } finally {
    // what the operator would do by hand, so the next test starts from the known state
    await e2e.query(`update alembic_version set version_num = '${HEAD}'`);
    await e2e.query("update billing_plans set is_active = true where code = 'starter'");
    await remove();
  }
});

test('release rollback undoes a completed release inside the window, and refuses outside it', async () => {
  const before = await snapshot();
  const remove = await addMigration(e2e.stack.backendDir, addColumn('20251125_000001', HEAD, 'tier'));
  try {
    const run = await release([], ['starter=0', 'pro=15900']);
    expect(run.code).toBe(0);
    expect(run.summary.status).toBe('success');
    expect((await snapshot()).columns).toContain('tier');

    const late = await runCli(['release', 'rollback', 'rollback', '--window', '1ms', ...e2e.temporalArgs]);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/outside the rollback window of 1ms/);

    // A rollback the workflow refuses (the schema moved on) is the latest run of the id now:
    // status, show and rollback still work on the release, naming the refused rollback beside it.
    await e2e.query(`update alembic_version set version_num = '${HEAD}'`);
    const refused = await runCli([
      'release',
      'rollback',
      'rollback',
      '--operator',
      'dave',
      ...e2e.temporalArgs,
    ]);
    await e2e.query("update alembic_version set version_num = '20251125_000001'");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/rollback refused: the database is at/);
    const refusedRun = (await e2e.ctx.client.workflow.getHandle('db-release-rollback').describe()).runId;
    expect(refusedRun).not.toBe(run.summary.run_id);
    const afterRefusal = await runCli(['release', 'status', 'rollback', ...e2e.temporalArgs]);
    expect(afterRefusal.code).toBe(0);
    expect(afterRefusal.stdout).toContain('db-release-rollback: success');
    expect(afterRefusal.stdout).toContain(`rollback run ${refusedRun}: refused (the database is at`);
    expect(afterRefusal.stdout).toContain(`release run ${run.summary.run_id} is unchanged`);
    const shownAfterRefusal = await runCli(['release', 'show', 'rollback', ...e2e.temporalArgs]);
    expect(shownAfterRefusal.code).toBe(0);
    expect((JSON.parse(shownAfterRefusal.stdout) as ReleaseSummary).run_id).toBe(run.summary.run_id);
    expect(shownAfterRefusal.stderr).toContain(`rollback run ${refusedRun}: refused`);

    const rollback = await runCli([
      'release',
      'rollback',
      'rollback',
      '--json',
      '--operator',
      'dave',
      ...e2e.temporalArgs,
    ]);
    expect(rollback.stderr).toMatch(/rolled_back/);
    expect(rollback.code).toBe(0);
    const result = JSON.parse(rollback.stdout) as {
      status: string;
      release_run_id: string;
      compensations: Array<{ name: string; status: string }>;
    };
    expect(result.release_run_id).toBe(run.summary.run_id);
    expect(result.compensations.map((c) => [c.name, c.status])).toEqual([
      ['migrations', 'success'],
      ['env_file', 'success'],
      ['billing_plans', 'success'],
      ['stripe:pro', 'success'],
      ['stripe:starter', 'skipped'],
    ]);
    expect(await snapshot()).toEqual(before);

    // the rollback after a refused one found the release by itself (no --run-id)
    expect(rollback.stderr).toContain(
      `rollback run ${refusedRun} (refused); rolling back release run ${run.summary.run_id} again`,
    );
    const rollbackRun = (await e2e.ctx.client.workflow.getHandle('db-release-rollback').describe()).runId;

    // the latest run is now the rollback itself: a second rollback is refused, naming it
    const again = await runCli(['release', 'rollback', 'rollback', ...e2e.temporalArgs]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      `release run ${run.summary.run_id} of db-release-rollback was already rolled back by run ${rollbackRun} (rolled_back`,
    );

    // status, show and watch: the release, with the rollback beside it (from its result, no query)
    const status = await runCli(['release', 'status', 'rollback', ...e2e.temporalArgs]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`rollback run ${rollbackRun}: rolled_back (requested by dave`);
    expect(status.stdout).toContain(`release run ${run.summary.run_id} is rolled back`);
    const statusJson = JSON.parse(
      (await runCli(['release', 'status', 'rollback', '--json', ...e2e.temporalArgs])).stdout,
    ) as {
      summary: { run_id: string };
      rollback: { runId: string; state: string };
    };
    expect(statusJson.summary.run_id).toBe(run.summary.run_id);
    expect(statusJson.rollback).toMatchObject({ runId: rollbackRun, state: 'rolled_back' });
    const shown = await runCli(['release', 'show', 'rollback', ...e2e.temporalArgs]);
    expect(shown.code).toBe(0);
    expect((JSON.parse(shown.stdout) as ReleaseSummary).run_id).toBe(run.summary.run_id);
    expect(shown.stderr).toContain(`rollback run ${rollbackRun}: rolled_back`);
    const watch = await runCli(['release', 'watch', 'rollback', ...e2e.temporalArgs]);
    expect(watch.code).toBe(0);
    expect(watch.stdout).toMatch(/rolled_back/);

    // release list: a run id column, and the rolled-back release listed as rolled_back
    const listed = JSON.parse(
      (await runCli(['release', 'list', '--environment', 'rollback', '--json', ...e2e.temporalArgs])).stdout,
    ) as {
      rows: Array<{ runId: string; status: string; rollback?: { runId: string; state: string } | null }>;
    };
    expect(listed.rows.find((r) => r.runId === run.summary.run_id)).toMatchObject({
      status: 'rolled_back',
      rollback: { runId: rollbackRun, state: 'rolled_back' },
    });
    const rolledBack = JSON.parse(
      (
        await runCli([
          'release',
          'list',
          '--environment',
          'rollback',
          '--status',
          'rolled_back',
          '--json',
          ...e2e.temporalArgs,
        ])
      ).stdout,
    ) as { rows: Array<{ runId: string; status: string }> };
    expect(rolledBack.rows.map((r) => r.runId)).toContain(run.summary.run_id);
    expect(rolledBack.rows.every((r) => r.status === 'rolled_back')).toBe(true);
    const table = await runCli(['release', 'list', '--environment', 'rollback', ...e2e.temporalArgs]);
    expect(table.stdout).toMatch(/RUN ID\s+ROLLBACK/);
    const releaseRow = table.stdout.split('\n').find((l) => l.includes(run.summary.run_id)) ?? '';
    expect(releaseRow).toMatch(/\brolled_back\b.*rolled_back by run /);
  } finally {
    await remove();
  }
});
