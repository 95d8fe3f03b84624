/**
 * Item 8 at workflow level: `stripeSetup` and `rollbackRelease` of an environment that requires
 * approval wait at the same gate as the release (same handlers, digest, four-eyes), and run
 * nothing that changes anything before the decision. The Web UI instructions name the digest.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { setTimeout as delay } from 'node:timers/promises';
import type { ReleaseActivities } from '../../src/activities';
import type { ApprovalPolicy, ReleaseSummary } from '../../src/release/types';
import type { rollbackRelease, stripeSetup } from '../../src/workflows';
import { decideUpdate, gateQuery, type GateView } from '../../src/workflows/messages';
import { temporalTestContext, uniqueName, type TemporalTestContext } from '../support/temporal';
import { releaseInput, updateRefusal } from './harness';
import { mockActivities } from './mock-activities';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const POLICY: ApprovalPolicy = { required: true, approvers: [], fourEyes: true, timeout: '1 hour' };
const PLANS = releaseInput().plans;

async function run<T>(activities: ReleaseActivities, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = uniqueName('gate-paths');
  const worker = await Worker.create({
    connection: ctx.nativeConnection,
    taskQueue,
    workflowBundle: ctx.bundle,
    activities,
  });
  return worker.runUntil(() => fn(taskQueue));
}

async function waitingGate(handle: WorkflowHandle): Promise<GateView> {
  let last: GateView | null = null;
  for (let i = 0; i < 200; i++) {
    last = await handle.query(gateQuery);
    if (last.waitingForApproval && last.planDigest) return last;
    await delay(50);
  }
  throw new Error(`never waited at the gate: ${JSON.stringify(last)}`);
}

async function failureType(result: Promise<unknown>): Promise<{ type: string | undefined; message: string }> {
  try {
    await result;
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const cause = error.cause as { type?: string; message: string } | undefined;
    return { type: cause?.type, message: cause?.message ?? '' };
  }
  throw new Error('expected the workflow to fail');
}

/** The Web UI's current details, through the SDK's built-in metadata query. */
async function currentDetails(handle: WorkflowHandle): Promise<string> {
  const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return metadata.currentDetails ?? '';
}

test('stripe setup of a gated environment: nothing is provisioned until approved; a rejection fails it with nothing changed', async () => {
  // The caller claims no approval is needed: the worker's policy is the one that applies.
  const mocks = mockActivities({ workerPolicy: POLICY });
  const input = {
    plans: PLANS,
    currency: 'usd',
    trialDays: 7,
    startedBy: 'alice',
    environment: 'production',
    approval: { ...POLICY, required: false },
  };
  const { gate, details, self, rejected, callsAtGate } = await run(mocks.activities, async (taskQueue) => {
    const handle = await ctx.client.workflow.start<typeof stripeSetup>('stripeSetup', {
      taskQueue,
      workflowId: uniqueName('setup'),
      args: [input],
    });
    const g = await waitingGate(handle);
    const calls = mocks.names();
    const d = await currentDetails(handle);
    const selfReason = await updateRefusal(
      handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', approver: 'ALICE', digest: g.planDigest }],
      }),
    );
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'reject', approver: 'bob', comment: 'not today' }],
    });
    return {
      gate: g,
      details: d,
      self: selfReason,
      rejected: await failureType(handle.result()),
      callsAtGate: calls,
    };
  });

  expect(gate.action).toBe('stripe_setup');
  expect(gate.plan?.stripeChanges?.map((c) => c.code)).toEqual(['starter', 'pro']);
  expect(callsAtGate).toEqual(['planStripeChanges']);
  expect(details).toContain(`Plan digest: \`${gate.planDigest ?? ''}\``);
  expect(details).toContain(
    `{"approver": "your-name", "comment": "...", "digest": "${gate.planDigest ?? ''}"}`,
  );
  expect(self).toMatch(/^four-eyes rule/);
  expect(rejected.type).toBe('Rejected');
  expect(rejected.message).toContain('rejected by bob: not today; nothing was changed');
  expect(mocks.names()).toEqual(['planStripeChanges']);
});

test('stripe setup of a gated environment, approved for its digest, provisions and records the approval', async () => {
  const mocks = mockActivities({ workerPolicy: POLICY });
  const input = {
    plans: PLANS,
    currency: 'usd',
    trialDays: 7,
    startedBy: 'alice',
    environment: 'production',
    approval: POLICY,
  };
  const result = await run(mocks.activities, async (taskQueue) => {
    const handle = await ctx.client.workflow.start<typeof stripeSetup>('stripeSetup', {
      taskQueue,
      workflowId: uniqueName('setup'),
      args: [input],
    });
    const g = await waitingGate(handle);
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', approver: 'bob', digest: g.planDigest }],
    });
    return handle.result();
  });
  expect(result.approval).toMatchObject({ decision: 'approved', approver: 'bob', via: 'update' });
  expect(mocks.names()).toEqual(['planStripeChanges', 'provisionStripePlans', 'syncPriceIds']);
});

test('stripe setup of an environment without approval runs at once, with no approval recorded', async () => {
  const mocks = mockActivities();
  const input = { plans: PLANS, currency: 'usd', trialDays: 7, startedBy: 'alice' };
  const result = await run(mocks.activities, async (taskQueue) => {
    const handle = await ctx.client.workflow.start<typeof stripeSetup>('stripeSetup', {
      taskQueue,
      workflowId: uniqueName('setup'),
      args: [input],
    });
    return handle.result();
  });
  expect(result.approval).toBeNull();
  expect(mocks.names()).toEqual(['provisionStripePlans', 'syncPriceIds']);
});

function finishedRelease(): ReleaseSummary {
  const now = new Date().toISOString();
  return {
    status: 'success',
    executed_at: now,
    environment: 'production',
    git_sha: '0123456789abcdef0123456789abcdef01234567',
    alembic_revision: '0002_billing (head)',
    steps: [],
    billing_plans: [],
    options: { non_interactive: true, skip_stripe: true, skip_db_checks: false, no_rollback: false },
    stripe_price_map: null,
    secrets: { stripe_secret_key: null, stripe_webhook_secret: null },
    workflow_id: 'db-release-production',
    run_id: 'run-1',
    started_by: 'carol',
    finished_at: now,
    duration_ms: 1,
    git_tag: null,
    pre_release_revision: '0001_base',
    pre_release_revisions: ['0001_base'],
    alembic_revisions: ['0002_billing'],
    pending_revisions: [{ revision: '0002_billing', message: 'add billing plans' }],
    stripe: null,
    approval: null,
    compensations: [],
    error: null,
  };
}

test('rollback of a gated environment: no downgrade until approved; four-eyes on the requester; a rejection changes nothing', async () => {
  const mocks = mockActivities({ workerPolicy: POLICY });
  const { gate, self, rejected } = await run(mocks.activities, async (taskQueue) => {
    const handle = await ctx.client.workflow.start<typeof rollbackRelease>('rollbackRelease', {
      taskQueue,
      workflowId: uniqueName('rollback'),
      // No policy claimed by the caller: the worker's requires approval, so the rollback waits.
      args: [{ release: finishedRelease(), requestedBy: 'alice', window: '1 hour' }],
    });
    const g = await waitingGate(handle);
    const selfReason = await updateRefusal(
      handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', approver: 'a\u200Blice', digest: g.planDigest }],
      }),
    );
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'reject', approver: 'bob', comment: 'keep it' }],
    });
    return { gate: g, self: selfReason, rejected: await failureType(handle.result()) };
  });
  expect(gate.action).toBe('rollback');
  expect(gate.plan).toMatchObject({
    downgradeTo: '0001_base',
    rollbackOf: 'run-1',
    pendingRevisions: [{ revision: '0002_billing' }],
  });
  expect(self).toMatch(/^four-eyes rule/);
  expect(rejected.type).toBe('Rejected');
  expect(mocks.names()).toEqual(['captureAlembicRevision']);
});

test('rollback of a gated environment, approved, checks the schema again and then downgrades', async () => {
  const mocks = mockActivities({ workerPolicy: POLICY });
  const result = await run(mocks.activities, async (taskQueue) => {
    const handle = await ctx.client.workflow.start<typeof rollbackRelease>('rollbackRelease', {
      taskQueue,
      workflowId: uniqueName('rollback'),
      args: [{ release: finishedRelease(), requestedBy: 'alice', window: '1 hour', approval: POLICY }],
    });
    const g = await waitingGate(handle);
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', approver: 'bob', digest: g.planDigest }],
    });
    return handle.result();
  });
  expect(result.status).toBe('rolled_back');
  expect(result.approval).toMatchObject({ decision: 'approved', approver: 'bob' });
  expect(mocks.names()).toEqual(['captureAlembicRevision', 'captureAlembicRevision', 'downgradeMigrations']);
});
