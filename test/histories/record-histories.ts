/**
 * Records the histories that test/workflow/replay-histories.test.ts replays: one release (or
 * rollback, or Stripe setup) in each state a run can be in when new workflow code is deployed.
 * Run `npm run histories:record` after a deliberate, patched change to the workflows, commit the
 * new files beside the old ones (never replace a history that releases in flight may match).
 *
 * Activities are the workflow tests' mocks: a history records the workflow's commands and the
 * activities' results, which is all a replay needs.
 */
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { historyJson } from '../../src/cli/evidence';
import type { ApprovalPolicy, ReleaseSummary } from '../../src/release/types';
import type { rollbackRelease, stripeSetup } from '../../src/workflows';
import { decideUpdate, gateQuery, type GateView } from '../../src/workflows/messages';
import { temporalTestContext, uniqueName, type TemporalTestContext } from '../support/temporal';
import { releaseInput, withWorker } from '../workflow/harness';
import { deferred, HEAD_REVISION, mockActivities, PRE_RELEASE_REVISION } from '../workflow/mock-activities';

/** Where the histories of this workflow version go: one folder per recording. */
const OUT = path.join(__dirname, process.env.HISTORIES_VERSION ?? 'v4-local-short-steps');
const GATED: ApprovalPolicy = { required: true, approvers: [], fourEyes: true, timeout: '1 hour' };

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
  await mkdir(OUT, { recursive: true });
});
afterAll(async () => {
  await ctx?.close();
});

async function save(handle: WorkflowHandle, name: string): Promise<void> {
  const history = await handle.fetchHistory();
  await writeFile(path.join(OUT, `${name}.json`), `${historyJson(history)}\n`);
}

async function openGate(handle: WorkflowHandle): Promise<GateView> {
  for (let i = 0; i < 400; i++) {
    const view = await handle.query(gateQuery);
    if (view.waitingForApproval && view.planDigest) return view;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the gate did not open');
}

const approve = async (handle: WorkflowHandle) => {
  const gate = await openGate(handle);
  await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'bob', comment: 'ok', digest: gate.planDigest }] });
};

test('release waiting at the gate, then approved and finished', async () => {
  const mocks = mockActivities({ preflight: { approval: GATED } });
  await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(releaseInput({ approval: GATED }));
    await openGate(handle);
    await save(handle, 'release-waiting-at-gate');
    await approve(handle);
    await handle.result();
    await save(handle, 'release-approved-success');
  });
});

test('release mid-migration, then finished', async () => {
  const migrating = deferred();
  const finish = deferred();
  const mocks = mockActivities({
    overrides: {
      runMigrations: async () => {
        const activity = Context.current();
        migrating.resolve();
        const beat = setInterval(() => activity.heartbeat(), 100);
        await finish.promise;
        clearInterval(beat);
        return { command: 'just migrate', exitCode: 0, durationMs: 5, output: `upgrade ${PRE_RELEASE_REVISION} -> ${HEAD_REVISION}` };
      },
    },
  });
  await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(releaseInput());
    await migrating.promise;
    await save(handle, 'release-mid-migration');
    finish.resolve();
    await handle.result();
  });
});

test('release compensating, then rolled back; and a release cancelled mid-migration', async () => {
  const compensating = deferred();
  const finish = deferred();
  const mocks = mockActivities({
    overrides: {
      verifyBillingPlans: (input) => Promise.resolve(input.codes.map((code) => ({ code, status: 'inactive' as const, stripe_price_id: null, is_active: false }))),
      restorePriceIds: async () => {
        compensating.resolve();
        await finish.promise;
        return [{ name: 'price_ids', status: 'success', detail: 'restored', manual_action: null }];
      },
    },
  });
  await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(releaseInput());
    await compensating.promise;
    await save(handle, 'release-compensating');
    finish.resolve();
    await handle.result().catch(() => undefined);
    await save(handle, 'release-rolled-back');
  });

  const migrating = deferred();
  const cancelling = mockActivities({
    overrides: {
      runMigrations: async () => {
        const activity = Context.current();
        migrating.resolve();
        const beat = setInterval(() => activity.heartbeat(), 100);
        try {
          return await activity.cancelled;
        } finally {
          clearInterval(beat);
        }
      },
    },
  });
  await withWorker(ctx, cancelling.activities, async (start) => {
    const handle = await start(releaseInput());
    await migrating.promise;
    await handle.cancel();
    await handle.result().catch(() => undefined);
    await save(handle, 'release-cancelled');
  });
});

test('rollback of a gated environment, approved; Stripe setup of a gated environment, approved', async () => {
  const mocks = mockActivities({ workerPolicy: GATED });
  const taskQueue = uniqueName('record-tq');
  const worker = await Worker.create({ connection: ctx.nativeConnection, taskQueue, workflowBundle: ctx.bundle, activities: mocks.activities });
  await worker.runUntil(async () => {
    const done = new Date().toISOString();
    const release: ReleaseSummary = {
      ...(await withRelease()),
      finished_at: done,
    };
    const rollback = await ctx.client.workflow.start<typeof rollbackRelease>('rollbackRelease', {
      taskQueue,
      workflowId: uniqueName('record-rollback'),
      args: [{ release, requestedBy: 'alice', window: '24 hours' }],
    });
    await approve(rollback);
    await rollback.result();
    await save(rollback, 'rollback-approved');

    const setup = await ctx.client.workflow.start<typeof stripeSetup>('stripeSetup', {
      taskQueue,
      workflowId: uniqueName('record-setup'),
      args: [{ plans: releaseInput().plans, currency: 'usd', trialDays: 14, startedBy: 'alice', environment: 'staging' }],
    });
    await approve(setup);
    await setup.result();
    await save(setup, 'stripe-setup-approved');
  });

  /** A finished, successful release to roll back: the summary a real one leaves. */
  async function withRelease(): Promise<ReleaseSummary> {
    const plain = mockActivities();
    return withWorker(ctx, plain.activities, async (start) => (await start(releaseInput())).result());
  }
});
