/**
 * The saga's compensation runner and failure unwrapping (src/workflows/saga.ts), shared by the
 * release, the rollback and `stripe setup`. Pure enough to test without a workflow: the
 * compensations here are plain async functions.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/release/errors';
import type { CompensationRecord } from '../../src/release/types';
import {
  holderOf,
  messageOf,
  NO_PLAN_COLUMN_BEFORE,
  revisionsOf,
  runCompensations,
  typeOf,
  type Compensation,
} from '../../src/workflows/saga';

const BEFORE = { revisions: ['a1', 'b1'], revision: 'a1' };

/** An activity failure as the workflow sees it: the activity's ApplicationFailure in `cause`. */
function activityFailure(type: string, message: string, details: unknown[] = []): Error {
  const error = new Error('Activity task failed');
  (error as Error & { cause: unknown }).cause = ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details,
  });
  return error;
}

function ok(name: Compensation['name'], ran: string[]): Compensation {
  return {
    name,
    run: () => {
      ran.push(name);
      return Promise.resolve([{ name, status: 'success', detail: 'done', manual_action: null }]);
    },
  };
}

test('newest first; a failing compensation is recorded with its manual action and the rest still run', async () => {
  const ran: string[] = [];
  const records: CompensationRecord[] = [];
  const failing: Compensation = {
    name: 'stripe',
    run: () => Promise.reject(activityFailure(ErrorType.StripeUnavailable, 'Stripe answered 503')),
  };
  const allOk = await runCompensations(
    [ok('price_ids', ran), failing, ok('migrations', ran)],
    BEFORE,
    records,
  );
  expect(allOk).toBe(false);
  expect(ran).toEqual(['price_ids', 'migrations']);
  expect(records.map((r) => [r.name, r.status])).toEqual([
    ['price_ids', 'success'],
    ['stripe', 'failed'],
    ['migrations', 'success'],
  ]);
  expect(records[1]?.detail).toBe('Stripe answered 503');
  expect(records[1]?.manual_action).toContain('Stripe dashboard');
});

test('everything undone: true, and the records are pushed as they come', async () => {
  const ran: string[] = [];
  const records: CompensationRecord[] = [];
  await expect(runCompensations([ok('price_ids', ran), ok('stripe', ran)], BEFORE, records)).resolves.toBe(
    true,
  );
  expect(records).toHaveLength(2);
});

test('the schema goes first; when it stays away from the recorded set nothing that depends on it runs', async () => {
  const ran: string[] = [];
  const records: CompensationRecord[] = [];
  const schema: Compensation = {
    ...ok('migrations', ran),
    schema: () =>
      Promise.resolve({
        records: [
          { name: 'migrations', status: 'skipped', detail: 'refused', manual_action: 'write a downgrade' },
        ],
        stayedAt: ['m1'],
      }),
  };
  const allOk = await runCompensations([ok('price_ids', ran), ok('stripe', ran), schema], BEFORE, records);
  expect(allOk).toBe(false);
  expect(ran).toEqual([]);
  expect(records.map((r) => [r.name, r.status])).toEqual([
    ['migrations', 'skipped'],
    ['price_ids', 'skipped'],
    ['stripe', 'skipped'],
  ]);
  expect(records[1]?.detail).toContain('not run: the schema stayed at m1 (not back at {a1, b1})');
  expect(records[2]?.manual_action).toMatch(/^once the schema is back at \{a1, b1\}: archive the prices/);
});

test('a schema compensation that cannot reach the database is recorded failed and the rest skipped', async () => {
  const ran: string[] = [];
  const records: CompensationRecord[] = [];
  const schema: Compensation = {
    ...ok('migrations', ran),
    schema: () => Promise.reject(activityFailure(ErrorType.DatabaseUnreachable, 'connection refused')),
  };
  await expect(runCompensations([ok('price_ids', ran), schema], BEFORE, records)).resolves.toBe(false);
  expect(records[0]).toEqual({
    name: 'migrations',
    status: 'failed',
    detail: 'connection refused',
    manual_action:
      'bring the schema back to exactly {a1, b1} by hand (alembic downgrade a1, then alembic downgrade b1, or restore from backup)',
  });
  expect(records[1]?.detail).toContain('the schema stayed at unknown (the database could not be read)');
  expect(ran).toEqual([]);
});

test('price ids over a schema back before billing_plans existed: the env file was restored, nothing else to do', async () => {
  const ran: string[] = [];
  const noTable: Compensation = {
    name: 'price_ids',
    run: () => Promise.reject(activityFailure(ErrorType.BillingPlansTableInvalid, 'no billing_plans')),
  };
  const schema: Compensation = {
    ...ok('migrations', ran),
    schema: () =>
      Promise.resolve({
        records: [{ name: 'migrations', status: 'success', detail: 'downgraded', manual_action: null }],
        stayedAt: null,
      }),
  };
  const records: CompensationRecord[] = [];
  await expect(runCompensations([noTable, schema], BEFORE, records)).resolves.toBe(true);
  expect(records[1]).toEqual({
    name: 'price_ids',
    status: 'success',
    detail: `.env.local restored; ${NO_PLAN_COLUMN_BEFORE}`,
    manual_action: null,
  });
  // Without a schema compensation first, the same failure is a failure.
  const alone: CompensationRecord[] = [];
  await expect(runCompensations([noTable], BEFORE, alone)).resolves.toBe(false);
  expect(alone[0]?.status).toBe('failed');
});

test('failure unwrapping reads the activity failure inside the wrapper', () => {
  const busy = activityFailure(ErrorType.TargetBusy, 'held by db-release-x', [
    { workflowId: 'db-release-x', runId: 'r1' },
  ]);
  expect(typeOf(busy)).toBe(ErrorType.TargetBusy);
  expect(messageOf(busy)).toBe('held by db-release-x');
  expect(holderOf(busy)?.workflowId).toBe('db-release-x');
  expect(revisionsOf(busy)).toBeNull();
  const downgrade = activityFailure(ErrorType.DowngradeFailed, 'raised', [{ revisions: ['m1'] }]);
  expect(revisionsOf(downgrade)).toEqual(['m1']);
  expect(typeOf(new Error('plain'))).toBeNull();
  expect(messageOf(new Error('plain'))).toBe('plain');
});
