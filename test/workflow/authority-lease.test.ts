/**
 * The workflow's side of worker authority: the gate follows the policy the worker's preflight
 * returns (the input's is only a claim), a release refused at preflight touches nothing (no
 * compensation, not even the lease), the lease is freed after the last step, and a lost lease
 * stops the release before its next change.
 */
import type { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { initialSummary } from '../../src/release/summary';
import type { ApprovalPolicy } from '../../src/release/types';
import { approveSignal, statusQuery } from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { temporalTestContext, uniqueName, type TemporalTestContext } from '../support/temporal';
import { releaseFailure, releaseInput, waitForStatus, withWorker } from './harness';
import { HEAD_REVISION, MOCK_LEASE, PRE_RELEASE_REVISION, mockActivities } from './mock-activities';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const WORKER_GATED: ApprovalPolicy = {
  required: true,
  approvers: ['bob'],
  fourEyes: true,
  timeout: '1 hour',
};
const CLAIM_NO_GATE: ApprovalPolicy = { required: false, approvers: [], fourEyes: false, timeout: '1 hour' };

test("the gate follows the worker's policy: a caller claiming no approval still waits, and only the worker's approvers count", async () => {
  const mocks = mockActivities({ preflight: { approval: WORKER_GATED } });
  const { view, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(releaseInput({ startedBy: 'alice', approval: CLAIM_NO_GATE }));
    const view = await waitForStatus(
      handle,
      (s) => s.waitingForApproval && Boolean(s.planDigest),
      'the approval gate',
    );
    const digest = view.planDigest ?? '';
    await handle.signal(approveSignal, { approver: 'mallory', digest }); // not in the worker's approvers
    await handle.signal(approveSignal, { approver: 'alice', digest }); // four-eyes: the starter
    await waitForStatus(handle, (s) => s.ignoredDecisions.length === 2, 'both refusals recorded');
    await handle.signal(approveSignal, { approver: 'bob', digest });
    return { view, summary: await handle.result() };
  });
  expect(view.policy).toEqual(WORKER_GATED);
  expect(summary.status).toBe('success');
  expect(summary.approval).toMatchObject({ decision: 'approved', approver: 'bob' });
});

test("a caller claiming approval is not gated when the worker's policy says none", async () => {
  const mocks = mockActivities({ preflight: { approval: CLAIM_NO_GATE } });
  const summary = await withWorker(ctx, mocks.activities, async (start) =>
    (await start(releaseInput({ approval: WORKER_GATED }))).result(),
  );
  expect(summary.status).toBe('success');
  expect(summary.approval).toBeNull();
});

test('a release refused at preflight (TargetBusy) runs no compensation, does not touch the lease, and names the holder', async () => {
  const holder = {
    ...MOCK_LEASE,
    workflowId: 'db-release-production',
    runId: 'run-holder',
    startedBy: 'carol',
  };
  const mocks = mockActivities({
    overrides: {
      preflight: () =>
        Promise.reject(
          ApplicationFailure.create({
            type: 'TargetBusy',
            message: 'another release holds this database',
            nonRetryable: true,
            details: [holder],
          }),
        ),
    },
  });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );
  expect(summary.status).toBe('failed');
  expect(summary.error).toMatchObject({ step: 'preflight', type: 'TargetBusy', holder });
  expect(summary.compensations).toEqual([]);
  expect(mocks.names()).toEqual(['preflight', 'readReleaseEvidence']);
  expect(mocks.leaseCalls()).toEqual([]);
});

test('the lease is freed once, after the last step and the evidence read', async () => {
  const mocks = mockActivities();
  const summary = await withWorker(ctx, mocks.activities, async (start) =>
    (await start(releaseInput())).result(),
  );
  expect(summary.status).toBe('success');
  expect(mocks.leaseCalls().filter((n) => n === 'releaseTargetLease')).toHaveLength(1);
  const all = mocks.calls.map((c) => c.name);
  expect(all.at(-1)).toBe('releaseTargetLease');
  expect(all.indexOf('releaseTargetLease')).toBeGreaterThan(all.indexOf('verifyBillingPlans'));
});

test('a lease lost while waiting stops the release before migrations and runs no compensation over the new holder', async () => {
  const other = { ...MOCK_LEASE, workflowId: 'db-release-other', runId: 'run-other' };
  const mocks = mockActivities({
    preflight: { approval: { ...WORKER_GATED, approvers: [] } },
    overrides: { renewTargetLease: () => Promise.resolve({ held: false, holder: other }) },
  });
  const { summary, view } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(releaseInput({ startedBy: 'alice' }));
    const gate = await waitForStatus(
      handle,
      (s) => s.waitingForApproval && Boolean(s.planDigest),
      'the approval gate',
    );
    // the gate opening renews the lease at once (longer TTL while waiting): this renewal finds it lost
    await eventually(() => mocks.leaseCalls().includes('renewTargetLease'), {
      what: 'the gate to renew the lease',
    });
    await handle.signal(approveSignal, { approver: 'bob', digest: gate.planDigest ?? '' });
    const failed = await releaseFailure(handle);
    return { summary: failed.summary, view: await handle.query(statusQuery) };
  });
  expect(mocks.leaseCalls()).toEqual(['renewTargetLease']);
  expect(summary.error).toMatchObject({ step: 'migrations', type: 'TargetLeaseLost' });
  expect(summary.error?.message).toContain('db-release-other');
  expect(mocks.names()).not.toContain('runMigrations');
  expect(mocks.names()).not.toContain('downgradeMigrations');
  expect(summary.compensations.map((c) => [c.name, c.status])).toEqual([['migrations', 'skipped']]);
  expect(summary.status).toBe('failed'); // nothing had started, so nothing was left behind
  expect(view.currentStep).toBe('done');
});

describe('release rollback holds the target too', () => {
  const finishedRelease = () => {
    const input = releaseInput();
    const done = new Date().toISOString();
    return {
      ...initialSummary(input, { workflowId: 'db-release-staging', runId: 'run-released' }, new Date()),
      status: 'success' as const,
      finished_at: done,
      alembic_revision: `${HEAD_REVISION} (head)`,
      pre_release_revision: PRE_RELEASE_REVISION,
      pending_revisions: [{ revision: HEAD_REVISION, message: 'add billing plans' }],
    };
  };

  async function rollback(mocks: ReturnType<typeof mockActivities>) {
    const taskQueue = uniqueName('rollback-tq');
    const worker = await Worker.create({
      connection: ctx.nativeConnection,
      taskQueue,
      workflowBundle: ctx.bundle,
      activities: mocks.activities,
    });
    return worker.runUntil(async () => {
      const handle = await ctx.client.workflow.start('rollbackRelease', {
        taskQueue,
        workflowId: uniqueName('rollback-test'),
        args: [{ release: finishedRelease(), requestedBy: 'alice', window: '24 hours' }],
      });
      return handle.result().then(
        (result: unknown) => ({ result, error: null }),
        (error: unknown) => ({ result: null, error: error as WorkflowFailedError }),
      );
    });
  }

  test('a rollback takes the lease before reading or changing anything, and frees it at the end', async () => {
    const mocks = mockActivities();
    const { result } = await rollback(mocks);
    expect(result).toMatchObject({ status: 'rolled_back' });
    const all = mocks.calls.map((c) => c.name);
    expect(all[0]).toBe('acquireTargetLease');
    expect(all.at(-1)).toBe('releaseTargetLease');
    expect(all).toContain('downgradeMigrations');
  });

  test('a rollback refused by the lease changes nothing and leaves the holder’s lease alone', async () => {
    const mocks = mockActivities({
      overrides: {
        acquireTargetLease: () =>
          Promise.reject(
            ApplicationFailure.create({
              type: 'TargetBusy',
              message: 'another release holds this database: workflow db-release-x',
              nonRetryable: true,
            }),
          ),
      },
    });
    const { error } = await rollback(mocks);
    expect((error?.cause as ApplicationFailure | undefined)?.cause?.message).toContain(
      'another release holds this database',
    );
    expect(mocks.names()).toEqual([]);
    expect(mocks.leaseCalls()).toEqual(['acquireTargetLease']);
  });
});
