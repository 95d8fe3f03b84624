/**
 * Types shared by the CLI, the workflow and the activities. Everything here may travel through
 * workflow history, so none of it ever holds a secret value: only ids, options and masked values.
 */

import type { SqlReview } from './sql-review';
/** The runbook's step names, from the step registry (src/release/steps.ts). */
import type { StepName } from './steps';
export type { StepName };
export type StepStatus = 'pending' | 'running' | 'success' | 'failed' | 'skipped';
/**
 * `price_not_found`, `price_inactive` and `price_mismatch` come from backends that keep price ids
 * only in STRIPE_PRODUCT_PRICE_MAP: the id there is checked against Stripe itself.
 */
export type PlanStatus =
  | 'ok'
  | 'missing'
  | 'missing_price_id'
  | 'inactive'
  | 'price_not_found'
  | 'price_inactive'
  | 'price_mismatch';

export interface CatalogPlan {
  code: string;
  name: string;
  /** Minor units (cents). 0 is a valid free plan. */
  amount: number;
}

export interface ApprovalPolicy {
  required: boolean;
  /** Empty = anyone may approve. */
  approvers: string[];
  /** The person who started the release may not approve it. */
  fourEyes: boolean;
  /** A Temporal duration string, e.g. '24 hours'. */
  timeout: string;
}

/** release.config.json `environments.<env>.promotion`: what must have been released elsewhere first. */
export interface PromotionPolicy {
  /** Environments that must have released the same git SHA to the same revision set first. */
  requires: string[];
  /** How long ago such a release may have finished, a duration such as "7 days". */
  maxAge: string;
}

/** A release of a required environment that satisfies promotion, read from Temporal. */
export interface PromotionEvidence {
  environment: string;
  workflow_id: string;
  run_id: string;
  finished_at: string;
}

/** A required environment with no qualifying release: what was found instead and what would satisfy it. */
export interface PromotionMissing {
  environment: string;
  found: string;
  command: string;
}

/**
 * Promotion as the worker judged it in preflight, from the release history in Temporal, and
 * (when the release went ahead without a required environment) the approval that overrode it.
 */
export interface PromotionRecord {
  required: string[];
  max_age: string;
  /** What this release would promote: its git SHA and the revision set it reaches (the script heads). */
  git_sha: string | null;
  revisions: string[];
  satisfied_by: PromotionEvidence[];
  missing: PromotionMissing[];
  /** Set once an approver acknowledged the override; null: not overridden (or nothing was missing). */
  override: { by: string; reason: string; requested_by: string } | null;
}

export interface ReleaseOptions {
  non_interactive: boolean;
  skip_stripe: boolean;
  skip_db_checks: boolean;
  no_rollback: boolean;
}

/** The workflow's input: validated at the edge (the CLI), never re-parsed. */
export interface ReleaseInput {
  environment: string;
  options: ReleaseOptions;
  plans: CatalogPlan[];
  currency: string;
  trialDays: number;
  startedBy: string;
  /**
   * The approval policy the caller's config names: a claim only. The worker computes the policy
   * for its own environment in preflight and the workflow uses that one (kept for old histories).
   */
  approval: ApprovalPolicy;
  /** What the caller believes about the backend; the worker checks each against its own. */
  claims?: ReleaseClaims;
  /**
   * The server has the DbRelease* search attributes registered (the CLI checks before starting):
   * the workflow keeps DbReleaseStatus and DbReleaseGitSha current. Absent or false, it does not
   * upsert them, because upserting an unregistered attribute fails every workflow task.
   */
  indexed?: boolean;
  /**
   * `--override-promotion "<reason>"`: go ahead without a required environment's release, but only
   * through an approval that acknowledges it (the gate opens even where approval is otherwise off).
   */
  overridePromotion?: string;
}

/** The caller's view of the backend, sent so the worker can refuse a release aimed elsewhere. */
export interface ReleaseClaims {
  /** The catalog of the caller's release.config.json (codes, names, default amounts). */
  catalog: CatalogPlan[];
  /** Whether the caller's env files turn billing on (it decided which flags and secrets to ask for). */
  billingEnabled: boolean;
}

/** Who holds a target database's release lease (the row in `db_release.lease`). */
export interface LeaseHolder {
  workflowId: string;
  runId: string;
  environment: string;
  startedBy: string;
  acquiredAt: string;
  expiresAt: string;
}

export interface StepRecord {
  name: StepName;
  status: StepStatus;
  detail: string | null;
  metadata: Record<string, unknown>;
  started_at: string | null;
  ended_at: string | null;
  duration_ms: number | null;
}

/** Whether a revision's downgrade can run, as the Alembic inspection rendered it offline. */
export interface DowngradeReadiness {
  /** ok: rendered; raises: the revision's own code raised; empty: `pass` over a schema change; unknown: could not render. */
  status: 'ok' | 'raises' | 'empty' | 'unknown';
  /** The exception line (raises) or why (empty, unknown); null when ok. */
  detail: string | null;
}

/**
 * A revision a release applies. The graph and readiness fields are absent from summaries and
 * histories recorded before the revision set (and from the CLI fallback for the graph).
 */
export interface PendingRevision {
  revision: string;
  message: string;
  downRevisions?: string[];
  dependsOn?: string[];
  isMerge?: boolean;
  isBranchPoint?: boolean;
  downgrade?: DowngradeReadiness;
}

export interface PreflightResult {
  gitSha: string | null;
  gitTag: string | null;
  postgresVersion: string;
  heads: string[];
  /** The revision set joined by "," (null: base), as before the set existed. */
  currentRevision: string | null;
  /** Every row of the version table before the release (empty: base). Absent in older histories. */
  currentRevisions?: string[];
  /** The backend's alembic command (release.config.json), for manual actions that name exact commands. */
  alembicCommand?: string[];
  /**
   * How the revisions were inspected: one Python process; the alembic CLI when Python cannot import
   * alembic; or `unchanged`: the database is at the heads of a graph this worker inspected before,
   * from files whose content hash has not changed since (no Python; nothing pending).
   */
  inspection?: 'python' | 'cli-fallback' | 'unchanged';
  /** With `unchanged`: when that Python inspection ran and the content hash it is kept under. */
  inspectionReused?: { inspectedAt: string; fingerprint: string };
  pendingRevisions: PendingRevision[];
  billingEnabled: boolean;
  /** Why billing is off (`ENABLE_BILLING=false in .env.local`), null when on; absent from older workers. */
  billingOffReason?: string | null;
  environmentName: string | null;
  stripeKeyMasked: string | null;
  stripeWebhookSecretMasked: string | null;
  /** The worker's approval policy for ITS environment (never the caller's): the gate uses this. */
  approval: ApprovalPolicy;
  /** The target lease this release now holds, taken before anything changes. */
  lease: LeaseHolder;
  /** Promotion as the worker judged it (only where its config has a promotion policy). */
  promotion?: PromotionRecord;
  /** The SQL under review: each pending revision's rendered SQL, its risk flags, the policy's decision. Absent from older workers. */
  sqlReview?: SqlReview;
}

export interface CommandOutcome {
  command: string;
  exitCode: number;
  durationMs: number;
  /** Redacted, and trimmed to its tail when long. */
  output: string;
  /** The worker-local file with the command's full redacted output (per run and attempt). */
  logFile?: string | null;
}

export interface AlembicRevisionResult {
  /** The set joined by "," (null: base); `alembic current`'s text in histories from before the set. */
  revision: string | null;
  raw: string;
  /** The version table's rows, read through pg. Absent in older histories. */
  revisions?: string[];
}

export type ProductAction = 'created' | 'reused' | 'renamed';
export type PriceAction = 'created' | 'reused' | 'lookup_key_assigned';

export interface ProvisionedPlan {
  code: string;
  amount: number;
  productId: string;
  productAction: ProductAction;
  /** The product's name before this release renamed it. */
  previousProductName: string | null;
  /**
   * The metadata key under which the reused product named the plan's code (e.g. the backend's own
   * `starter_console_plan_code`); absent when the release created the product, and in older results.
   */
  productMatchedBy?: string;
  priceId: string;
  priceAction: PriceAction;
  lookupKey: string;
  /** The price that held the lookup key before, if this release moved it away. */
  previousPriceId: string | null;
  /** Whether this release archived the previous price (so a rollback must reactivate it). */
  previousPriceArchived: boolean;
  /**
   * The product's default price before the release, when the release moved it (Stripe refuses to
   * archive a product's default price, so the new price becomes the default first). Absent in
   * results recorded before this field existed.
   */
  previousDefaultPrice?: string | null;
}

export interface StripeProvisionResult {
  currency: string;
  trialDays: number;
  plans: ProvisionedPlan[];
  priceMap: Record<string, string>;
}

export interface StripeChange {
  code: string;
  product: 'create' | 'reuse' | 'rename';
  price: 'create' | 'reuse' | 'assign_lookup_key';
  lookupKey: string;
  /** The price that holds the lookup key now and would lose it (and be archived). */
  movesLookupKeyFrom: string | null;
  /**
   * What the price holding the lookup key charges now, in minor units (null: no price holds it),
   * so the approver reads "149.00 USD/month, was 129.00". Absent in plans recorded before it.
   */
  previousAmount?: number | null;
}

export interface PriceIdSyncResult {
  envFile: string;
  envFileChanged: boolean;
  /** `.env.local` values before the release, for compensation (non-secret keys only). */
  previousEnv: { STRIPE_PRODUCT_PRICE_MAP: string | null; ENABLE_BILLING: string | null };
  /** `billing_plans.stripe_price_id` before the release, per code (null: no value; absent: no row). */
  previousPriceIds: Record<string, string | null>;
  rowsUpdated: number;
  /**
   * The billing_plans column the ids were written to; null when none was (the backend keeps them
   * only in its env file, or --skip-db-checks). Absent in results recorded before.
   */
  priceIdColumn?: string | null;
}

export interface BillingPlanRow {
  code: string;
  status: PlanStatus;
  stripe_price_id: string | null;
  is_active: boolean;
  /**
   * Where the price id was read: `billing_plans.<column>`, or `STRIPE_PRODUCT_PRICE_MAP in <env file>`
   * for backends without the column. Absent in summaries written before.
   */
  price_id_source?: string;
  /** Why the status is not ok, when the status alone does not say (e.g. the amount Stripe has). */
  detail?: string;
}

export interface ReleaseEvidence {
  stripePriceMap: Record<string, unknown> | null;
  stripeSecretKeyMasked: string | null;
  stripeWebhookSecretMasked: string | null;
  environmentName: string | null;
}

export type ReleaseStatus =
  'running' | 'success' | 'failed' | 'rejected' | 'cancelled' | 'rolled_back' | 'rollback_failed';

export interface CompensationRecord {
  name: string;
  status: 'success' | 'failed' | 'skipped';
  detail: string | null;
  manual_action: string | null;
}

export interface ApprovalDecision {
  decision: 'approved' | 'rejected';
  approver: string;
  comment: string | null;
  via: 'signal' | 'update' | 'timeout';
  at: string;
  /** The approver acknowledged the promotion override the plan shows (absent otherwise). */
  override_promotion?: true;
}

/** The release summary: every key of the original file, then what this tool adds. */
export interface ReleaseSummary {
  status: ReleaseStatus;
  executed_at: string;
  environment: string | null;
  git_sha: string | null;
  alembic_revision: string | null;
  steps: StepRecord[];
  billing_plans: BillingPlanRow[];
  options: ReleaseOptions;
  stripe_price_map: Record<string, unknown> | null;
  secrets: { stripe_secret_key: string | null; stripe_webhook_secret: string | null };
  // additions
  workflow_id: string;
  run_id: string;
  started_by: string;
  finished_at: string | null;
  duration_ms: number | null;
  git_tag: string | null;
  /** One id, or the ids of the revision set joined by "," (sorted); null: base. */
  pre_release_revision: string | null;
  pending_revisions: PendingRevision[];
  /** Every row of the version table before the release (empty: base). Summaries from before the set lack it. */
  pre_release_revisions: string[];
  /** Every row of the version table after the release (`alembic_revision` joins them). */
  alembic_revisions: string[];
  stripe: { currency: string; trial_days: number; plans: ProvisionedPlan[] } | null;
  approval: ApprovalDecision | null;
  /** Promotion checked by the worker (absent where no promotion policy applies, and in older summaries). */
  promotion?: PromotionRecord;
  compensations: CompensationRecord[];
  /** The SQL review preflight read (issue 17); absent from older summaries. */
  sql_review?: SqlReview;
  error: {
    step: StepName | null;
    type: string | null;
    message: string;
    /** For TargetBusy: the release that holds the target. */
    holder?: LeaseHolder;
  } | null;
}
