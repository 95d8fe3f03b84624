/**
 * `release rollback` and issue 12 case 5: a downgrade known to raise is refused before anything
 * changes (naming the revision); a downgrade that still fails at run time leaves the price ids
 * and Stripe alone, since old price ids over a schema that stayed new break the backend.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { ReleaseActivities } from '../../src/activities';
import type { PendingRevision, ReleaseSummary } from '../../src/release/types';
import type { rollbackRelease } from '../../src/workflows';
import { temporalTestContext, uniqueName, type TemporalTestContext } from '../support/temporal';
import { HEAD_REVISION, mockActivities } from './mock-activities';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const CHANGES = ['downgradeMigrations', 'restorePriceIds', 'rollbackStripePlans'];

async function rollback(activities: ReleaseActivities, release: ReleaseSummary) {
  const taskQueue = uniqueName('rollback-readiness');
  const worker = await Worker.create({
    connection: ctx.nativeConnection,
    taskQueue,
    workflowBundle: ctx.bundle,
    activities,
  });
  return worker.runUntil(async () => {
    const handle = await ctx.client.workflow.start<typeof rollbackRelease>('rollbackRelease', {
      taskQueue,
      workflowId: uniqueName('rollback'),
      args: [{ release, requestedBy: 'alice', window: '1 hour' }],
    });
    try {
      return { result: await handle.result(), failure: null };
    } catch (error) {
      if (!(error instanceof WorkflowFailedError)) throw error;
      const cause = error.cause as { type?: string; message?: string } | undefined;
      return { result: null, failure: { type: cause?.type ?? null, message: cause?.message ?? '' } };
    }
  });
}

function release(pending: PendingRevision[]): ReleaseSummary {
  const now = new Date().toISOString();
  return {
    status: 'success',
    executed_at: now,
    environment: 'staging',
    git_sha: '0123456789abcdef0123456789abcdef01234567',
    alembic_revision: HEAD_REVISION,
    steps: [],
    billing_plans: [],
    options: { non_interactive: true, skip_stripe: false, skip_db_checks: false, no_rollback: false },
    stripe_price_map: null,
    secrets: { stripe_secret_key: null, stripe_webhook_secret: null },
    workflow_id: 'db-release-staging',
    run_id: 'run-1',
    started_by: 'carol',
    finished_at: now,
    duration_ms: 1,
    git_tag: null,
    pre_release_revision: 'a1,b1',
    pre_release_revisions: ['a1', 'b1'],
    alembic_revisions: [HEAD_REVISION],
    pending_revisions: pending,
    stripe: { currency: 'usd', trial_days: 14, plans: [] },
    approval: null,
    compensations: [],
    error: null,
  };
}

const merge = (downgrade: PendingRevision['downgrade']): PendingRevision => ({
  revision: HEAD_REVISION,
  message: 'merge branches',
  downRevisions: ['a1', 'b1'],
  dependsOn: [],
  isMerge: true,
  isBranchPoint: false,
  downgrade,
});

test('a downgrade known to raise: RollbackRefused naming the revision, and nothing changed', async () => {
  const mocks = mockActivities();
  const { failure } = await rollback(
    mocks.activities,
    release([merge({ status: 'raises', detail: 'RuntimeError: merge cannot be undone' })]),
  );
  expect(failure?.type).toBe('RollbackRefused');
  expect(failure?.message).toContain(
    `the downgrade of ${HEAD_REVISION} (downgrade raises: RuntimeError: merge cannot be undone) would stop half-way`,
  );
  expect(failure?.message).toContain(`the database stays at ${HEAD_REVISION}`);
  for (const name of CHANGES) expect(mocks.names()).not.toContain(name);
});

test('a downgrade that fails at run time: the schema goes first, so the old price ids are never put back over it', async () => {
  const mocks = mockActivities({
    overrides: {
      downgradeMigrations: () =>
        Promise.reject(
          ApplicationFailure.create({
            type: 'DowngradeFailed',
            nonRetryable: true,
            message: `\`alembic downgrade a1\` exited with 1: RuntimeError: boom; the database stayed at ${HEAD_REVISION} (wanted {a1, b1})`,
            details: [
              {
                command: 'alembic downgrade a1',
                exitCode: 1,
                durationMs: 3,
                output: '',
                revisions: [HEAD_REVISION],
              },
            ],
          }),
        ),
    },
  });
  const { result } = await rollback(mocks.activities, release([merge({ status: 'ok', detail: null })]));
  expect(mocks.inputsOf('downgradeMigrations')).toEqual([{ toRevisions: ['a1', 'b1'] }]);
  expect(mocks.names()).not.toContain('restorePriceIds');
  expect(mocks.names()).not.toContain('rollbackStripePlans');
  expect(result?.status).toBe('rollback_failed');
  expect(result?.compensations.map((c) => [c.name, c.status])).toEqual([
    ['migrations', 'failed'],
    ['price_ids', 'skipped'],
    ['stripe', 'skipped'],
  ]);
  expect(result?.compensations[0]?.manual_action).toContain(`the database stayed at ${HEAD_REVISION};`);
  expect(result?.compensations[1]?.detail).toContain(
    `not run: the schema stayed at ${HEAD_REVISION} (not back at {a1, b1})`,
  );
});

test('a downgrade that works: the schema back to exactly the set, then price ids and Stripe', async () => {
  const mocks = mockActivities();
  const { result } = await rollback(mocks.activities, release([merge({ status: 'ok', detail: null })]));
  expect(result?.status).toBe('rolled_back');
  expect(mocks.names().filter((n) => CHANGES.includes(n))).toEqual([
    'downgradeMigrations',
    'restorePriceIds',
    'rollbackStripePlans',
  ]);
  expect(mocks.inputsOf('downgradeMigrations')).toEqual([{ toRevisions: ['a1', 'b1'] }]);
});
