/**
 * Nothing a user sends can break a release (issue 10, items 3-7): malformed, oversized, early,
 * look-alike and expired decisions, sent by signal and by update, are refused or recorded as
 * ignored; the release keeps answering status, accepts cancel and reject, and compensates.
 */
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { setTimeout as delay } from 'node:timers/promises';
import { DECISION_LIMITS } from '../../src/release/approval';
import type { ApprovalPolicy } from '../../src/release/types';
import type { releaseDb } from '../../src/workflows';
import {
  approveSignal,
  decideUpdate,
  gateQuery,
  rejectSignal,
  statusQuery,
} from '../../src/workflows/messages';
import { temporalTestContext, uniqueName, type TemporalTestContext } from '../support/temporal';
import {
  releaseFailure,
  releaseInput,
  updateRefusal,
  waitForStatus,
  withWorker,
  type ReleaseHandle,
} from './harness';
import { deferred, mockActivities } from './mock-activities';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const POLICY: ApprovalPolicy = { required: true, approvers: [], fourEyes: true, timeout: '1 hour' };
const gated = (policy: Partial<ApprovalPolicy> = {}, startedBy = 'alice') =>
  releaseInput({ startedBy, approval: { ...POLICY, ...policy } });

async function digestAtGate(handle: ReleaseHandle): Promise<string> {
  const view = await waitForStatus(handle, (s) => s.waitingForApproval, 'the approval gate');
  if (!view.planDigest) throw new Error('no plan digest at the gate');
  return view.planDigest;
}

const HUGE = 'x'.repeat(1_500_000);

/** Every shape of wrong the issue met or a Web UI form can send, as the first argument. */
function battery(digest: string): unknown[] {
  return [
    { approver: 'bob', comment: { toString: 1 } }, // the payload
    { approver: 'bob', comment: { toString: 1 }, digest },
    null,
    [],
    [{ approver: 'bob', digest }],
    'bob',
    42,
    true,
    {},
    { approver: null, digest },
    { approver: ['bob'], digest },
    { approver: { toString: 'bob' }, digest },
    { approver: '', digest },
    { approver: '\u200B\u2060', digest },
    { approver: 'bob', comment: 7, digest },
    { approver: 'bob', comment: ['a'], digest },
    { approver: 'bob', digest: 42 },
    { approver: 'bob', digest: { hex: digest } },
    { approver: 'bob', digest: 'not-a-digest' },
    { approver: 'bob', digest, expiresAt: { at: 1 } },
    { approver: 'bob', digest, expiresAt: 'never' },
    { approver: 'bob', digest, expiresAt: '2000-01-01T00:00:00Z' },
    { approver: 'bob', digest: 'ffffffffffffffff' },
    { approver: 'alice', digest }, // the starter, under four-eyes
    { approver: 'b'.repeat(500), digest },
    { approver: 'bob', comment: 'c'.repeat(5000), digest },
    {
      approver: 'bob',
      decision: 'approve',
      digest,
      nested: { deep: { deeper: [1, { x: null }] } },
      comment: null,
      expiresAt: '2000-01-01T00:00:00Z',
      extra: HUGE.slice(0, 100_000),
    },
  ];
}

/** Sends the battery by both signals and by update (also with wrong `decision` values); every update must be refused. */
async function sendBattery(handle: ReleaseHandle, digest: string): Promise<string[]> {
  const refusals: string[] = [];
  for (const payload of battery(digest)) {
    await handle.signal(approveSignal, payload as never);
    await handle.signal(rejectSignal, payload as never);
    const request =
      payload && typeof payload === 'object' && !Array.isArray(payload)
        ? { decision: 'approve', ...payload }
        : payload;
    refusals.push(await updateRefusal(handle.executeUpdate(decideUpdate, { args: [request as never] })));
  }
  for (const decision of [undefined, null, 'merge', 1, ['approve'], { approve: true }]) {
    refusals.push(
      await updateRefusal(
        handle.executeUpdate(decideUpdate, { args: [{ decision, approver: 'bob', digest } as never] }),
      ),
    );
  }
  return refusals;
}

test('item 3: a battery of malformed decisions by signal and update breaks nothing; status answers and reject still works', async () => {
  const mocks = mockActivities();
  const { refusals, after, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    const digest = await digestAtGate(handle);
    const refused = await sendBattery(handle, digest);
    // the signals were handled (every one recorded) and the workflow still answers queries
    const view = await waitForStatus(
      handle,
      (s) => (s.ignoredCount ?? 0) >= battery(digest).length * 2,
      'every bad signal recorded',
    );
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'reject', approver: 'carol', comment: 'after the battery' }],
    });
    return { refusals: refused, after: view, summary: await handle.result() };
  });

  expect(refusals.every((r) => typeof r === 'string' && r.length > 0)).toBe(true);
  expect(refusals.join('\n')).not.toMatch(/is not a function|Cannot read prop|undefined is not/);
  expect(after.waitingForApproval).toBe(true);
  expect(after.summary.approval).toBeNull();
  expect(after.ignoredCount).toBe(battery('0123456789abcdef').length * 2);
  expect(after.ignoredDecisions.length).toBe(DECISION_LIMITS.ignoredKept);
  expect(summary.status).toBe('rejected');
  expect(summary.approval).toMatchObject({ decision: 'rejected', approver: 'carol', via: 'update' });
  expect(mocks.names()).not.toContain('runMigrations');
  expect(mocks.names()).not.toContain('provisionStripePlans');
});

test('item 3: after a battery at the gate and another during the migration, cancel is processed and the release compensates', async () => {
  const migrationStarted = deferred();
  const mocks = mockActivities({
    overrides: {
      runMigrations: async () => {
        const activity = Context.current();
        migrationStarted.resolve();
        const beat = setInterval(() => activity.heartbeat(), 100);
        try {
          return await activity.cancelled;
        } finally {
          clearInterval(beat);
        }
      },
    },
  });
  const { summary, ignored } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    const digest = await digestAtGate(handle);
    await sendBattery(handle, digest);
    await handle.signal(approveSignal, { approver: 'bob', comment: 'ok', digest });
    await migrationStarted.promise;
    await sendBattery(handle, digest);
    const view = await waitForStatus(
      handle,
      (s) => (s.ignoredCount ?? 0) >= battery(digest).length * 4,
      'the second battery recorded',
    );
    await handle.cancel();
    return { ignored: view, ...(await releaseFailure(handle)) };
  });

  expect(ignored.summary.approval).toMatchObject({ decision: 'approved', approver: 'bob' });
  expect(ignored.ignoredDecisions.at(-1)?.reason).toMatch(/already approved by bob/);
  expect(summary.status).toBe('cancelled');
  expect(summary.error?.type).toBe('Cancelled');
  expect(summary.compensations.map((c) => [c.name, c.status])).toEqual([['migrations', 'success']]);
  expect(mocks.names()).toContain('downgradeMigrations');
});

test('item 4: the starter cannot approve under another spelling (case, full-width, invisible characters)', async () => {
  const mocks = mockActivities();
  const { refusals, view, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated({}, 'Alice'));
    const digest = await digestAtGate(handle);
    const spellings = [
      'alice',
      'ALICE',
      'ali\u200Bce',
      '\uFEFFalice',
      'ａｌｉｃｅ',
      'al\u00ADice',
      ' alice\u2060 ',
    ];
    const refused: string[] = [];
    for (const approver of spellings) {
      refused.push(
        await updateRefusal(
          handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver, digest }] }),
        ),
      );
      await handle.signal(approveSignal, { approver, digest });
    }
    const seen = await waitForStatus(
      handle,
      (s) => (s.ignoredCount ?? 0) >= spellings.length,
      'the ignored look-alike approvals',
    );
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'reject', approver: 'bob', comment: 'test over' }],
    });
    return { refusals: refused, view: seen, summary: await handle.result() };
  });

  expect(refusals).toHaveLength(7);
  for (const r of refusals) expect(r).toMatch(/^four-eyes rule/);
  expect(view.ignoredDecisions.every((d) => d.reason.startsWith('four-eyes rule'))).toBe(true);
  expect(view.summary.approval).toBeNull();
  expect(summary.status).toBe('rejected');
  expect(mocks.names()).not.toContain('runMigrations');
});

test('item 4: a release started with an empty or invisible operator cannot be approved by anyone under four-eyes', async () => {
  const mocks = mockActivities();
  const { refusal, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated({}, '\u200B'));
    const digest = await digestAtGate(handle);
    const reason = await updateRefusal(
      handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'bob', digest }] }),
    );
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'reject', approver: 'bob', comment: 'no operator' }],
    });
    return { refusal: reason, summary: await handle.result() };
  });
  expect(refusal).toContain('started without a known operator');
  expect(summary.status).toBe('rejected');
  expect(mocks.names()).not.toContain('runMigrations');
});

test('item 5: three 1.5 MB ignored approvals are kept bounded; status still answers, and the list keeps the newest with a count', async () => {
  const mocks = mockActivities();
  const { view, bytes, gate, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(gated());
    const digest = await digestAtGate(handle);
    for (let i = 0; i < 3; i++) await handle.signal(approveSignal, { approver: `${i}${HUGE}`, digest });
    for (let i = 0; i < 25; i++)
      await handle.signal(approveSignal, { approver: 'alice', comment: `self ${i}`, digest });
    const seen = await waitForStatus(handle, (s) => (s.ignoredCount ?? 0) >= 28, 'all 28 ignored approvals');
    const gateView = await handle.query(gateQuery);
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'reject', approver: 'bob', comment: 'done' }],
    });
    return { view: seen, bytes: JSON.stringify(seen).length, gate: gateView, summary: await handle.result() };
  });

  expect(view.ignoredCount).toBe(28);
  expect(view.ignoredDecisions).toHaveLength(DECISION_LIMITS.ignoredKept);
  // the newest are kept: the last one is the 25th self-approval
  expect(view.ignoredDecisions.at(-1)?.approver).toBe('alice');
  expect(gate.ignoredCount).toBe(28);
  for (const d of view.ignoredDecisions) {
    expect(d.approver.length).toBeLessThanOrEqual(DECISION_LIMITS.approver);
    expect(d.reason.length).toBeLessThanOrEqual(DECISION_LIMITS.recorded);
  }
  expect(bytes).toBeLessThan(64_000);
  expect(summary.status).toBe('rejected');
});

test('item 7: an expired decision is refused; one sent while no worker polled is refused when a worker comes back after its expiry', async () => {
  const mocks = mockActivities();
  const taskQueue = uniqueName('gate-expiry');
  const workflowId = uniqueName('gate-expiry');
  const runWorker = async <T>(fn: () => Promise<T>) => {
    const worker = await Worker.create({
      connection: ctx.nativeConnection,
      taskQueue,
      workflowBundle: ctx.bundle,
      activities: mocks.activities,
    });
    return worker.runUntil(fn);
  };
  const handle = await ctx.client.workflow.start<typeof releaseDb>('releaseDb', {
    taskQueue,
    workflowId,
    args: [gated()],
  });
  const { digest, past } = await runWorker(async () => {
    const d = await digestAtGate(handle);
    const reason = await updateRefusal(
      handle.executeUpdate(decideUpdate, {
        args: [
          {
            decision: 'approve',
            approver: 'bob',
            digest: d,
            expiresAt: new Date(Date.now() - 1000).toISOString(),
          },
        ],
      }),
    );
    return { digest: d, past: reason };
  });

  // no worker now: the approval cannot be delivered; its sender gives up at expiresAt
  const expiresAt = new Date(Date.now() + 1500);
  const late = updateRefusal(
    handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', approver: 'bob', digest, expiresAt: expiresAt.toISOString() }],
    }),
  );
  late.catch(() => undefined);
  // bounded wait for the clock to pass the expiry (the condition itself is time)
  for (let i = 0; i < 100 && Date.now() <= expiresAt.getTime() + 200; i++) await delay(50);

  const { lateReason, view, summary } = await runWorker(async () => {
    const reason = await late;
    const seen = await handle.query(statusQuery);
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'reject', approver: 'carol', comment: 'test over' }],
    });
    return { lateReason: reason, view: seen, summary: await handle.result() };
  });

  expect(past).toMatch(/expired at .* before it reached the release/);
  expect(lateReason).toMatch(/expired at .* before it reached the release/);
  expect(view.summary.approval).toBeNull();
  expect(view.waitingForApproval).toBe(true);
  expect(summary.status).toBe('rejected');
  expect(mocks.names()).not.toContain('runMigrations');
});
