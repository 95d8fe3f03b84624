/**
 * Canned, typed fakes for every release activity. Each call is recorded (name and input) in call
 * order; `overrides` replace a fake's behaviour while the call is still recorded.
 */
import type { ReleaseActivities } from '../../src/activities';
import { maskSecret } from '../../src/masking';
import type {
  ApprovalPolicy,
  BillingPlanRow,
  CompensationRecord,
  PreflightResult,
  ProvisionedPlan,
  ReleaseEvidence,
} from '../../src/release/types';

export type ActivityName = keyof ReleaseActivities;

export interface RecordedCall {
  name: ActivityName;
  input: unknown;
}

/** The secrets of the fake backend env: they must never leave the (fake) activities unmasked. */
export const MOCK_ENV = {
  STRIPE_SECRET_KEY: 'sk_test_51MockSecretKeyNeverInHistory9f3a',
  STRIPE_WEBHOOK_SECRET: 'whsec_MockWebhookSecretNeverInHistory77c1',
} as const;

export const PRE_RELEASE_REVISION = '0001_base';
export const HEAD_REVISION = '0002_billing';

export function preflightResult(overrides: Partial<PreflightResult> = {}): PreflightResult {
  return {
    gitSha: '0123456789abcdef0123456789abcdef01234567',
    gitTag: 'v1.2.3',
    postgresVersion: 'PostgreSQL 16.4',
    heads: [HEAD_REVISION],
    currentRevision: PRE_RELEASE_REVISION,
    pendingRevisions: [{ revision: HEAD_REVISION, message: 'add billing plans' }],
    billingEnabled: true,
    environmentName: 'staging',
    stripeKeyMasked: maskSecret(MOCK_ENV.STRIPE_SECRET_KEY),
    stripeWebhookSecretMasked: maskSecret(MOCK_ENV.STRIPE_WEBHOOK_SECRET),
    approval: { required: false, approvers: [], fourEyes: false, timeout: '24 hours' },
    lease: MOCK_LEASE,
    ...overrides,
  };
}

export const MOCK_LEASE = {
  workflowId: 'release-test',
  runId: 'run-1',
  environment: 'staging',
  startedBy: 'alice',
  acquiredAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T00:05:00.000Z',
};

export function okPlanRows(codes: readonly string[]): BillingPlanRow[] {
  return codes.map((code) => ({ code, status: 'ok', stripe_price_id: `price_new_${code}`, is_active: true }));
}

export const PREVIOUS_PRICE_IDS: Record<string, string | null> = { starter: 'price_old_starter', pro: null };

function compensationOk(name: string, detail: string): CompensationRecord[] {
  return [{ name, status: 'success', detail, manual_action: null }];
}

function defaults(
  preflight: PreflightResult,
  echoClaimedPolicy: boolean,
  workerPolicy: ApprovalPolicy,
): ReleaseActivities {
  return {
    preflight(input) {
      // The fake worker's policy is the one the test's input claims, unless the test sets one.
      // (input.claims is absent only when workflow code from before worker authority calls it)
      const claimed = (input.claims as typeof input.claims | undefined)?.approval;
      return Promise.resolve(echoClaimedPolicy && claimed ? { ...preflight, approval: claimed } : preflight);
    },
    acquireTargetLease(input) {
      // The fake worker serves whatever environment is named, with the worker policy the test sets.
      return Promise.resolve({
        ...MOCK_LEASE,
        environment: input.environment || MOCK_LEASE.environment,
        approval: workerPolicy,
      });
    },
    renewTargetLease() {
      return Promise.resolve({ held: true, holder: MOCK_LEASE });
    },
    releaseTargetLease() {
      return Promise.resolve({ released: true });
    },
    planStripeChanges(input) {
      return Promise.resolve(
        input.plans.map((p) => ({
          code: p.code,
          product: 'reuse' as const,
          price: 'create' as const,
          lookupKey: `db_release:${p.code}:monthly`,
          movesLookupKeyFrom: null,
        })),
      );
    },
    runMigrations() {
      return Promise.resolve({
        command: 'just migrate',
        exitCode: 0,
        durationMs: 12,
        output: `upgrade ${PRE_RELEASE_REVISION} -> ${HEAD_REVISION}`,
      });
    },
    captureAlembicRevision() {
      return Promise.resolve({ revision: HEAD_REVISION, raw: HEAD_REVISION, revisions: [HEAD_REVISION] });
    },
    downgradeMigrations(input) {
      // Old input: one revision (null: base); revision-set releases send the set.
      const target = 'toRevisions' in input ? input.toRevisions : input.toRevision ? [input.toRevision] : [];
      const command =
        target.length > 0
          ? target.map((t) => `alembic downgrade ${t}`).join(' && ')
          : 'alembic downgrade base';
      return Promise.resolve({ command, exitCode: 0, durationMs: 8, output: '', revisions: target });
    },
    provisionStripePlans(input) {
      const plans: ProvisionedPlan[] = input.plans.map((p) => ({
        code: p.code,
        amount: p.amount,
        productId: `prod_${p.code}`,
        productAction: 'reused',
        previousProductName: null,
        priceId: `price_new_${p.code}`,
        priceAction: 'created',
        lookupKey: `db_release:${p.code}:monthly`,
        previousPriceId: `price_old_${p.code}`,
        previousPriceArchived: false,
      }));
      return Promise.resolve({
        currency: input.currency,
        trialDays: input.trialDays,
        plans,
        priceMap: Object.fromEntries(plans.map((p) => [p.code, p.priceId])),
      });
    },
    rollbackStripePlans(input) {
      return Promise.resolve(
        compensationOk('stripe', `moved lookup keys back for ${input.codes.join(', ')}`),
      );
    },
    syncPriceIds(input) {
      return Promise.resolve({
        envFile: '/srv/backend/.env.local',
        envFileChanged: true,
        previousEnv: { STRIPE_PRODUCT_PRICE_MAP: null, ENABLE_BILLING: 'true' },
        previousPriceIds: PREVIOUS_PRICE_IDS,
        rowsUpdated: Object.keys(input.priceMap).length,
      });
    },
    restorePriceIds() {
      return Promise.resolve(
        compensationOk('price_ids', 'restored .env.local and billing_plans.stripe_price_id'),
      );
    },
    verifyBillingPlans(input) {
      return Promise.resolve(okPlanRows(input.codes));
    },
    readReleaseEvidence(): Promise<ReleaseEvidence> {
      return Promise.resolve({
        stripePriceMap: { starter: 'price_new_starter', pro: 'price_new_pro' },
        stripeSecretKeyMasked: maskSecret(MOCK_ENV.STRIPE_SECRET_KEY),
        stripeWebhookSecretMasked: maskSecret(MOCK_ENV.STRIPE_WEBHOOK_SECRET),
        environmentName: 'staging',
      });
    },
  };
}

const LEASE_ACTIVITIES: readonly ActivityName[] = [
  'acquireTargetLease',
  'renewTargetLease',
  'releaseTargetLease',
];

export interface MockActivities {
  activities: ReleaseActivities;
  calls: RecordedCall[];
  /** Names in call order, without the lease bookkeeping (renewTargetLease, releaseTargetLease). */
  names(): ActivityName[];
  /** The lease bookkeeping calls only, in order. */
  leaseCalls(): ActivityName[];
  /** Inputs of every call to one activity, in order. */
  inputsOf(name: ActivityName): unknown[];
}

/**
 * `workerPolicy`: the approval policy the fake worker answers with when a rollback or Stripe setup
 * takes the target lease (default: the preflight's, which requires no approval).
 */
export function mockActivities(
  options: {
    preflight?: Partial<PreflightResult>;
    overrides?: Partial<ReleaseActivities>;
    workerPolicy?: ApprovalPolicy;
  } = {},
): MockActivities {
  const calls: RecordedCall[] = [];
  const preflight = preflightResult(options.preflight);
  const impl: ReleaseActivities = {
    ...defaults(
      preflight,
      options.preflight?.approval === undefined,
      options.workerPolicy ?? preflight.approval,
    ),
    ...options.overrides,
  };
  // Every activity is wrapped the same way (no hand-kept list: a new activity is recorded at once).
  // The input recorded is the first argument (undefined for activities that take none).
  const wrapped: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(impl) as Array<
    [ActivityName, (...args: unknown[]) => Promise<unknown>]
  >) {
    wrapped[name] = async (...args: unknown[]) => {
      calls.push({ name, input: args[0] });
      return fn(...args);
    };
  }
  const activities = wrapped as unknown as ReleaseActivities;
  return {
    activities,
    calls,
    // The release's own steps: the target lease's renew/release bookkeeping is left out (see leaseCalls).
    names: () => calls.map((c) => c.name).filter((n) => !LEASE_ACTIVITIES.includes(n)),
    leaseCalls: () => calls.map((c) => c.name).filter((n) => LEASE_ACTIVITIES.includes(n)),
    inputsOf: (name) => calls.filter((c) => c.name === name).map((c) => c.input),
  };
}

/** A promise with its resolver, for mocks that wait on the test. */
export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
