/**
 * Issue 12 cases 1 and 5 against the second sample (examples/starter-monorepo): two rows in
 * alembic_version on either side of a merge whose downgrade raises. The release records the set,
 * brings the database back to exactly it, and refuses a compensation or `release rollback` that
 * would stop at the raising merge, naming the set the database stayed at.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ReleaseSummary } from '../../src/release/types';
import { runCli } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { addMigration } from '../support/migrations';
import {
  alembicVersionRows,
  bringStarterTo,
  STARTER_REVISIONS,
  starterBackendOf,
  unknownConfigKeysPatch,
} from '../support/starter-backend';

let e2e: E2eStack;
const ENVIRONMENT = 'e2e';
const RAISING = STARTER_REVISIONS.raisingMerge;

beforeAll(async () => {
  e2e = await startE2eStack('starter-revset', {
    environment: ENVIRONMENT,
    sample: 'starter-monorepo',
    // Billing off as the sample has it; only keys this branch's schema knows.
    starter: { billing: false, configPatch: unknownConfigKeysPatch() },
  });
});
afterAll(async () => {
  await e2e?.close();
});

/** A fresh schema at `revisions` (the previous test may have left the database anywhere). */
async function databaseAt(revisions: readonly string[]): Promise<void> {
  await e2e.query('drop schema public cascade');
  await e2e.query('create schema public');
  await bringStarterTo(starterBackendOf(e2e.stack.backendDir), e2e.stack.databaseUrl, revisions);
  expect(await alembicVersionRows(e2e.stack.databaseUrl)).toEqual([...revisions].sort());
}

/** A revision after the head that fails: the release then compensates after migrating everything else. */
function failingAfterHead() {
  return addMigration(e2e.stack.backendDir, {
    revision: 'zz_fails',
    downRevision: STARTER_REVISIONS.head,
    upgrade: 'op.execute("select 1/0")',
    downgrade: 'pass',
  });
}

async function release() {
  const summaryPath = path.join(e2e.stack.backendDir, 'var', 'reports', `run-${Date.now()}.json`);
  const result = await runCli([
    'release',
    'db',
    '--project-root',
    e2e.stack.backendDir,
    '--environment',
    ENVIRONMENT,
    '--non-interactive',
    '--skip-db-checks',
    '--summary-path',
    summaryPath,
    ...e2e.temporalArgs,
  ]);
  const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as ReleaseSummary;
  const report = await readFile(summaryPath.replace(/\.json$/, '.md'), 'utf8').catch(() => '');
  return { ...result, summary, report };
}

test('case 1: two rows after the raising merge; a failed release comes back to exactly both rows', async () => {
  const before = STARTER_REVISIONS.branchedAfterRaisingMerge;
  await databaseAt(before);
  const remove = await failingAfterHead();
  try {
    const run = await release();
    expect(run.summary.error?.message).toMatch(/division by zero/);
    expect(run.summary.pre_release_revisions).toEqual([...before].sort());
    // Everything between the set and the head: both half-way branches, their merge, what follows.
    const pending = run.summary.pending_revisions.map((r) => r.revision);
    expect([...pending].sort()).toEqual(
      [
        '0017_backfill_usage_totals',
        STARTER_REVISIONS.head,
        'c2_api_key_scopes',
        'd2_notification_preferences',
        'm3_merge_keys_notifications',
        'zz_fails',
      ].sort(),
    );
    expect(
      run.summary.pending_revisions.find((r) => r.revision === 'm3_merge_keys_notifications'),
    ).toMatchObject({ isMerge: true });
    expect(run.summary.compensations.map((c) => [c.name, c.status])).toEqual([['migrations', 'success']]);
    expect(run.summary.status).toBe('rolled_back');
    expect(run.code).toBe(1);
    expect(await alembicVersionRows(e2e.stack.databaseUrl)).toEqual([...before].sort());
    expect(run.summary.alembic_revisions).toEqual([...before].sort());
  } finally {
    await remove();
  }
});

test('case 5: two rows before the raising merge; the compensation is refused before it starts, naming where the database stayed', async () => {
  await databaseAt(STARTER_REVISIONS.branchedBeforeRaisingMerge);
  const remove = await failingAfterHead();
  try {
    const run = await release();
    const merge = run.summary.pending_revisions.find((r) => r.revision === RAISING);
    expect(merge).toMatchObject({ isMerge: true, downgrade: { status: 'raises' } });
    expect(merge?.downgrade?.detail).toMatch(/NotImplementedError/);
    expect(run.report).toContain(`**Rollback readiness: not ready.** ${RAISING} (downgrade raises:`);
    expect(run.summary.status).toBe('rollback_failed');
    expect(run.code).toBe(4);
    const [migrations] = run.summary.compensations;
    expect(migrations?.status).toBe('skipped');
    expect(migrations?.detail).toContain(`refused: the downgrade would stop half-way at ${RAISING}`);
    expect(migrations?.detail).toContain(`the database stayed at ${STARTER_REVISIONS.head}`);
    expect(migrations?.manual_action).toContain(
      `bring it to {${[...STARTER_REVISIONS.branchedBeforeRaisingMerge].sort().join(', ')}}`,
    );
    // The exact commands, with the backend's own venv alembic, one per member of the set.
    expect(migrations?.manual_action).toContain(
      '(.venv/bin/alembic -c alembic.ini downgrade a2_billing_invoices, then .venv/bin/alembic -c alembic.ini downgrade b7_add_teams)',
    );
    // Nothing was downgraded: the database is where the failed migration left it.
    expect(await alembicVersionRows(e2e.stack.databaseUrl)).toEqual([STARTER_REVISIONS.head]);
    expect(run.summary.alembic_revisions).toEqual([STARTER_REVISIONS.head]);
  } finally {
    await remove();
  }
});

test('case 5: `release rollback` of a release that applied the raising merge is refused before anything changes', async () => {
  await databaseAt(STARTER_REVISIONS.branchedBeforeRaisingMerge);
  const run = await release();
  expect(run.summary.status).toBe('success');
  const rollback = await runCli(['release', 'rollback', ENVIRONMENT, ...e2e.temporalArgs]);
  expect(rollback.code).toBe(1);
  expect(rollback.stderr).toMatch(
    new RegExp(`rollback refused: .*${RAISING} \\(downgrade raises: .*NotImplementedError`),
  );
  expect(await alembicVersionRows(e2e.stack.databaseUrl)).toEqual([STARTER_REVISIONS.head]);
});
