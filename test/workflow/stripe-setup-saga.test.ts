/**
 * `stripe setup` undoes a failed setup with the saga's compensation runner (src/workflows/saga.ts):
 * each compensation is recorded and the rest still run, so Stripe is put back even when restoring
 * the price ids failed, and the failure names what is left to do by hand.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { ErrorType } from '../../src/release/errors';
import type { stripeSetup } from '../../src/workflows';
import { temporalTestContext, uniqueName, type TemporalTestContext } from '../support/temporal';
import { releaseInput } from './harness';
import { mockActivities } from './mock-activities';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

test('a setup whose price-id sync fails and whose restore fails too still archives what it created in Stripe', async () => {
  const mocks = mockActivities({
    overrides: {
      syncPriceIds: () =>
        Promise.reject(
          ApplicationFailure.create({
            type: ErrorType.BillingPlansTableInvalid,
            message: 'billing_plans has no stripe_price_id',
            nonRetryable: true,
          }),
        ),
      restorePriceIds: () =>
        Promise.reject(
          ApplicationFailure.create({
            type: ErrorType.CommandFailed,
            message: '.env.local is read-only',
            nonRetryable: true,
          }),
        ),
    },
  });
  const taskQueue = uniqueName('setup-saga');
  const worker = await Worker.create({
    connection: ctx.nativeConnection,
    taskQueue,
    workflowBundle: ctx.bundle,
    activities: mocks.activities,
  });
  const input = { plans: releaseInput().plans, currency: 'usd', trialDays: 7, startedBy: 'alice' };
  const failure = await worker.runUntil(async () => {
    const handle = await ctx.client.workflow.start<typeof stripeSetup>('stripeSetup', {
      taskQueue,
      workflowId: uniqueName('setup'),
      args: [input],
    });
    return handle.result().then(
      () => null,
      (error: unknown) =>
        error instanceof WorkflowFailedError ? (error.cause as ApplicationFailure | undefined) : null,
    );
  });

  expect(mocks.names()).toEqual([
    'provisionStripePlans',
    'syncPriceIds',
    'restorePriceIds',
    'rollbackStripePlans',
  ]);
  expect(failure?.type).toBe(ErrorType.StripeSetupRollbackFailed);
  expect(failure?.message).toContain(
    'billing_plans has no stripe_price_id; undoing it failed too: price_ids: .env.local is read-only',
  );
  expect(failure?.message).toContain('(by hand: restore STRIPE_PRODUCT_PRICE_MAP');
});
