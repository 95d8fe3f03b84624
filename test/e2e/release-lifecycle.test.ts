/**
 * The release's life through the CLI: one release per environment, Ctrl-C detaches, the
 * approval gate answered from the CLI, status, watch, list, reject and cancel.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ReleaseSummary } from '../../src/release/types';
import { summaryFromFailure, type ReleaseListRow } from '../../src/cli/release-runs';
import { statusQuery } from '../../src/workflows/messages';
import { runCli, startCli, startCliOnTerminal, type TerminalRun } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { eventually } from '../support/eventually';
import { historyText } from '../support/history';

let e2e: E2eStack;
beforeAll(async () => {
  e2e = await startE2eStack('lifecycle', { environment: 'production' });
});
afterAll(async () => {
  await e2e?.close();
});

// `production` needs approval with four-eyes in the sample backend's release.config.json.
function productionRelease(extra: string[] = []): string[] {
  return [
    'release',
    'db',
    '--project-root',
    e2e.stack.backendDir,
    '--environment',
    'production',
    '--non-interactive',
    '--plan',
    'starter=0',
    '--plan',
    'pro=9900',
    '--operator',
    'alice',
    '--summary-path',
    path.join('var', 'reports', `production-${Date.now()}.json`),
    ...e2e.temporalArgs,
    ...extra,
  ];
}

/** Waits (bounded) until the release stands at the approval gate. */
async function atGate(): Promise<void> {
  const handle = e2e.ctx.client.workflow.getHandle('db-release-production');
  await eventually(async () => (await handle.query(statusQuery)).waitingForApproval, {
    what: 'the release to reach the approval gate',
    timeoutMs: 60_000,
    intervalMs: 100,
  });
}

/** Terminal runs of a failed test are interrupted (Ctrl-C detaches) so nothing outlives it. */
const terminals: TerminalRun[] = [];
afterEach(async () => {
  for (const t of terminals.splice(0)) {
    t.interrupt();
    await t.done;
  }
  // a failed test must not leave the environment locked for the next one
  const handle = e2e.ctx.client.workflow.getHandle('db-release-production');
  const description = await handle.describe().catch(() => null);
  if (description?.status.name === 'RUNNING') await handle.terminate('test cleanup');
});

async function resultOf(workflowId: string): Promise<ReleaseSummary> {
  try {
    return (await e2e.ctx.client.workflow.getHandle(workflowId).result()) as ReleaseSummary;
  } catch (error) {
    const summary = summaryFromFailure(error);
    if (!summary) throw error;
    return summary;
  }
}

test('one release per environment, Ctrl-C detaches, approval from the CLI completes it', async () => {
  const first = startCli(productionRelease());
  await first.waitForStderr(/Approval required for production/);

  // a second release of the same environment is refused at once, naming the running one
  const second = await runCli(productionRelease());
  expect(second.code).toBe(3);
  expect(second.stderr).toMatch(
    /already running: workflow db-release-production \(run [0-9a-f-]+, started .* by alice\)/,
  );

  // Ctrl-C detaches; the release keeps waiting at the gate on the worker
  first.child.kill('SIGINT');
  const detached = await first.done;
  expect(detached.code).toBe(130);
  expect(detached.stderr).toMatch(/Detached: the release goes on/);
  const description = await e2e.ctx.client.workflow.getHandle('db-release-production').describe();
  expect(description.status.name).toBe('RUNNING');

  // status shows the gate, by environment name
  await atGate();
  const status = await runCli(['release', 'status', 'production', '--json', ...e2e.temporalArgs]);
  expect(status.code).toBe(0);
  const view = JSON.parse(status.stdout) as {
    waitingForApproval: boolean;
    currentStep: string;
    plan: { pendingRevisions: Array<{ revision: string }> };
  };
  expect(view.waitingForApproval).toBe(true);
  expect(view.currentStep).toBe('approval');
  expect(view.plan.pendingRevisions.map((r) => r.revision)).toEqual(['20251106_120000', '20251107_090000']);

  // four-eyes: the person who started it cannot approve; someone else can
  const self = await runCli(['release', 'approve', 'production', '--approver', 'alice', ...e2e.temporalArgs]);
  expect(self.code).toBe(1);
  expect(self.stderr).toMatch(/four-eyes/);
  const approve = await runCli([
    'release',
    'approve',
    'db-release-production',
    '--approver',
    'bob',
    '--comment',
    'reviewed',
    ...e2e.temporalArgs,
  ]);
  expect(approve.code).toBe(0);

  const watch = await runCli(['release', 'watch', 'production', ...e2e.temporalArgs]);
  expect(watch.code).toBe(0);
  expect(watch.stdout).toMatch(/billing_plan_verification: success/);
  expect(watch.stdout.trim().split('\n').at(-1)).toBe('release success');

  const summary = await resultOf('db-release-production');
  expect(summary.status).toBe('success');
  expect(summary.approval).toMatchObject({
    decision: 'approved',
    approver: 'bob',
    comment: 'reviewed',
    via: 'update',
  });
  expect(summary.started_by).toBe('alice');

  // visibility: the finished release, by environment and by its own status, with git SHA and starter
  const done = await listedRelease(['--environment', 'production', '--status', 'success'], summary.run_id);
  expect(done).toMatchObject({
    environment: 'production',
    status: 'success',
    executionStatus: 'COMPLETED',
    startedBy: 'alice',
    gitSha: summary.git_sha,
  });
  expect(done.gitSha).toMatch(/^[0-9a-f]{40}$/);
  const table = await runCli(['release', 'list', '--environment', 'production', ...e2e.temporalArgs]);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(
    /^STARTED\s+ENVIRONMENT\s+STATUS\s+GIT SHA\s+STARTED BY\s+WORKFLOW ID\s+RUN ID\s+ROLLBACK$/m,
  );
  expect(table.stdout).toMatch(
    new RegExp(
      `production\\s+success\\s+${summary.git_sha?.slice(0, 12) ?? 'x'}\\s+alice\\s+db-release-production`,
    ),
  );
});

type ListedRelease = ReleaseListRow;

/** `release list --json` with filters, polled (bounded) until the run appears: visibility lags a little. */
async function listedRelease(filters: string[], runId: string): Promise<ListedRelease> {
  let last = '';
  return eventually(
    async () => {
      const list = await runCli(['release', 'list', '--json', ...filters, ...e2e.temporalArgs]);
      expect(list.code).toBe(0);
      const parsed = JSON.parse(list.stdout) as { rows: ListedRelease[]; indexed: boolean; query: string };
      expect(parsed.indexed).toBe(true);
      last = list.stdout;
      return parsed.rows.find((r) => r.runId === runId);
    },
    {
      what: `run ${runId} to appear in release list ${filters.join(' ')}`,
      timeoutMs: 90_000,
      intervalMs: 100,
      describe: () => last,
    },
  );
}

test('release list: filters answer only matching releases; bad filters are refused before connecting', async () => {
  // --non-interactive on a terminal waits quietly: where to approve, but no live display
  const run = startCliOnTerminal(productionRelease());
  terminals.push(run);
  await run.waitForScreen(
    /Approval required for production: db-release release approve db-release-production/,
  );
  await atGate();
  const { runId } = await e2e.ctx.client.workflow.getHandle('db-release-production').describe();
  const waiting = await listedRelease(['--status', 'awaiting_approval'], runId);
  expect(waiting).toMatchObject({
    environment: 'production',
    status: 'awaiting_approval',
    executionStatus: 'RUNNING',
    startedBy: 'alice',
  });

  const filtered = await runCli([
    'release',
    'list',
    '--json',
    '--status',
    'awaiting_approval',
    ...e2e.temporalArgs,
  ]);
  const rows = (JSON.parse(filtered.stdout) as { rows: ListedRelease[] }).rows;
  expect(rows.length).toBeGreaterThan(0);
  expect(rows.every((r) => r.status === 'awaiting_approval')).toBe(true);
  const otherEnvironment = await runCli([
    'release',
    'list',
    '--json',
    '--environment',
    'no-such-env',
    ...e2e.temporalArgs,
  ]);
  expect((JSON.parse(otherEnvironment.stdout) as { rows: ListedRelease[] }).rows).toEqual([]);

  // bad input: exit 2, the flag named, and no connection needed for the limit
  const badLimit = await runCli(['release', 'list', '--limit', '0', '--address', '127.0.0.1:1']);
  expect(badLimit.code).toBe(2);
  expect(badLimit.stderr).toMatch(/--limit "0": use a whole number/);
  const badStatus = await runCli(['release', 'list', '--status', "x' OR '1", ...e2e.temporalArgs]);
  expect(badStatus.code).toBe(2);
  expect(badStatus.stderr).toMatch(/--status "x' OR '1": use letters/);

  // the dev server registered the attributes at start: registering again adds nothing
  const register = await runCli(['temporal', 'register-search-attributes', ...e2e.temporalArgs]);
  expect(register.code).toBe(0);
  expect(register.stderr).toMatch(/already registered/);

  await runCli([
    'release',
    'reject',
    'production',
    '--approver',
    'carol',
    '--reason',
    'list test',
    ...e2e.temporalArgs,
  ]);
  const quiet = await run.done;
  expect(quiet.code).toBe(1);
  expect(quiet.stdout).toMatch(/Release rejected\. Summary: /);
  expect(quiet.stdout).not.toMatch(/\[\.\.\] approval|waiting for approval|\x1b\[/);
  const rejected = await listedRelease(['--environment', 'production', '--status', 'rejected'], runId);
  expect(rejected.executionStatus).toBe('COMPLETED');
});

test('on a terminal, release db draws the plan and the gate live, redrawn in place, until the release ends', async () => {
  const run = startCliOnTerminal(productionRelease().filter((a) => a !== '--non-interactive'));
  await run.waitForScreen(/waiting for approval/);
  terminals.push(run);
  await atGate();
  const view = await e2e.ctx.client.workflow.getHandle('db-release-production').query(statusQuery);
  await run.waitForScreen(/stripe pro: /);
  const atTheGate = run.screen();
  // the plan drawn is the workflow's own: its pending revisions and Stripe changes
  expect(atTheGate).toContain(`plan: ${view.plan?.pendingRevisions.length ?? -1} pending revision(s)`);
  for (const r of view.plan?.pendingRevisions ?? [])
    expect(atTheGate).toContain(`${r.revision}  ${r.message}`);
  for (const c of view.plan?.stripeChanges ?? [])
    expect(atTheGate).toContain(`(product ${c.product}, price ${c.price}`);
  // amounts as money: pro=9900 is 99.00 USD a month
  expect(atTheGate).toMatch(/stripe pro: 99\.00 USD\/month/);
  expect(atTheGate).toMatch(/\[\.\.\] approval\s+\S+/);
  expect(atTheGate).toMatch(/approve: db-release release approve db-release-production --approver NAME/);

  const approve = await runCli([
    'release',
    'approve',
    'production',
    '--approver',
    'bob',
    ...e2e.temporalArgs,
  ]);
  expect(approve.code).toBe(0);
  const done = await run.done;
  expect(done.code).toBe(0);
  // redrawn in place: the cursor moves back over the previous block and clears it
  expect(done.stdout).toMatch(/\x1b\[\d+F\x1b\[J/);
  const finalBlock = done.stdout.slice(done.stdout.lastIndexOf('\x1b[J'));
  expect(finalBlock).toMatch(/: success \(/);
  expect(finalBlock).toMatch(/\[ok\] approval\s+approved by bob via update/);
  expect(finalBlock).toMatch(/\[ok\] billing_plan_verification/);
  expect(finalBlock).toMatch(/Release success\. Summary: /);
});

test('release watch on a terminal redraws the release live and ends with it', async () => {
  const release = startCli(productionRelease());
  await release.waitForStderr(/Approval required/);
  await atGate();
  const watch = startCliOnTerminal(['release', 'watch', 'production', ...e2e.temporalArgs]);
  terminals.push(watch);
  await watch.waitForScreen(/waiting for approval/);
  expect(watch.screen()).toMatch(/\[ok\] preflight/);

  expect(
    (await runCli(['release', 'approve', 'production', '--approver', 'bob', ...e2e.temporalArgs])).code,
  ).toBe(0);
  const watched = await watch.done;
  expect(watched.code).toBe(0);
  expect(watched.stdout).toMatch(/\x1b\[\d+F\x1b\[J/);
  const finalBlock = watched.stdout.slice(watched.stdout.lastIndexOf('\x1b[J'));
  expect(finalBlock).toMatch(/\[ok\] stripe_setup/);
  expect(finalBlock.trim().split(/\r?\n/).at(-1)).toBe('release success');
  expect((await release.done).code).toBe(0);
});

test('a rejection ends the release as rejected and changes nothing', async () => {
  const run = startCli(productionRelease());
  await run.waitForStderr(/Approval required/);
  await atGate();
  const noReason = await runCli([
    'release',
    'reject',
    'production',
    '--approver',
    'carol',
    '--reason',
    ' ',
    ...e2e.temporalArgs,
  ]);
  expect(noReason.code).toBe(2);
  expect(noReason.stderr).toMatch(/--reason is empty/);
  const reject = await runCli([
    'release',
    'reject',
    'production',
    '--approver',
    'carol',
    '--reason',
    'wrong window',
    ...e2e.temporalArgs,
  ]);
  expect(reject.code).toBe(0);
  const done = await run.done;
  expect(done.code).toBe(1);
  const summary = await resultOf('db-release-production');
  expect(summary.status).toBe('rejected');
  expect(summary.approval).toMatchObject({
    decision: 'rejected',
    approver: 'carol',
    comment: 'wrong window',
  });
  expect(summary.steps.map((s) => s.name)).toEqual(['preflight']);
});

test('cancel stops a waiting release', async () => {
  const run = startCli(productionRelease());
  await run.waitForStderr(/Approval required/);
  await atGate();
  const cancel = await runCli(['release', 'cancel', 'production', ...e2e.temporalArgs]);
  expect(cancel.code).toBe(0);
  const done = await run.done;
  expect(done.code).toBe(1);
  expect((await resultOf('db-release-production')).status).toBe('cancelled');
});

test('a release terminated from outside ends the CLI with exit 1 and says there is no summary', async () => {
  const run = startCli(productionRelease());
  await run.waitForStderr(/Approval required/);
  await atGate();
  await e2e.ctx.client.workflow.getHandle('db-release-production').terminate('operator pulled the plug');
  const done = await run.done;
  expect(done.code).toBe(1);
  expect(done.stderr).toMatch(
    /release db-release-production ended without a summary \(.*\); its history in the Web UI shows why/,
  );
  expect(done.stderr).not.toMatch(/unexpected error/);
});

test('on a terminal, release db asks for an unpriced plan and missing Stripe secrets, and writes the secrets to .env.local only', async () => {
  const envLocal = path.join(e2e.stack.backendDir, '.env.local');
  const original = await readFile(envLocal, 'utf8');
  const secret = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(original)?.[1] ?? '';
  const secretKey = secret('STRIPE_SECRET_KEY');
  const webhookSecret = secret('STRIPE_WEBHOOK_SECRET');
  expect(secretKey).not.toBe('');
  await writeFile(envLocal, original.replace(/^STRIPE_(SECRET_KEY|WEBHOOK_SECRET)=.*\n/gm, ''));
  try {
    const args = productionRelease().filter((a) => a !== '--non-interactive' && a !== 'starter=0');
    args.splice(args.indexOf('--plan'), 1); // only --plan pro=9900 is left
    const run = startCliOnTerminal(args);
    terminals.push(run);
    await run.waitForScreen(/Monthly price of Starter \(starter\) in cents \[\d+\]: /);
    run.type('0\r');
    await run.waitForScreen(/STRIPE_SECRET_KEY: /);
    run.type(`${secretKey}\r`);
    await run.waitForScreen(/STRIPE_WEBHOOK_SECRET: /);
    run.type(`${webhookSecret}\r`);
    await run.waitForScreen(/waiting for approval/);
    // typed secrets are never echoed, and are back in .env.local before the release started
    expect(run.screen()).not.toContain(secretKey);
    expect(run.screen()).not.toContain(webhookSecret);
    const written = await readFile(envLocal, 'utf8');
    expect(written).toContain(`STRIPE_SECRET_KEY=${secretKey}`);
    expect(written).toContain(`STRIPE_WEBHOOK_SECRET=${webhookSecret}`);

    await atGate();
    expect(
      (await runCli(['release', 'approve', 'production', '--approver', 'bob', ...e2e.temporalArgs])).code,
    ).toBe(0);
    expect((await run.done).code).toBe(0);
    const summary = await resultOf('db-release-production');
    expect(summary.stripe?.plans.map((p) => [p.code, p.amount])).toEqual([
      ['starter', 0],
      ['pro', 9900],
    ]);
    expect(JSON.stringify(summary)).not.toContain(secretKey);
    expect(await historyText(e2e.ctx.client, 'db-release-production', summary.run_id)).not.toContain(
      secretKey,
    );
  } finally {
    // a test that failed before the secrets were typed must not leave the backend without them
    if (!(await readFile(envLocal, 'utf8')).includes('STRIPE_SECRET_KEY='))
      await writeFile(envLocal, original);
  }
});

test('Ctrl-C at a release db prompt stops with exit 130 and starts nothing', async () => {
  const before = await e2e.ctx.client.workflow
    .getHandle('db-release-production')
    .describe()
    .catch(() => null);
  const args = productionRelease().filter((a) => a !== '--non-interactive' && a !== 'starter=0');
  args.splice(args.indexOf('--plan'), 1);
  const run = startCliOnTerminal(args);
  await run.waitForScreen(/Monthly price of Starter \(starter\) in cents \[\d+\]: /);
  run.interrupt();
  const done = await run.done;
  expect(done.code).toBe(130);
  expect(done.stdout).toMatch(/interrupted at the prompt; nothing was changed/);
  const after = await e2e.ctx.client.workflow
    .getHandle('db-release-production')
    .describe()
    .catch(() => null);
  expect(after?.runId).toBe(before?.runId);
});
