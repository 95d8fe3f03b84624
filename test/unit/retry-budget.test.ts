import { msToNumber } from '@temporalio/common/lib/time';
import { OUTAGE_BUDGET_SECONDS, retryFor } from '../../src/workflows/saga';

/** Seconds Temporal waits between the attempts of a policy, added up (attempt time itself excluded). */
function backoffSeconds(policy: ReturnType<typeof retryFor>): number {
  const initial = msToNumber(policy.initialInterval) / 1000;
  const ceiling = msToNumber(policy.maximumInterval) / 1000;
  let total = 0;
  for (let retry = 0; retry < (policy.maximumAttempts ?? 1) - 1; retry++) {
    total += Math.min(ceiling, initial * (policy.backoffCoefficient ?? 2) ** retry);
  }
  return total;
}

test('a step rides out a 2-minute outage and gives up within 3 minutes', () => {
  const waited = backoffSeconds(retryFor(OUTAGE_BUDGET_SECONDS.step));
  expect(waited).toBeGreaterThanOrEqual(120);
  expect(waited).toBeLessThanOrEqual(180);
});

test('compensation tries for longer than a step', () => {
  expect(backoffSeconds(retryFor(OUTAGE_BUDGET_SECONDS.compensation))).toBeGreaterThan(
    backoffSeconds(retryFor(OUTAGE_BUDGET_SECONDS.step)),
  );
});

test('deterministic failures are never retried', () => {
  expect(retryFor(150).nonRetryableErrorTypes).toEqual(
    expect.arrayContaining(['MigrationFailed', 'CommandFailed', 'StripeAuthentication']),
  );
});
