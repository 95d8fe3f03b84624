import type { WorkflowExecutionDescription } from '@temporalio/client';
import { releaseGitShaAttribute, releaseStatusAttribute } from '../../src/workflows/search-attributes';
import type { ApprovalPolicy, ReleaseSummary } from '../../src/release/types';
import { approveSignal, decideUpdate, rejectSignal, statusQuery } from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { temporalTestContext, type TemporalTestContext } from '../support/temporal';
import { releaseInput, updateRefusal, waitForStatus, withWorker, type ReleaseHandle } from './harness';
import { HEAD_REVISION, deferred, mockActivities, preflightResult } from './mock-activities';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const POLICY: ApprovalPolicy = { required: true, approvers: [], fourEyes: true, timeout: '1 hour' };
const gated = (policy: Partial<ApprovalPolicy> = {}) =>
  releaseInput({ startedBy: 'alice', approval: { ...POLICY, ...policy } });

const atGate = (handle: ReleaseHandle) =>
  waitForStatus(handle, (s) => s.waitingForApproval, 'the approval gate');

/** The plan digest shown at the gate, which every approval must name. */
async function digestAtGate(handle: ReleaseHandle): Promise<string> {
  const view = await atGate(handle);
  if (!view.planDigest) throw new Error(`the gate shows no plan digest: ${JSON.stringify(view)}`);
  return view.planDigest;
}

test('approve by signal: the gate shows the plan while waiting, and the release completes', async () => {
  const mocks = mockActivities();
  const { waiting, callsAtGate, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    const view = await atGate(handle);
    const calls = mocks.names();
    await handle.signal(approveSignal, { approver: 'bob', comment: 'ok', digest: view.planDigest });
    const result: ReleaseSummary = await handle.result();
    return { waiting: view, callsAtGate: calls, summary: result };
  });

  expect(waiting.currentStep).toBe('approval');
  expect(waiting.planDigest).toMatch(/^[0-9a-f]{16}$/);
  expect(waiting.plan?.pendingRevisions).toEqual(preflightResult().pendingRevisions);
  expect(waiting.plan?.pendingRevisions.map((r) => r.revision)).toEqual([HEAD_REVISION]);
  expect(waiting.plan?.plans.map((p) => p.code)).toEqual(['starter', 'pro']);
  expect(waiting.policy).toEqual(POLICY);
  expect(waiting.summary.approval).toBeNull();
  // only reads before the gate: preflight and the Stripe preview shown to the approver
  expect(callsAtGate).toEqual(['preflight', 'planStripeChanges']);
  expect(waiting.plan?.stripeChanges?.map((c) => [c.code, c.price])).toEqual([
    ['starter', 'create'],
    ['pro', 'create'],
  ]);

  expect(summary.status).toBe('success');
  expect(summary.approval).toMatchObject({
    decision: 'approved',
    approver: 'bob',
    comment: 'ok',
    via: 'signal',
  });
  expect(mocks.names()).toContain('runMigrations');
});

test('approve by update: the update returns the decision taken', async () => {
  const mocks = mockActivities();
  const { decision, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    const digest = await digestAtGate(handle);
    const taken = await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', approver: 'bob', digest }],
    });
    return { decision: taken, summary: await handle.result() };
  });

  expect(decision).toMatchObject({ decision: 'approved', approver: 'bob', comment: null, via: 'update' });
  expect(Number.isNaN(Date.parse(decision.at))).toBe(false);
  expect(summary.status).toBe('success');
  expect(summary.approval).toEqual(decision);
});

test('four-eyes: the starter cannot approve by update (refused) nor by signal (ignored)', async () => {
  const mocks = mockActivities();
  const { refusal, afterSignal, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    const digest = await digestAtGate(handle);
    const reason = await updateRefusal(
      handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'alice', digest }] }),
    );
    await handle.signal(approveSignal, { approver: 'alice', comment: 'self-approve', digest });
    const view = await waitForStatus(handle, (s) => s.ignoredDecisions.length > 0, 'the ignored signal');
    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'bob', digest }] });
    return { refusal: reason, afterSignal: view, summary: await handle.result() };
  });

  expect(refusal).toContain('four-eyes');
  expect(afterSignal.ignoredDecisions).toHaveLength(1);
  expect(afterSignal.ignoredDecisions[0]).toMatchObject({ kind: 'approve', approver: 'alice' });
  expect(afterSignal.ignoredDecisions[0]?.reason).toContain('four-eyes');
  expect(afterSignal.waitingForApproval).toBe(true);
  expect(afterSignal.summary.approval).toBeNull();
  expect(summary.status).toBe('success');
  expect(summary.approval?.approver).toBe('bob');
});

test('reject with a reason: the release returns status rejected and no migration runs', async () => {
  const mocks = mockActivities();
  const summary = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    await atGate(handle);
    await handle.signal(rejectSignal, { approver: 'bob', comment: 'not during the sale' });
    return handle.result();
  });

  expect(summary.status).toBe('rejected');
  expect(summary.approval).toMatchObject({
    decision: 'rejected',
    approver: 'bob',
    comment: 'not during the sale',
    via: 'signal',
  });
  expect(summary.error?.message).toContain('not during the sale');
  expect(summary.steps.map((s) => s.name)).toEqual(['preflight']);
  expect(mocks.names()).not.toContain('runMigrations');
  expect(mocks.names()).toEqual(['preflight', 'planStripeChanges', 'readReleaseEvidence']);
});

test('a rejection without a reason is refused by the update validator', async () => {
  const mocks = mockActivities();
  const { missing, blank, rejected, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    await atGate(handle);
    const noComment = await updateRefusal(
      handle.executeUpdate(decideUpdate, { args: [{ decision: 'reject', approver: 'bob' }] }),
    );
    const blankComment = await updateRefusal(
      handle.executeUpdate(decideUpdate, { args: [{ decision: 'reject', approver: 'bob', comment: '   ' }] }),
    );
    const stillWaiting = await handle.query(statusQuery);
    const taken = await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'reject', approver: 'bob', comment: 'schema drift' }],
    });
    return {
      missing: noComment,
      blank: blankComment,
      rejected: { stillWaiting, taken },
      summary: await handle.result(),
    };
  });

  expect(missing).toContain('needs a reason');
  expect(blank).toContain('needs a reason');
  expect(rejected.stillWaiting.waitingForApproval).toBe(true);
  expect(rejected.stillWaiting.summary.approval).toBeNull();
  expect(rejected.taken).toMatchObject({ decision: 'rejected', comment: 'schema drift', via: 'update' });
  expect(summary.status).toBe('rejected');
  expect(mocks.names()).not.toContain('runMigrations');
});

test('a second decision after the first is refused (update) and ignored (signal)', async () => {
  const migrationStarted = deferred();
  const finishMigration = deferred();
  const base = mockActivities().activities;
  const mocks = mockActivities({
    overrides: {
      runMigrations: async () => {
        migrationStarted.resolve();
        await finishMigration.promise;
        return base.runMigrations();
      },
    },
  });
  const { refusal, view, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    const digest = await digestAtGate(handle);
    await handle.signal(approveSignal, { approver: 'bob', comment: 'ship it', digest });
    await migrationStarted.promise;
    const reason = await updateRefusal(
      handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'reject', approver: 'carol', comment: 'wait' }],
      }),
    );
    await handle.signal(rejectSignal, { approver: 'carol', comment: 'wait' });
    const afterSignal = await waitForStatus(
      handle,
      (s) => s.ignoredDecisions.length > 0,
      'the ignored second decision',
    );
    finishMigration.resolve();
    return { refusal: reason, view: afterSignal, summary: await handle.result() };
  });

  expect(refusal).toContain('already approved by bob');
  expect(view.ignoredDecisions).toHaveLength(1);
  expect(view.ignoredDecisions[0]).toMatchObject({ kind: 'reject', approver: 'carol' });
  expect(view.ignoredDecisions[0]?.reason).toContain('already approved by bob');
  expect(summary.status).toBe('success');
  expect(summary.approval).toMatchObject({
    decision: 'approved',
    approver: 'bob',
    comment: 'ship it',
    via: 'signal',
  });
});

test('a decision sent before the plan exists is refused (update) and ignored (signal), not kept for later', async () => {
  const preflightStarted = deferred();
  const finishPreflight = deferred();
  const mocks = mockActivities({
    overrides: {
      preflight: async () => {
        preflightStarted.resolve();
        await finishPreflight.promise;
        // the worker's policy (the gate uses it, not the input's claim)
        return preflightResult({ approval: { ...POLICY, timeout: '20 seconds' } });
      },
    },
  });
  const { refusal, early, atTheGate, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    await preflightStarted.promise;
    // sent while preflight runs: no plan, no digest yet
    const reason = await updateRefusal(
      handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', approver: 'bob', digest: '0123456789abcdef' }],
      }),
    );
    await handle.signal(approveSignal, { approver: 'bob', comment: 'pre-approved' });
    const view = await waitForStatus(
      handle,
      (s) => s.ignoredDecisions.length > 0,
      'the ignored early approval',
    );
    finishPreflight.resolve();
    // the release still stops at the gate: the early approval was not kept
    const gateView = await atGate(handle);
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'reject', approver: 'carol', comment: 'stop' }],
    });
    return { refusal: reason, early: view, atTheGate: gateView, summary: await handle.result() };
  });

  expect(refusal).toContain('no plan to decide on yet');
  expect(early.currentStep).toBe('preflight');
  expect(early.summary.approval).toBeNull();
  expect(early.ignoredDecisions[0]).toMatchObject({ kind: 'approve', approver: 'bob' });
  expect(early.ignoredDecisions[0]?.reason).toContain('no plan to decide on yet');
  expect(atTheGate.summary.approval).toBeNull();
  expect(atTheGate.waitingForApproval).toBe(true);
  expect(summary.status).toBe('rejected');
  expect(mocks.names()).not.toContain('runMigrations');
  expect(mocks.names()).not.toContain('provisionStripePlans');
});

test('an approval for another plan digest, or without one, is refused', async () => {
  const mocks = mockActivities();
  const { other, missing, ignored, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    const digest = await digestAtGate(handle);
    const stale = digest === 'fedcba9876543210' ? '0123456789abcdef' : 'fedcba9876543210';
    const otherReason = await updateRefusal(
      handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'bob', digest: stale }] }),
    );
    const missingReason = await updateRefusal(
      handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'bob' }] }),
    );
    await handle.signal(approveSignal, { approver: 'bob', comment: 'no digest' });
    const view = await waitForStatus(handle, (s) => s.ignoredDecisions.length > 0, 'the ignored signal');
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'reject', approver: 'bob', comment: 'done testing' }],
    });
    return { other: otherReason, missing: missingReason, ignored: view, summary: await handle.result() };
  });

  expect(other).toMatch(/is for plan [0-9a-f]{16}, but the release's plan is/);
  expect(missing).toContain('needs the plan\'s "digest"');
  expect(ignored.ignoredDecisions[0]?.reason).toContain('needs the plan\'s "digest"');
  expect(ignored.summary.approval).toBeNull();
  expect(summary.status).toBe('rejected');
  expect(mocks.names()).not.toContain('runMigrations');
});

test('timeout: no decision in time rejects the release', async () => {
  const mocks = mockActivities();
  const summary = await withWorker(ctx, mocks.activities, async (start) =>
    (await start(gated({ timeout: '2 seconds' }))).result(),
  );

  expect(summary.status).toBe('rejected');
  expect(summary.approval).toMatchObject({
    decision: 'rejected',
    approver: 'system',
    comment: 'timeout',
    via: 'timeout',
  });
  expect(mocks.names()).not.toContain('runMigrations');
});

test('an allowed-approvers list refuses everyone else', async () => {
  const mocks = mockActivities();
  const { refusal, ignored, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated({ approvers: ['carol'] }));
    const digest = await digestAtGate(handle);
    const reason = await updateRefusal(
      handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'bob', digest }] }),
    );
    await handle.signal(approveSignal, { approver: 'bob', digest });
    const view = await waitForStatus(handle, (s) => s.ignoredDecisions.length > 0, 'the ignored signal');
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', approver: 'carol', comment: 'lgtm', digest }],
    });
    return { refusal: reason, ignored: view, summary: await handle.result() };
  });

  expect(refusal).toContain('bob is not an allowed approver');
  expect(ignored.ignoredDecisions[0]).toMatchObject({ kind: 'approve', approver: 'bob' });
  expect(ignored.ignoredDecisions[0]?.reason).toContain('not an allowed approver');
  expect(ignored.summary.approval).toBeNull();
  expect(summary.status).toBe('success');
  expect(summary.approval).toMatchObject({ decision: 'approved', approver: 'carol', via: 'update' });
});

/** Polls describe() until the release's DbReleaseStatus search attribute holds `status` (bounded). */
async function indexedStatus(handle: ReleaseHandle, status: string): Promise<WorkflowExecutionDescription> {
  let last: WorkflowExecutionDescription | undefined;
  return eventually(
    async () => {
      last = await handle.describe();
      return last.typedSearchAttributes.get(releaseStatusAttribute) === status ? last : null;
    },
    {
      what: `DbReleaseStatus to become ${status}`,
      timeoutMs: 20_000,
      intervalMs: 100,
      describe: () => String(last?.typedSearchAttributes.get(releaseStatusAttribute)),
    },
  );
}

test('an indexed release keeps DbReleaseStatus and DbReleaseGitSha current: awaiting_approval, then its final status', async () => {
  const mocks = mockActivities();
  const { waiting, done } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start({ ...gated(), indexed: true });
    const atGateDescription = await indexedStatus(handle, 'awaiting_approval');
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', approver: 'bob', digest: await digestAtGate(handle) }],
    });
    await handle.result();
    return { waiting: atGateDescription, done: await indexedStatus(handle, 'success') };
  });
  expect(waiting.typedSearchAttributes.get(releaseGitShaAttribute)).toBe(preflightResult().gitSha);
  expect(done.status.name).toBe('COMPLETED');
});

test('a release started where the attributes are not registered upserts none of them', async () => {
  const mocks = mockActivities();
  const description = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(releaseInput({ indexed: false }));
    await handle.result();
    return handle.describe();
  });
  expect(description.status.name).toBe('COMPLETED');
  expect(description.typedSearchAttributes.get(releaseStatusAttribute)).toBeUndefined();
  expect(description.typedSearchAttributes.get(releaseGitShaAttribute)).toBeUndefined();
});
