/**
 * The runbook's steps and their compensations, in one place. The release workflow, the rollback
 * workflow, the summary (STEP_ORDER), the report, the live view, status lines and the test mocks
 * read this registry, so a new step is its activity, its entry here, its tests and a README line
 * (README "Adding a step").
 *
 * Pure data and pure functions: the workflow sandbox imports it, and nothing here may import the
 * activities (the activity names are checked against them in test/unit/step-registry.test.ts).
 */
import { setText } from './revisions';

/** What a compensation undoes. Each is registered by the step whose change it undoes. */
export type CompensationName = 'migrations' | 'stripe' | 'price_ids';

export interface StepDefinition {
  /** The name recorded in the summary (`steps[].name`, `error.step`) and shown by the live view. */
  name: string;
  /**
   * One line on what the step does: the summary of its activity in the Web UI's timeline, and
   * the step's title in the report.
   */
  title: string;
  /** The activities the step runs, in order (names of ReleaseActivities). */
  activities: readonly string[];
  /** What the step registers before it changes anything, undone newest first on failure. */
  compensations: readonly CompensationName[];
}

/** The runbook's steps, in order. The approval gate sits between preflight and migrations. */
export const STEPS = [
  {
    name: 'preflight',
    title: 'Preflight: worker authority, target lease, git, database, Alembic heads, Stripe',
    activities: ['preflight'],
    compensations: [],
  },
  {
    name: 'migrations',
    title: 'Run the backend migrate command',
    activities: ['runMigrations'],
    compensations: ['migrations'],
  },
  {
    name: 'alembic_revision',
    title: 'Capture alembic current',
    activities: ['captureAlembicRevision'],
    compensations: [],
  },
  {
    name: 'stripe_setup',
    title: 'Provision Stripe products and prices',
    activities: ['provisionStripePlans', 'syncPriceIds'],
    compensations: ['stripe', 'price_ids'],
  },
  {
    name: 'billing_plan_verification',
    title: 'Verify billing_plans rows',
    activities: ['verifyBillingPlans'],
    compensations: [],
  },
] as const satisfies readonly StepDefinition[];

/** A runbook step's name: exactly the registry's names (src/release/types.ts re-exports it). */
export type StepName = (typeof STEPS)[number]['name'];

/** The runbook's step names in order; a step absent from a summary never started. */
export const STEP_NAMES: readonly StepName[] = STEPS.map((s) => s.name);

export function stepDefinition(name: StepName): StepDefinition {
  const found = STEPS.find((s) => s.name === name);
  if (!found) throw new Error(`unknown step ${String(name)}`);
  return found;
}

/** The gate sits before this step: the live view draws the approval row there. */
export const FIRST_GATED_STEP: StepName = 'migrations';

/** Where the schema was before the release: what a manual action brings it back to. */
export interface SchemaBefore {
  /** The revision set recorded before the release (empty: base). */
  revisions: readonly string[];
  /** The single revision older releases recorded (null: base). */
  revision: string | null;
}

export interface CompensationDefinition {
  name: CompensationName;
  /** The step that registers it. */
  step: StepName;
  /** The summary of its activity in the Web UI's timeline (null: built from the revisions). */
  title: string | null;
  /** What an operator does by hand when the compensation failed or was not run. */
  manualAction(before: SchemaBefore): string;
}

export const COMPENSATIONS: Record<CompensationName, CompensationDefinition> = {
  migrations: {
    name: 'migrations',
    step: 'migrations',
    title: null,
    manualAction: (before) => {
      if (before.revisions.length > 1) {
        return `bring the schema back to exactly ${setText(before.revisions)} by hand (${before.revisions.map((r) => `alembic downgrade ${r}`).join(', then ')}, or restore from backup)`;
      }
      return `bring the schema back to ${before.revision ?? 'base'} by hand (alembic downgrade ${before.revision ?? 'base'}, or restore from backup)`;
    },
  },
  stripe: {
    name: 'stripe',
    step: 'stripe_setup',
    title: 'Archive Stripe objects created by this release',
    manualAction: () =>
      'archive the prices listed under stripe.plans in the Stripe dashboard and move their lookup keys back',
  },
  price_ids: {
    name: 'price_ids',
    step: 'stripe_setup',
    title: 'Restore .env.local and billing_plans.stripe_price_id',
    manualAction: () =>
      'restore STRIPE_PRODUCT_PRICE_MAP / ENABLE_BILLING in .env.local and billing_plans.stripe_price_id from the previous release summary',
  },
};

/** The manual action of a compensation by its recorded name (records carry plain strings). */
export function manualActionFor(name: string, before: SchemaBefore): string {
  const known = (COMPENSATIONS as Record<string, CompensationDefinition | undefined>)[name];
  return known ? known.manualAction(before) : `undo ${name} by hand`;
}
