/**
 * The release's life through the CLI: one release per environment, Ctrl-C detaches, the
 * approval gate answered from the CLI, status, watch, list, reject and cancel.
 */
import path from 'node:path';
import type { ReleaseSummary } from '../../src/release/types';
import { summaryFromFailure } from '../../src/cli/release-db';
import { statusQuery } from '../../src/workflows/messages';
import { runCli, startCli } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';

let e2e: E2eStack;
beforeAll(async () => {
  e2e = await startE2eStack('lifecycle');
});
afterAll(async () => {
  await e2e?.close();
});

// `production` needs approval with four-eyes in the sample backend's release.config.json.
function productionRelease(extra: string[] = []): string[] {
  return [
    'release', 'db',
    '--project-root', e2e.stack.backendDir,
    '--environment', 'production',
    '--non-interactive',
    '--plan', 'starter=0',
    '--plan', 'pro=9900',
    '--operator', 'alice',
    '--summary-path', path.join('var', 'reports', `production-${Date.now()}.json`),
    ...e2e.temporalArgs,
    ...extra,
  ];
}

/** Waits (bounded) until the release stands at the approval gate. */
async function atGate(): Promise<void> {
  const handle = e2e.ctx.client.workflow.getHandle('db-release-production');
  for (let i = 0; i < 300; i++) {
    const view = await handle.query(statusQuery).catch(() => null);
    if (view?.waitingForApproval) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the release never reached the approval gate');
}

afterEach(async () => {
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
  expect(second.stderr).toMatch(/already running: workflow db-release-production \(run [0-9a-f-]+, started .* by alice\)/);

  // Ctrl-C detaches; the release keeps waiting at the gate on the worker
  first.child.kill("SIGINT");
  const detached = await first.done;
  expect(detached.code).toBe(130);
  expect(detached.stderr).toMatch(/Detached: the release goes on/);
  const description = await e2e.ctx.client.workflow.getHandle('db-release-production').describe();
  expect(description.status.name).toBe('RUNNING');

  // status shows the gate, by environment name
  await atGate();
  const status = await runCli(['release', 'status', 'production', '--json', ...e2e.temporalArgs]);
  expect(status.code).toBe(0);
  const view = JSON.parse(status.stdout) as { waitingForApproval: boolean; currentStep: string; plan: { pendingRevisions: Array<{ revision: string }> } };
  expect(view.waitingForApproval).toBe(true);
  expect(view.currentStep).toBe('approval');
  expect(view.plan.pendingRevisions.map((r) => r.revision)).toEqual(['20251106_120000', '20251107_090000']);

  // four-eyes: the person who started it cannot approve; someone else can
  const self = await runCli(['release', 'approve', 'production', '--approver', 'alice', ...e2e.temporalArgs]);
  expect(self.code).toBe(1);
  expect(self.stderr).toMatch(/four-eyes/);
  const approve = await runCli(['release', 'approve', 'db-release-production', '--approver', 'bob', '--comment', 'reviewed', ...e2e.temporalArgs]);
  expect(approve.code).toBe(0);

  const watch = await runCli(['release', 'watch', 'production', ...e2e.temporalArgs]);
  expect(watch.code).toBe(0);
  expect(watch.stdout).toMatch(/billing_plan_verification: success/);
  expect(watch.stdout.trim().split('\n').at(-1)).toBe('release success');

  const summary = await resultOf('db-release-production');
  expect(summary.status).toBe('success');
  expect(summary.approval).toMatchObject({ decision: 'approved', approver: 'bob', comment: 'reviewed', via: 'update' });
  expect(summary.started_by).toBe('alice');

  const list = await runCli(['release', 'list', '--json', ...e2e.temporalArgs]);
  expect(list.code).toBe(0);
  const rows = JSON.parse(list.stdout) as Array<{ workflowId: string; environment: string; status: string; gitSha: string | null }>;
  const row = rows.find((r) => r.workflowId === 'db-release-production');
  expect(row).toMatchObject({ environment: 'production', status: 'COMPLETED' });
  expect(row?.gitSha).toMatch(/^[0-9a-f]{40}$/);
});

test('a rejection ends the release as rejected and changes nothing', async () => {
  const run = startCli(productionRelease());
  await run.waitForStderr(/Approval required/);
  await atGate();
  const noReason = await runCli(['release', 'reject', 'production', '--approver', 'carol', '--reason', ' ', ...e2e.temporalArgs]);
  expect(noReason.code).toBe(1);
  const reject = await runCli(['release', 'reject', 'production', '--approver', 'carol', '--reason', 'wrong window', ...e2e.temporalArgs]);
  expect(reject.code).toBe(0);
  const done = await run.done;
  expect(done.code).toBe(1);
  const summary = await resultOf('db-release-production');
  expect(summary.status).toBe('rejected');
  expect(summary.approval).toMatchObject({ decision: 'rejected', approver: 'carol', comment: 'wrong window' });
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
