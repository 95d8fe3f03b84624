import { STEP_NAMES } from '../../src/release/steps';
import type { ReleaseSummary } from '../../src/release/types';
import { temporalTestContext, type TemporalTestContext } from '../support/temporal';
import { releaseInput, stepOf, withWorker } from './harness';
import {
  HEAD_REVISION,
  MOCK_ENV,
  PRE_RELEASE_REVISION,
  mockActivities,
  preflightResult,
} from './mock-activities';
import { maskSecret } from '../../src/masking';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const ORIGINAL_KEYS = [
  'status',
  'executed_at',
  'environment',
  'git_sha',
  'alembic_revision',
  'steps',
  'billing_plans',
  'options',
  'stripe_price_map',
  'secrets',
] as const;
const ADDED_KEYS = [
  'workflow_id',
  'run_id',
  'started_by',
  'pre_release_revision',
  'pending_revisions',
  'pre_release_revisions',
  'alembic_revisions',
  'stripe',
] as const;

test('happy path: every step runs in the runbook order and the summary has every key', async () => {
  const mocks = mockActivities();
  const { summary, workflowId, runId } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(releaseInput());
    const result: ReleaseSummary = await handle.result();
    return { summary: result, workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
  });

  expect(mocks.names()).toEqual([
    'preflight',
    'runMigrations',
    'captureAlembicRevision',
    'provisionStripePlans',
    'syncPriceIds',
    'verifyBillingPlans',
    'readReleaseEvidence',
  ]);
  expect(mocks.inputsOf('preflight')).toMatchObject([{ skipStripe: false }]);

  for (const key of [...ORIGINAL_KEYS, ...ADDED_KEYS]) expect(summary).toHaveProperty(key);
  expect(summary.status).toBe('success');
  expect(summary.environment).toBe('staging');
  expect(summary.git_sha).toBe(preflightResult().gitSha);
  expect(summary.alembic_revision).toBe(HEAD_REVISION);
  expect(summary.alembic_revisions).toEqual([HEAD_REVISION]);
  expect(summary.options).toEqual({
    non_interactive: true,
    skip_stripe: false,
    skip_db_checks: false,
    no_rollback: false,
  });
  expect(summary.billing_plans.map((p) => [p.code, p.status])).toEqual([
    ['starter', 'ok'],
    ['pro', 'ok'],
  ]);
  expect(summary.stripe_price_map).toEqual({ starter: 'price_new_starter', pro: 'price_new_pro' });
  expect(summary.secrets).toEqual({
    stripe_secret_key: maskSecret(MOCK_ENV.STRIPE_SECRET_KEY),
    stripe_webhook_secret: maskSecret(MOCK_ENV.STRIPE_WEBHOOK_SECRET),
  });
  expect(summary.workflow_id).toBe(workflowId);
  expect(summary.run_id).toBe(runId);
  expect(summary.started_by).toBe('alice');
  expect(summary.pre_release_revision).toBe(PRE_RELEASE_REVISION);
  expect(summary.pre_release_revisions).toEqual([PRE_RELEASE_REVISION]);
  expect(summary.pending_revisions).toEqual([{ revision: HEAD_REVISION, message: 'add billing plans' }]);
  expect(summary.stripe?.currency).toBe('usd');
  expect(summary.stripe?.trial_days).toBe(14);
  expect(summary.stripe?.plans.map((p) => p.priceId)).toEqual(['price_new_starter', 'price_new_pro']);
  expect(summary.compensations).toEqual([]);
  expect(summary.error).toBeNull();
  expect(summary.finished_at).not.toBeNull();

  expect(summary.steps.map((s) => [s.name, s.status])).toEqual([
    ['preflight', 'success'],
    ['migrations', 'success'],
    ['alembic_revision', 'success'],
    ['stripe_setup', 'success'],
    ['billing_plan_verification', 'success'],
  ]);
  for (const step of summary.steps) {
    expect(typeof step.started_at).toBe('string');
    expect(typeof step.ended_at).toBe('string');
    const started = Date.parse(step.started_at ?? '');
    const ended = Date.parse(step.ended_at ?? '');
    expect(Number.isNaN(started)).toBe(false);
    expect(ended).toBeGreaterThanOrEqual(started);
    expect(step.duration_ms).toBe(ended - started);
  }
  expect(stepOf(summary, 'stripe_setup').detail).toBe(
    'starter: price_new_starter (created), pro: price_new_pro (created)',
  );
  expect(stepOf(summary, 'migrations').metadata).toMatchObject({ command: 'just migrate', exit_code: 0 });
});

test('skip_stripe: stripe_setup is skipped with --skip-stripe and no Stripe activity is called', async () => {
  const mocks = mockActivities();
  const summary = await withWorker(ctx, mocks.activities, async (start) =>
    (await start(releaseInput({ options: { skip_stripe: true } }))).result(),
  );

  expect(summary.status).toBe('success');
  const stripe = stepOf(summary, 'stripe_setup');
  expect(stripe.status).toBe('skipped');
  expect(stripe.detail).toBe('--skip-stripe');
  expect(mocks.inputsOf('preflight')).toMatchObject([{ skipStripe: true }]);
  expect(mocks.names()).not.toContain('provisionStripePlans');
  expect(mocks.names()).not.toContain('syncPriceIds');
  expect(summary.stripe).toBeNull();
  // Every runbook step is in the summary, skipped ones too, in the registry's order.
  expect(summary.steps.map((s) => s.name)).toEqual(STEP_NAMES);
});

test('billing disabled in preflight: stripe_setup is skipped naming ENABLE_BILLING', async () => {
  const mocks = mockActivities({ preflight: { billingEnabled: false } });
  const summary = await withWorker(ctx, mocks.activities, async (start) =>
    (await start(releaseInput())).result(),
  );

  expect(summary.status).toBe('success');
  const stripe = stepOf(summary, 'stripe_setup');
  expect(stripe.status).toBe('skipped');
  expect(stripe.detail).toContain('ENABLE_BILLING');
  expect(mocks.names()).not.toContain('provisionStripePlans');
  expect(mocks.names()).not.toContain('syncPriceIds');
});

test('skip_db_checks: billing plan verification is skipped and not called', async () => {
  const mocks = mockActivities();
  const summary = await withWorker(ctx, mocks.activities, async (start) =>
    (await start(releaseInput({ options: { skip_db_checks: true } }))).result(),
  );

  expect(summary.status).toBe('success');
  const verification = stepOf(summary, 'billing_plan_verification');
  expect(verification.status).toBe('skipped');
  expect(verification.detail).toBe('--skip-db-checks');
  expect(mocks.names()).not.toContain('verifyBillingPlans');
  expect(summary.billing_plans).toEqual([]);
});

describe('issue 12 items 2 and 3: billing as the backend keeps it', () => {
  test('billing off: Stripe, the sync and the plan check are skipped, each naming ENABLE_BILLING and its file; nothing is called', async () => {
    const reason = 'ENABLE_BILLING=false in .env.local';
    const mocks = mockActivities({ preflight: { billingEnabled: false, billingOffReason: reason } });
    const summary = await withWorker(ctx, mocks.activities, async (start) =>
      (await start(releaseInput())).result(),
    );

    expect(summary.status).toBe('success');
    expect(stepOf(summary, 'stripe_setup')).toMatchObject({ status: 'skipped', detail: reason });
    expect(stepOf(summary, 'billing_plan_verification')).toMatchObject({ status: 'skipped', detail: reason });
    expect(mocks.names()).not.toContain('provisionStripePlans');
    expect(mocks.names()).not.toContain('syncPriceIds');
    expect(mocks.names()).not.toContain('verifyBillingPlans');
    expect(summary.billing_plans).toEqual([]);
  });

  test('billing on: the check gets what the release priced, so ids kept in env files are checked in Stripe', async () => {
    const mocks = mockActivities();
    const input = releaseInput();
    await withWorker(ctx, mocks.activities, async (start) => (await start(input)).result());
    expect(mocks.inputsOf('verifyBillingPlans')).toEqual([
      {
        codes: ['starter', 'pro'],
        billing: { enabled: true, stripe: { plans: input.plans, currency: input.currency } },
      },
    ]);
    expect(mocks.inputsOf('syncPriceIds')).toEqual([
      { priceMap: { starter: 'price_new_starter', pro: 'price_new_pro' } },
    ]);
  });

  test('--skip-stripe: the check does not ask Stripe', async () => {
    const mocks = mockActivities();
    await withWorker(ctx, mocks.activities, async (start) =>
      (await start(releaseInput({ options: { skip_stripe: true } }))).result(),
    );
    expect(mocks.inputsOf('verifyBillingPlans')).toEqual([
      { codes: ['starter', 'pro'], billing: { enabled: true, stripe: null } },
    ]);
  });

  test('--skip-db-checks: the price-id sync writes no billing_plans row either', async () => {
    const mocks = mockActivities();
    const summary = await withWorker(ctx, mocks.activities, async (start) =>
      (await start(releaseInput({ options: { skip_db_checks: true } }))).result(),
    );
    expect(summary.status).toBe('success');
    expect(mocks.inputsOf('syncPriceIds')).toEqual([
      { priceMap: { starter: 'price_new_starter', pro: 'price_new_pro' }, skipDbWrites: true },
    ]);
  });
});
