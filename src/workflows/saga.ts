/**
 * The saga's shared pieces, used by the release, the rollback and `stripe setup` workflows alike:
 * activity options and retry policies (one place), failure unwrapping (one form), and the
 * compensation runner (newest first, the schema first when the release recorded a revision set).
 * Every failure type a workflow raises or records is in ErrorType.
 */
import {
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { ReleaseActivities } from '../activities';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../release/errors';
import { setText } from '../release/revisions';
import { manualActionFor, type CompensationName, type SchemaBefore } from '../release/steps';
import type { CompensationRecord, LeaseHolder } from '../release/types';

/**
 * Retry budgets sized for real outages: backoff from 1 s doubling to a 10 s ceiling, so the
 * attempts of a transient failure (database restarting, Stripe 429/5xx, connection refused) span
 * about `outageSeconds` before the step fails with the last attempt's reason. Deterministic
 * failures (a migration's SQL error, a bad key) are never retried.
 */
export function retryFor(outageSeconds: number): RetryPolicy {
  const initial = 1;
  const ceiling = 10;
  // 1 + 2 + 4 + 8 = 15 s over the first five attempts, then one attempt every 10 s.
  const maximumAttempts = 5 + Math.ceil(Math.max(0, outageSeconds - 15) / ceiling);
  return {
    initialInterval: `${initial} second`,
    backoffCoefficient: 2,
    maximumInterval: `${ceiling} seconds`,
    maximumAttempts,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  };
}

/** Outages up to 2 minutes are ridden out on every step; compensation tries for 5. */
export const OUTAGE_BUDGET_SECONDS = { step: 150, compensation: 300 } as const;

/** The rollback and `stripe setup` workflows' policy: a fixed number of attempts, backoff to 30 s. */
function attempts(maximumAttempts: number): RetryPolicy {
  return {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  };
}

/** Each kind of activity gets its own timeouts and retries; deterministic failures are never retried. */
export const ACTIVITY_OPTIONS = {
  checks: { startToCloseTimeout: '2 minutes', retry: retryFor(OUTAGE_BUDGET_SECONDS.step) },
  migrate: {
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '30 seconds',
    retry: retryFor(OUTAGE_BUDGET_SECONDS.step),
  },
  stripe: {
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '1 minute',
    retry: retryFor(OUTAGE_BUDGET_SECONDS.step),
  },
  compensate: {
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '1 minute',
    retry: retryFor(OUTAGE_BUDGET_SECONDS.compensation),
  },
  lease: { startToCloseTimeout: '30 seconds', retry: retryFor(OUTAGE_BUDGET_SECONDS.step) },
  /** Every activity of `release rollback`. */
  rollback: { startToCloseTimeout: '15 minutes', heartbeatTimeout: '1 minute', retry: attempts(10) },
  /** Every activity of `stripe setup`. */
  stripeSetup: { startToCloseTimeout: '5 minutes', heartbeatTimeout: '1 minute', retry: attempts(8) },
} satisfies Record<string, ActivityOptions>;

export type ActivityKind = keyof typeof ACTIVITY_OPTIONS;

/** The activities with one kind's options; `summary` is what the Web UI's timeline shows for the call. */
export function activitiesFor(kind: ActivityKind, summary?: string) {
  return proxyActivities<ReleaseActivities>(
    summary === undefined ? ACTIVITY_OPTIONS[kind] : { ...ACTIVITY_OPTIONS[kind], summary },
  );
}

/**
 * The same activities as local activities, for the short steps that only read or free what the
 * release holds (the revision capture, the plan check, the evidence, the lease release): they run
 * inside the worker's workflow task instead of a round trip through the task queue (issue 15),
 * with the same timeouts and retries, and their results are recorded in the history as markers.
 * Never for a step that can run long or changes the target (migrations, Stripe, compensations,
 * the price-id sync: it can wait on a row lock for minutes, and a local activity would hold its
 * workflow task open all that time, as the fault suite's kill-price-sync case showed).
 */
export function localActivitiesFor(kind: 'checks' | 'lease', summary: string) {
  return proxyLocalActivities<ReleaseActivities>({ ...ACTIVITY_OPTIONS[kind], summary });
}

// ---- Failure unwrapping: activity failures wrap the activity's own ApplicationFailure in `cause`.

export function causeOf(error: unknown): unknown {
  const e = error as { cause?: unknown };
  return e && typeof e === 'object' && e.cause ? e.cause : error;
}

/** The failure's ErrorType (Cancelled for a cancellation), or null when it carries none. */
export function typeOf(error: unknown): string | null {
  if (isCancellation(error)) return ErrorType.Cancelled;
  const cause = causeOf(error) as { type?: string | null };
  return cause?.type ?? null;
}

/** The failure's own message (the activity's, not the wrapper's). */
export function messageOf(error: unknown): string {
  if (isCancellation(error)) return 'release cancelled (cancellation requested)';
  const cause = causeOf(error) as { message?: string };
  return cause?.message ?? String(error);
}

/** The first detail a failure carries (an ApplicationFailure's `details[0]`). */
function detailOf(error: unknown): unknown {
  const cause = causeOf(error) as { details?: unknown[] };
  return cause?.details?.[0];
}

/** The lease holder a TargetBusy failure names in its details. */
export function holderOf(error: unknown): LeaseHolder | null {
  const holder = detailOf(error) as Partial<LeaseHolder> | undefined;
  return holder && typeof holder.workflowId === 'string' ? (holder as LeaseHolder) : null;
}

/** The revision set a DowngradeFailed names in its details (read back by the activity). */
export function revisionsOf(error: unknown): string[] | null {
  const detail = detailOf(error) as { revisions?: unknown } | undefined;
  return Array.isArray(detail?.revisions) && detail.revisions.every((r) => typeof r === 'string')
    ? detail.revisions
    : null;
}

// ---- The compensation runner.

/** What the schema compensation reports: its records, and the set the database stayed at (null: back). */
export interface SchemaOutcome {
  records: CompensationRecord[];
  stayedAt: string[] | null;
}

export interface Compensation {
  name: CompensationName;
  run: () => Promise<CompensationRecord[]>;
  /**
   * Revision-set releases and rollbacks: the schema compensation, run first. Price ids and Stripe
   * are put back only when it brought the database back to the recorded set.
   */
  schema?: () => Promise<SchemaOutcome>;
}

export const NO_PLAN_COLUMN_BEFORE =
  'billing_plans.stripe_price_id does not exist at the revision set before the release: nothing to restore there';

/**
 * Runs compensations given newest first, pushing each record to `records` as it is known (status
 * queries read them while it runs). A failing compensation is recorded with its manual action and
 * the rest still run. When one has a `schema` step it goes first, and if the schema stayed away
 * from `before` the rest are skipped (old price ids over a schema that stayed new break the
 * backend). Returns whether everything was undone.
 */
export async function runCompensations(
  newestFirst: readonly Compensation[],
  before: SchemaBefore,
  records: CompensationRecord[],
): Promise<boolean> {
  let allOk = true;
  const schemaFirst = newestFirst.find((c) => c.schema);
  let remaining = [...newestFirst];
  if (schemaFirst?.schema) {
    remaining = remaining.filter((c) => c !== schemaFirst);
    let outcome: SchemaOutcome;
    try {
      outcome = await schemaFirst.schema();
    } catch (error) {
      // The database itself is gone (the retries ran out): where the schema is cannot be read, so
      // nothing that depends on it is undone either; the summary says so.
      outcome = {
        records: [
          {
            name: schemaFirst.name,
            status: 'failed',
            detail: messageOf(error),
            manual_action: manualActionFor(schemaFirst.name, before),
          },
        ],
        stayedAt: ['unknown (the database could not be read)'],
      };
    }
    records.push(...outcome.records);
    const { stayedAt } = outcome;
    if (stayedAt) {
      allOk = false;
      for (const c of remaining) {
        records.push({
          name: c.name,
          status: 'skipped',
          detail: `not run: the schema stayed at ${setText(stayedAt)} (not back at ${setText(before.revisions)}), and this release's price ids and Stripe prices belong to it`,
          manual_action: `once the schema is back at ${setText(before.revisions)}: ${manualActionFor(c.name, before)}`,
        });
      }
      remaining = [];
    }
  }
  for (const c of remaining) {
    try {
      records.push(...(await c.run()));
    } catch (error) {
      if (
        schemaFirst?.schema &&
        c.name === 'price_ids' &&
        typeOf(error) === ErrorType.BillingPlansTableInvalid
      ) {
        // The schema is back where billing_plans (or its price id column) did not exist yet: the
        // env file was restored before that was found, and there is no column to restore.
        records.push({
          name: c.name,
          status: 'success',
          detail: `.env.local restored; ${NO_PLAN_COLUMN_BEFORE}`,
          manual_action: null,
        });
        continue;
      }
      allOk = false;
      records.push({
        name: c.name,
        status: 'failed',
        detail: messageOf(error),
        manual_action: manualActionFor(c.name, before),
      });
    }
  }
  return allOk && !records.some((r) => r.status === 'failed');
}

/** The record of a schema compensation that got there: `target` is a revision, a set's text or `base`. */
export function downgraded(target: string, command: string): CompensationRecord {
  return {
    name: 'migrations',
    status: 'success',
    detail: `downgraded to ${target} (${command})`,
    manual_action: null,
  };
}
