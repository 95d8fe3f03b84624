/**
 * Issue 10, the approval gate end to end (items 4, 7 and 8): the CLI refuses empty or invisible
 * names and look-alike self-approvals, says at once when no worker would receive a decision, and
 * `stripe setup` and `release rollback` of an environment that requires approval wait at the same
 * gate as `release db`, changing nothing (database revision, Stripe objects, .env.local,
 * billing_plans) until approved.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { realActivityDeps } from '../../src/worker';
import type { ReleaseInput, ReleaseSummary } from '../../src/release/types';
import type { releaseDb } from '../../src/workflows';
import { gateQuery, statusQuery, type GateView } from '../../src/workflows/messages';
import { requireWorker } from '../../src/cli/worker-presence';
import { releaseDbArgs, runCli, startCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { uniqueName } from '../support/temporal';

let e2e: E2eStack;
// Its own gated environment (not `production`), so no other test file's workflow ids collide.
const environment = uniqueName('gated');
const releaseId = `db-release-${environment}`;
const setupId = `db-release-stripe-setup-${environment}`;

beforeAll(async () => {
  e2e = await startE2eStack('gate', { environment });
  const configFile = path.join(e2e.stack.backendDir, 'release.config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8')) as { environments: Record<string, unknown> };
  config.environments[environment] = { approval: { required: true, fourEyes: true, timeout: '1 hour' } };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  execFileSync('git', ['commit', '-qam', 'gate the test environment'], {
    cwd: e2e.stack.backendDir,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@localhost',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@localhost',
    },
  });
});
afterAll(async () => {
  await e2e?.close();
});

const backend = () => e2e.stack.backendDir;

interface Snapshot {
  revision: string[];
  envLocal: string;
  priceIds: Record<string, string | null>;
  stripe: string;
}

async function snapshot(): Promise<Snapshot> {
  const revision = (
    await e2e
      .query<{ version_num: string }>('select version_num from alembic_version order by 1')
      .catch(() => [])
  ).map((r) => r.version_num);
  const rows = await e2e
    .query<{ code: string; stripe_price_id: string | null }>(
      'select code, stripe_price_id from billing_plans order by code',
    )
    .catch(() => []);
  const state = e2e.stack.stripe.state();
  return {
    revision,
    envLocal: await readFile(path.join(backend(), '.env.local'), 'utf8'),
    priceIds: Object.fromEntries(rows.map((r) => [r.code, r.stripe_price_id])),
    stripe: JSON.stringify({ products: state.products, prices: state.prices }),
  };
}

function releaseArgs(operator: string, extra: string[] = []): string[] {
  return releaseDbArgs({
    projectRoot: backend(),
    environment,
    operator,
    summaryPath: path.join('var', 'reports', `${uniqueName('gate')}.json`),
    temporalArgs: e2e.temporalArgs,
    extra,
  });
}

/** Polls (bounded) the gate query until the workflow waits for a decision. */
async function waitingGate(workflowId: string): Promise<GateView> {
  const handle = e2e.ctx.client.workflow.getHandle(workflowId);
  let last: GateView | null = null;
  return eventually(
    async () => {
      last = await handle.query(gateQuery);
      return last.waitingForApproval && last.planDigest ? last : null;
    },
    {
      what: `${workflowId} to wait at the gate`,
      timeoutMs: 60_000,
      intervalMs: 100,
      describe: () => JSON.stringify(last),
    },
  );
}

const approve = (id: string, approver: string, extra: string[] = []) =>
  runCli(['release', 'approve', id, '--approver', approver, ...extra, ...e2e.temporalArgs]);

test('item 4 (CLI): an empty or invisible --operator is bad input (exit 2) and starts nothing', async () => {
  for (const operator of ['', '   ', '\u200B', '\u2060\uFEFF']) {
    const run = await runCli(releaseArgs(operator));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--operator .*give a person's name/);
  }
  const described = await e2e.ctx.client.workflow
    .getHandle(releaseId)
    .describe()
    .catch(() => null);
  expect(described).toBeNull();
});

test("item 7 (CLI): no worker on the release's task queue: approve says so at once, sends nothing, and release db starts nothing", async () => {
  const before = await snapshot();
  const queue = uniqueName('nobody');
  const workflowId = uniqueName('db-release-unpolled');
  const input: ReleaseInput = {
    environment,
    options: { non_interactive: true, skip_stripe: false, skip_db_checks: false, no_rollback: false },
    plans: [
      { code: 'starter', name: 'Starter', amount: 0 },
      { code: 'pro', name: 'Pro', amount: 9900 },
    ],
    currency: 'usd',
    trialDays: 14,
    startedBy: 'alice',
    approval: { required: true, approvers: [], fourEyes: true, timeout: '1 hour' },
  };
  const handle = await e2e.ctx.client.workflow.start<typeof releaseDb>('releaseDb', {
    taskQueue: queue,
    workflowId,
    args: [input],
  });

  const checkStarted = Date.now();
  await expect(requireWorker(e2e.ctx.client, queue, 'the approval')).rejects.toMatchObject({
    name: 'CliError',
    exitCode: 1,
  });
  console.log(`worker presence check (in process) answered in ${Date.now() - checkStarted} ms`);
  const started = Date.now();
  const approval = await approve(workflowId, 'bob', ['--digest', '0123456789abcdef']);
  const elapsedMs = Date.now() - started;
  console.log(`release approve with no worker answered in ${elapsedMs} ms (process start included)`);
  expect(approval.code).toBe(1);
  expect(approval.stderr).toContain(`no worker polls task queue ${queue}`);
  expect(approval.stderr).toMatch(/nothing was sent.*db-release worker --project-root/);

  const noStart = await runCli([...releaseArgs('alice'), '--task-queue', queue]);
  expect(noStart.code).toBe(2);
  expect(noStart.stderr).toContain(`no worker polls task queue ${queue}`);

  // a worker comes back: the release reaches the gate with no decision, and nothing changed
  const worker = await Worker.create({
    connection: e2e.ctx.nativeConnection,
    taskQueue: queue,
    workflowBundle: e2e.ctx.bundle,
    activities: createActivities(realActivityDeps(backend())),
  });
  await worker.runUntil(async () => {
    const gate = await waitingGate(workflowId);
    expect(gate.decision).toBeNull();
    const status = await handle.query(statusQuery);
    expect(status.summary.approval).toBeNull();
    const reject = await runCli([
      'release',
      'reject',
      workflowId,
      '--approver',
      'carol',
      '--reason',
      'test over',
      ...e2e.temporalArgs,
    ]);
    expect(reject.code).toBe(0);
    const summary: ReleaseSummary = await handle.result();
    expect(summary.status).toBe('rejected');
  });
  expect(await snapshot()).toEqual(before);
});

test('item 4 (CLI): the starter cannot approve under another spelling; a pinned stale digest is refused; another person approves the plan shown', async () => {
  const before = await snapshot();
  const run = startCli(releaseArgs('alice'));
  await run.waitForStderr(/Approval required for/);
  const gate = await waitingGate(releaseId);

  for (const spelling of ['ALICE', 'ali\u200Bce', 'ａｌｉｃｅ']) {
    const self = await approve(environment, spelling);
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/four-eyes rule/);
  }
  for (const empty of ['', '\u200B']) {
    const blank = await approve(environment, empty);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toMatch(/--approver .*give a person's name/);
  }
  const stale = gate.planDigest === 'fedcba9876543210' ? '0123456789abcdef' : 'fedcba9876543210';
  const pinned = await approve(environment, 'bob', ['--digest', stale]);
  expect(pinned.code).toBe(1);
  expect(pinned.stderr).toContain(
    `you pinned plan ${stale}, but ${releaseId} now waits for a decision on plan ${gate.planDigest ?? ''}`,
  );
  expect(await snapshot()).toEqual(before);

  const ok = await approve(environment, 'bob', ['--digest', gate.planDigest ?? '', '--comment', 'reviewed']);
  expect(ok.code).toBe(0);
  expect(ok.stderr).toContain(`plan digest: ${gate.planDigest ?? ''}`);
  expect(ok.stderr).toMatch(/approved by bob/);
  const done = await run.done;
  expect(done.code).toBe(0);
  const summary = await e2e.ctx.client.workflow.getHandle<typeof releaseDb>(releaseId).result();
  expect(summary.approval).toMatchObject({ decision: 'approved', approver: 'bob', via: 'update' });
});

test('item 8: release rollback of a gated environment waits for approval; four-eyes applies; rejected, it changes nothing', async () => {
  const before = await snapshot();
  expect(before.revision.length).toBeGreaterThan(0);
  const rollback = startCli([
    'release',
    'rollback',
    environment,
    '--project-root',
    backend(),
    '--operator',
    'alice',
    ...e2e.temporalArgs,
  ]);
  await rollback.waitForStderr(/^plan digest: [0-9a-f]{16}/);
  await rollback.waitForStderr(/^approve: db-release release approve/);
  const gate = await waitingGate(releaseId);
  expect(gate.action).toBe('rollback');
  expect(gate.policy?.fourEyes).toBe(true);
  expect(await snapshot()).toEqual(before);

  const self = await approve(environment, 'Alice');
  expect(self.code).toBe(1);
  expect(self.stderr).toMatch(/four-eyes rule/);
  const reject = await runCli([
    'release',
    'reject',
    environment,
    '--approver',
    'bob',
    '--reason',
    'not now',
    ...e2e.temporalArgs,
  ]);
  expect(reject.code).toBe(0);
  const done = await rollback.done;
  expect(done.code).toBe(1);
  expect(done.stderr).toMatch(/rollback not run: .*rejected by bob: not now; nothing was changed/);
  expect(await snapshot()).toEqual(before);
});

test('item 8: stripe setup of a gated environment waits for approval; rejected it changes nothing, approved it provisions', async () => {
  const before = await snapshot();
  const setupArgs = [
    'stripe',
    'setup',
    '--project-root',
    backend(),
    '--environment',
    environment,
    '--non-interactive',
    '--plan',
    'starter=0',
    '--plan',
    'pro=12345',
    '--operator',
    'alice',
    ...e2e.temporalArgs,
  ];

  // secrets are not written to a gated environment's .env.local before approval
  const withSecret = await runCli([...setupArgs, '--secret-key', `sk_test_${'9'.repeat(24)}`]);
  expect(withSecret.code).toBe(2);
  expect(withSecret.stderr).toMatch(/needs approval, so it writes no secrets before it is approved/);
  expect(await snapshot()).toEqual(before);

  const first = startCli(setupArgs);
  await first.waitForStderr(/^plan digest: [0-9a-f]{16}/);
  const gate = await waitingGate(setupId);
  expect(gate.action).toBe('stripe_setup');
  expect(gate.plan?.plans.find((p) => p.code === 'pro')?.amount).toBe(12345);
  expect(await snapshot()).toEqual(before);
  const self = await approve(setupId, 'alice');
  expect(self.code).toBe(1);
  expect(self.stderr).toMatch(/four-eyes rule/);
  const reject = await runCli([
    'release',
    'reject',
    setupId,
    '--approver',
    'bob',
    '--reason',
    'price not agreed',
    ...e2e.temporalArgs,
  ]);
  expect(reject.code).toBe(0);
  const rejected = await first.done;
  expect(rejected.code).toBe(1);
  expect(rejected.stderr).toMatch(/Rejected.*rejected by bob: price not agreed; nothing was changed/);
  expect(await snapshot()).toEqual(before);

  // the gate is what held it: approved by someone else, the same setup changes Stripe and billing_plans
  const second = startCli(setupArgs);
  const open = await waitingGate(setupId);
  const ok = await approve(setupId, 'bob', ['--digest', open.planDigest ?? '']);
  expect(ok.code).toBe(0);
  const provisioned = await second.done;
  expect(provisioned.code).toBe(0);
  const after = await snapshot();
  expect(after.stripe).not.toEqual(before.stripe);
  expect(after.priceIds.pro).not.toEqual(before.priceIds.pro);
  expect(after.revision).toEqual(before.revision);
});
