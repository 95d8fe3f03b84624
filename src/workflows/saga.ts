/**
 * The saga's shared pieces: retry policies sized for real outages. (The compensation runner and
 * failure unwrapping move here as the workflows converge on one saga.)
 */
import type { RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../release/errors';

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

