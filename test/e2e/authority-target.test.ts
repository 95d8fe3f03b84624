/**
 * Issue 10, items 1, 2 and 9, on the real stack (dev server, Postgres, Alembic, the Stripe peer):
 * the worker, not the caller, establishes the environment, the catalog and the approval policy, and
 * the target database holds a lease that no release name and no second worker can get around.
 * Every refused attack is shown to change nothing: the Alembic revision set, the active Stripe
 * prices, both backends' .env.local bytes and billing_plans' price ids are read back unchanged.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ReleaseSummary } from '../../src/release/types';
import { summaryFromFailure } from '../../src/cli/release-runs';
import { statusQuery } from '../../src/workflows/messages';
import { runCli, startCli, type CliRun } from '../support/cli';
import { eventually } from '../support/eventually';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { addColumn, addMigration } from '../support/migrations';

const HEAD = '20251107_090000';
const NEXT = '20251201_000001';

let e2e: E2eStack;
/** A second checkout of the same backend (same database, same Stripe account) with its own worker. */
let otherRoot: string;
let otherWorker: CliRun;
const otherQueue = `authority-b-${process.pid}`;
let scratch: string;

beforeAll(async () => {
  // Worker A serves production: approval required with four-eyes (the sample release.config.json).
  e2e = await startE2eStack('authority', { environment: 'production' });
  scratch = await mkdtemp(path.join(os.tmpdir(), 'db-release-authority-'));
  otherRoot = path.join(scratch, 'backend-b');
  await cp(e2e.stack.backendDir, otherRoot, { recursive: true });
  // Its env files name no environment at all: only the worker flag says "staging-b".
  for (const file of ['.env.local', '.env.compose']) {
    const full = path.join(otherRoot, file);
    await writeFile(full, (await readFile(full, 'utf8')).replace(/^ENVIRONMENT=.*\n/m, ''));
  }
  otherWorker = startCli([
    'worker',
    '--project-root',
    otherRoot,
    '--environment',
    'staging-b',
    ...withQueue(otherQueue),
  ]);
  await otherWorker.waitForStderr(/db-release worker ready: .*environment staging-b/);

  // A first, approved release: the state every attack below must leave exactly as it is.
  const first = startCli(release('production', ['--operator', 'alice']));
  await first.waitForStderr(/Approval required for production/);
  await atGate('db-release-production');
  expect(
    (await runCli(['release', 'approve', 'production', '--approver', 'bob', ...e2e.temporalArgs])).code,
  ).toBe(0);
  expect((await first.done).code).toBe(0);
  // A pending revision that any release getting through would apply.
  for (const root of [e2e.stack.backendDir, otherRoot])
    await addMigration(root, addColumn(NEXT, HEAD, 'tier'));
}, 240_000);

afterAll(async () => {
  if (otherWorker) {
    otherWorker.child.kill('SIGTERM');
    await otherWorker.done;
  }
  const production = e2e?.ctx.client.workflow.getHandle('db-release-production');
  if ((await production?.describe().catch(() => null))?.status.name === 'RUNNING')
    await production?.terminate('test cleanup');
  await e2e?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function withQueue(queue: string): string[] {
  const args = [...e2e.temporalArgs];
  args[args.indexOf('--task-queue') + 1] = queue;
  return args;
}

/** `release db` on the real CLI; a null environment leaves the name to the CLI's own env files. */
function release(
  environment: string | null,
  extra: string[] = [],
  options: { root?: string; queue?: string } = {},
): string[] {
  return [
    'release',
    'db',
    '--project-root',
    options.root ?? e2e.stack.backendDir,
    ...(environment === null ? [] : ['--environment', environment]),
    '--non-interactive',
    '--plan',
    'starter=0',
    '--plan',
    'pro=9900',
    '--summary-path',
    path.join(scratch, 'reports', `${environment}-${Math.random().toString(36).slice(2)}.json`),
    ...(options.queue ? withQueue(options.queue) : e2e.temporalArgs),
    ...extra,
  ];
}

async function atGate(workflowId: string): Promise<void> {
  const handle = e2e.ctx.client.workflow.getHandle(workflowId);
  await eventually(async () => (await handle.query(statusQuery)).waitingForApproval, {
    what: `${workflowId} to reach the approval gate`,
    timeoutMs: 60_000,
    intervalMs: 100,
  });
}

async function resultOf(workflowId: string): Promise<ReleaseSummary> {
  try {
    return (await e2e.ctx.client.workflow.getHandle(workflowId).result()) as ReleaseSummary;
  } catch (error) {
    const summary = summaryFromFailure(error);
    if (!summary) throw error;
    return summary;
  }
}

interface Snapshot {
  revisions: string[];
  columns: string[];
  priceIds: Record<string, string | null>;
  activePricesByLookupKey: Record<string, string[]>;
  envLocal: string;
  otherEnvLocal: string;
}

async function snapshot(): Promise<Snapshot> {
  const revisions = (
    await e2e.query<{ version_num: string }>('select version_num from alembic_version order by 1')
  ).map((r) => r.version_num);
  const columns = await e2e.query<{ column_name: string }>(
    "select column_name from information_schema.columns where table_schema = 'public' and table_name = 'billing_plans' order by 1",
  );
  const rows = await e2e.query<{ code: string; stripe_price_id: string | null }>(
    'select code, stripe_price_id from billing_plans order by code',
  );
  const active: Record<string, string[]> = {};
  for (const p of e2e.stack.stripe.state().prices.filter((p) => p.active)) {
    const key = p.lookup_key ?? `(no lookup key) ${p.product}`;
    (active[key] ??= []).push(p.id);
  }
  return {
    revisions,
    columns: columns.map((c) => c.column_name),
    priceIds: Object.fromEntries(rows.map((r) => [r.code, r.stripe_price_id])),
    activePricesByLookupKey: active,
    envLocal: await readFile(path.join(e2e.stack.backendDir, '.env.local'), 'utf8'),
    otherEnvLocal: await readFile(path.join(otherRoot, '.env.local'), 'utf8'),
  };
}

async function leaseRow(): Promise<Array<{ workflow_id: string; environment: string; started_by: string }>> {
  return e2e.query('select workflow_id, environment, started_by from db_release.lease');
}

test('the state the attacks must keep: one release applied, one active price per plan, no lease held', async () => {
  const before = await snapshot();
  expect(before.revisions).toEqual([HEAD]);
  expect(Object.keys(before.activePricesByLookupKey).sort()).toEqual([
    'db_release:pro:monthly',
    'db_release:starter:monthly',
  ]);
  expect(Object.values(before.activePricesByLookupKey).every((ids) => ids.length === 1)).toBe(true);
  expect(await leaseRow()).toEqual([]);
  // the lease table lives outside public, where Alembic autogenerate does not look
  const schemas = await e2e.query<{ table_schema: string }>(
    "select table_schema from information_schema.tables where table_name = 'lease'",
  );
  expect(schemas).toEqual([{ table_schema: 'db_release' }]);
});

test('item 1: naming another environment does not skip the gate: refused before any change, exit 2, both names given', async () => {
  const before = await snapshot();
  const run = await runCli(release('notprod', ['--operator', 'alice', '--json']));
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(
    /refused by the worker \(TargetMismatch\): .*the release names "notprod" but this worker serves "production"/,
  );
  const summary = JSON.parse(run.stdout) as ReleaseSummary;
  expect(summary.status).toBe('failed');
  expect(summary.steps.map((s) => [s.name, s.status])).toEqual([['preflight', 'failed']]);
  expect(summary.approval).toBeNull();
  expect(summary.compensations).toEqual([]);
  expect(await snapshot()).toEqual(before);
  expect(await leaseRow()).toEqual([]);
});

test("item 9: a CLI pointed at an empty folder cannot release the worker's backend with its own defaults", async () => {
  const before = await snapshot();
  const empty = await mkdtemp(path.join(scratch, 'empty-'));
  // with the worker's environment named: the empty folder's default policy and billing differ
  const named = await runCli(release('production', ['--operator', 'mallory'], { root: empty }));
  expect(named.code).toBe(2);
  expect(named.stderr).toMatch(/TargetMismatch/);
  expect(named.stderr).toMatch(
    /billing: the caller's env files have ENABLE_BILLING off but the worker's backend has it on/,
  );
  expect(named.stderr).toMatch(
    /approval policy for production: the caller's config says approval required \(approvers anyone, four-eyes off/,
  );
  // without a name: the empty folder defaults to "local"
  const unnamed = await runCli(release(null, ['--operator', 'mallory'], { root: empty }));
  expect(unnamed.code).toBe(2);
  expect(unnamed.stderr).toMatch(/the release names "local" but this worker serves "production"/);
  expect(await snapshot()).toEqual(before);
  expect(await leaseRow()).toEqual([]);
});

test('item 2: while one release holds the database, releases under other names and through a second worker are refused and change nothing', async () => {
  const holder = startCli(release('production', ['--operator', 'alice']));
  await holder.waitForStderr(/Approval required for production/);
  await atGate('db-release-production');
  const holderRun = (await e2e.ctx.client.workflow.getHandle('db-release-production').describe()).runId;
  expect(await leaseRow()).toEqual([
    { workflow_id: 'db-release-production', environment: 'production', started_by: 'alice' },
  ]);
  const before = await snapshot();

  // all at once: three other names on worker A, and three releases through worker B (which serves
  // "staging-b" by its flag, so the name check passes there and only the lease can stop them)
  const attacks = await Promise.all([
    runCli(release('e1', ['--operator', 'eve'])),
    runCli(release('e2', ['--operator', 'eve'])),
    runCli(release('e3', ['--operator', 'eve'])),
    runCli(release('staging-b', ['--operator', 'eve'], { root: otherRoot, queue: otherQueue })),
    runCli(
      release('staging-b', ['--operator', 'eve', '--skip-stripe'], { root: otherRoot, queue: otherQueue }),
    ),
  ]);
  for (const named of attacks.slice(0, 3)) {
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/this worker serves "production"/);
  }
  const viaB = attacks.slice(3);
  for (const b of viaB) expect(b.code).toBe(3);
  // the one that reached preflight names the holder and how to follow or stop it
  const busy = viaB.filter((b) => /TargetBusy/.test(b.stderr));
  expect(busy.length).toBeGreaterThanOrEqual(1);
  for (const b of busy) {
    expect(b.stderr).toContain(
      `release db-release-production (run ${holderRun}, environment production, started by alice`,
    );
    expect(b.stderr).toContain('db-release release watch db-release-production');
    expect(b.stderr).toContain('db-release release cancel db-release-production');
  }
  // (a second start of db-release-staging-b while the first ran is refused by the workflow id)
  for (const b of viaB.filter((b) => !/TargetBusy/.test(b.stderr)))
    expect(b.stderr).toMatch(/already running: workflow db-release-staging-b/);

  expect(await snapshot()).toEqual(before);
  expect(await leaseRow()).toEqual([
    { workflow_id: 'db-release-production', environment: 'production', started_by: 'alice' },
  ]);
  const refused = await resultOf('db-release-staging-b');
  expect(refused.compensations).toEqual([]);
  expect(refused.error).toMatchObject({
    step: 'preflight',
    type: 'TargetBusy',
    holder: { workflowId: 'db-release-production', runId: holderRun },
  });

  // the holder goes on untouched: approved, it applies the pending revision once and frees the lease
  expect(
    (await runCli(['release', 'approve', 'production', '--approver', 'bob', ...e2e.temporalArgs])).code,
  ).toBe(0);
  expect((await holder.done).code).toBe(0);
  const after = await snapshot();
  expect(after.revisions).toEqual([NEXT]);
  expect(after.columns).toContain('tier');
  expect(Object.values(after.activePricesByLookupKey).every((ids) => ids.length === 1)).toBe(true);
  expect(await leaseRow()).toEqual([]);

  // the lease is free again: the second worker's release of the same database now runs
  const later = await runCli(
    release('staging-b', ['--operator', 'eve', '--json'], { root: otherRoot, queue: otherQueue }),
  );
  expect(later.code).toBe(0);
  const laterSummary = JSON.parse(later.stdout) as ReleaseSummary;
  expect(laterSummary.pending_revisions).toEqual([]);
  expect(laterSummary.stripe?.plans.map((p) => p.priceAction)).toEqual(['reused', 'reused']);
  expect(await leaseRow()).toEqual([]);
});
