import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { summaryQuery } from '../../src/workflows/messages';
import { temporalTestContext, type TemporalTestContext } from '../support/temporal';
import { releaseFailure, releaseInput, stepOf, waitForStatus, withWorker } from './harness';
import type { PendingRevision } from '../../src/release/types';
import { PRE_RELEASE_REVISION, deferred, mockActivities, okPlanRows } from './mock-activities';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

/** Revision-set releases compensate the schema first, then price ids and Stripe newest first. */
const COMPENSATION_ACTIVITIES = ['downgradeMigrations', 'restorePriceIds', 'rollbackStripePlans'] as const;

const migrationFails = (): Promise<never> =>
  Promise.reject(
    ApplicationFailure.create({
      type: 'MigrationFailed',
      nonRetryable: true,
      message: 'alembic upgrade failed: relation "plans" already exists',
    }),
  );

/** `pro` has no price id: the verification step must fail naming it. */
const proWithoutPriceId = (input: { codes: string[] }) =>
  Promise.resolve(
    okPlanRows(input.codes).map((row) =>
      row.code === 'pro' ? { ...row, status: 'missing_price_id' as const, stripe_price_id: null } : row,
    ),
  );

test('first failure stops the run; with nothing changed no compensation runs and the status stays failed', async () => {
  const mocks = mockActivities({
    preflight: { pendingRevisions: [] },
    overrides: { runMigrations: migrationFails },
  });
  const { failure, summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );

  expect(failure.type).toBe('ReleaseFailed');
  expect(failure.message).toContain('relation "plans" already exists');
  expect(summary.status).toBe('failed');
  expect(summary.steps.map((s) => [s.name, s.status])).toEqual([
    ['preflight', 'success'],
    ['migrations', 'failed'],
  ]);
  const migrations = stepOf(summary, 'migrations');
  expect(migrations.detail).toBe('alembic upgrade failed: relation "plans" already exists');
  expect(migrations.metadata).toEqual({ error_type: 'MigrationFailed' });
  expect(migrations.ended_at).not.toBeNull();
  expect(summary.error).toEqual({
    step: 'migrations',
    type: 'MigrationFailed',
    message: 'alembic upgrade failed: relation "plans" already exists',
  });
  expect(summary.compensations).toEqual([]);
  expect(mocks.names()).toEqual(['preflight', 'runMigrations', 'readReleaseEvidence']);
});

test('a failing migration run is downgraded to the revision preflight saw', async () => {
  const mocks = mockActivities({ overrides: { runMigrations: migrationFails } });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );

  expect(summary.steps.map((s) => s.name)).toEqual(['preflight', 'migrations']);
  expect(stepOf(summary, 'migrations').metadata).toEqual({ error_type: 'MigrationFailed' });
  // The set is read back first (no Python), then brought back to exactly the recorded set.
  expect(mocks.names()).toEqual([
    'preflight',
    'runMigrations',
    'captureAlembicRevision',
    'downgradeMigrations',
    'readReleaseEvidence',
  ]);
  expect(mocks.inputsOf('downgradeMigrations')).toEqual([{ toRevisions: [PRE_RELEASE_REVISION] }]);
  expect(summary.compensations.map((c) => [c.name, c.status])).toEqual([['migrations', 'success']]);
  expect(summary.status).toBe('rolled_back');
});

test('verification finds a plan that is not ok: step fails naming it; the schema is compensated first, then the rest newest first', async () => {
  const mocks = mockActivities({ overrides: { verifyBillingPlans: proWithoutPriceId } });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );

  const verification = stepOf(summary, 'billing_plan_verification');
  expect(verification.status).toBe('failed');
  expect(verification.detail).toContain('pro (missing_price_id)');
  expect(verification.detail).not.toContain('starter');
  expect(verification.metadata).toEqual({ error_type: 'PlanVerificationFailed' });
  expect(summary.billing_plans.map((p) => [p.code, p.status])).toEqual([
    ['starter', 'ok'],
    ['pro', 'missing_price_id'],
  ]);
  expect(mocks.names().filter((n) => (COMPENSATION_ACTIVITIES as readonly string[]).includes(n))).toEqual([
    'downgradeMigrations',
    'restorePriceIds',
    'rollbackStripePlans',
  ]);
  expect(mocks.names().at(-1)).toBe('readReleaseEvidence');
  expect(mocks.inputsOf('rollbackStripePlans')).toEqual([{ codes: ['starter', 'pro'] }]);
  expect(summary.compensations.map((c) => c.status)).not.toContain('failed');
  expect(summary.compensations.map((c) => c.name)).toEqual(['migrations', 'price_ids', 'stripe']);
  expect(summary.status).toBe('rolled_back');
});

test('a failing compensation gives rollback_failed with a manual action, and the others still run', async () => {
  const mocks = mockActivities({
    overrides: {
      verifyBillingPlans: proWithoutPriceId,
      rollbackStripePlans: () =>
        Promise.reject(
          ApplicationFailure.create({
            type: 'StripeInvalidRequest',
            nonRetryable: true,
            message: 'No such price: price_new_pro',
          }),
        ),
    },
  });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );

  expect(summary.status).toBe('rollback_failed');
  expect(mocks.names()).toEqual(expect.arrayContaining([...COMPENSATION_ACTIVITIES]));
  expect(mocks.names().filter((n) => (COMPENSATION_ACTIVITIES as readonly string[]).includes(n))).toEqual([
    ...COMPENSATION_ACTIVITIES,
  ]);
  const stripe = summary.compensations.find((c) => c.name === 'stripe');
  expect(stripe?.status).toBe('failed');
  expect(stripe?.detail).toBe('No such price: price_new_pro');
  expect(stripe?.manual_action).toEqual(expect.stringContaining('Stripe dashboard'));
  expect(summary.compensations.filter((c) => c.name !== 'stripe').map((c) => [c.name, c.status])).toEqual([
    ['migrations', 'success'],
    ['price_ids', 'success'],
  ]);
});

test('no_rollback: compensations are listed as skipped and none is called', async () => {
  const mocks = mockActivities({ overrides: { verifyBillingPlans: proWithoutPriceId } });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput({ options: { no_rollback: true } }))),
  );

  expect(summary.status).toBe('failed');
  expect(summary.compensations.map((c) => c.name).sort()).toEqual(['migrations', 'price_ids', 'stripe']);
  for (const c of summary.compensations) {
    expect(c.status).toBe('skipped');
    expect(c.detail).toContain('--no-rollback');
  }
  for (const name of COMPENSATION_ACTIVITIES) expect(mocks.names()).not.toContain(name);
});

test('downgradeMigrations receives the pre-release revision from preflight', async () => {
  const mocks = mockActivities({
    preflight: { currentRevision: 'f00dcafe0001' },
    overrides: { verifyBillingPlans: proWithoutPriceId },
  });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );

  expect(mocks.inputsOf('downgradeMigrations')).toEqual([{ toRevisions: ['f00dcafe0001'] }]);
  expect(summary.pre_release_revision).toBe('f00dcafe0001');
  expect(summary.compensations.find((c) => c.name === 'migrations')?.detail).toContain(
    'downgraded to f00dcafe0001',
  );
});

test('no migration compensation when preflight reported zero pending revisions', async () => {
  const mocks = mockActivities({
    preflight: { pendingRevisions: [] },
    overrides: { verifyBillingPlans: proWithoutPriceId },
  });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );

  expect(mocks.names()).not.toContain('downgradeMigrations');
  expect(mocks.names()).toContain('restorePriceIds');
  expect(summary.compensations.map((c) => c.name)).toEqual(['price_ids', 'stripe']);
  expect(summary.status).toBe('rolled_back');
});

test('cancellation during verification: compensations run and the release ends cancelled, not rolled_back', async () => {
  const verifyStarted = deferred();
  const releaseRestore = deferred();
  const mocks = mockActivities({
    overrides: {
      verifyBillingPlans: async () => {
        const activity = Context.current();
        verifyStarted.resolve();
        const beat = setInterval(() => activity.heartbeat(), 100);
        try {
          return await activity.cancelled;
        } finally {
          clearInterval(beat);
        }
      },
      restorePriceIds: async () => {
        await releaseRestore.promise;
        return [{ name: 'price_ids', status: 'success', detail: 'restored', manual_action: null }];
      },
    },
  });

  const { during, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(releaseInput());
    await verifyStarted.promise;
    await handle.cancel();
    await waitForStatus(handle, (s) => s.currentStep === 'compensation', 'the compensation phase');
    const mid = await handle.query(summaryQuery);
    releaseRestore.resolve();
    return { during: mid, ...(await releaseFailure(handle)) };
  });

  expect(during.status).toBe('cancelled');
  expect(summary.status).toBe('cancelled');
  expect(summary.error?.type).toBe('Cancelled');
  expect(stepOf(summary, 'billing_plan_verification').status).toBe('failed');
  expect(stepOf(summary, 'billing_plan_verification').metadata).toEqual({ error_type: 'Cancelled' });
  expect(summary.compensations.map((c) => [c.name, c.status])).toEqual([
    ['migrations', 'success'],
    ['price_ids', 'success'],
    ['stripe', 'success'],
  ]);
  expect(mocks.names().filter((n) => (COMPENSATION_ACTIVITIES as readonly string[]).includes(n))).toEqual([
    ...COMPENSATION_ACTIVITIES,
  ]);
});

// Issue 12 cases 1 and 5: a branched database and a merge whose downgrade raises.
const BRANCHED_PENDING: PendingRevision[] = [
  {
    revision: 'a2',
    message: 'a two',
    downRevisions: ['a1'],
    dependsOn: [],
    isMerge: false,
    isBranchPoint: false,
    downgrade: { status: 'ok', detail: null },
  },
  {
    revision: 'b2',
    message: 'b two',
    downRevisions: ['b1'],
    dependsOn: [],
    isMerge: false,
    isBranchPoint: false,
    downgrade: { status: 'ok', detail: null },
  },
  {
    revision: 'm1',
    message: 'merge',
    downRevisions: ['a2', 'b2'],
    dependsOn: [],
    isMerge: true,
    isBranchPoint: false,
    downgrade: { status: 'raises', detail: 'RuntimeError: merge cannot be undone' },
  },
];
const branched = {
  currentRevision: 'a1,b1',
  currentRevisions: ['a1', 'b1'],
  inspection: 'python' as const,
  heads: ['m1'],
  pendingRevisions: BRANCHED_PENDING,
};
const atSet = (revisions: string[]) => () =>
  Promise.resolve({ revision: revisions.join(','), raw: revisions.join(','), revisions });

test('a merge whose downgrade raises, once applied: the compensation is refused, price ids and Stripe are not put back, and the summary names the set the database stayed at', async () => {
  const mocks = mockActivities({
    preflight: branched,
    overrides: { verifyBillingPlans: proWithoutPriceId, captureAlembicRevision: atSet(['m1']) },
  });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );

  for (const name of COMPENSATION_ACTIVITIES) expect(mocks.names()).not.toContain(name);
  expect(summary.status).toBe('rollback_failed');
  expect(summary.pre_release_revisions).toEqual(['a1', 'b1']);
  expect(summary.pre_release_revision).toBe('a1,b1');
  expect(stepOf(summary, 'preflight').metadata).toMatchObject({
    inspection: 'python',
    revision_set: ['a1', 'b1'],
  });
  expect(summary.alembic_revisions).toEqual(['m1']);
  expect(summary.compensations.map((c) => [c.name, c.status])).toEqual([
    ['migrations', 'skipped'],
    ['price_ids', 'skipped'],
    ['stripe', 'skipped'],
  ]);
  const [migrations, priceIds] = summary.compensations;
  expect(migrations?.detail).toBe(
    'refused: the downgrade would stop half-way at m1 (downgrade raises: RuntimeError: merge cannot be undone); the database stayed at m1',
  );
  expect(migrations?.manual_action).toBe(
    'the database stayed at m1; write a working downgrade for m1 (or restore from backup), then bring it to {a1, b1} (alembic downgrade a1, then alembic downgrade b1)',
  );
  expect(priceIds?.detail).toContain('not run: the schema stayed at m1 (not back at {a1, b1})');
});

test('a release that failed before the raising merge was applied is brought back to exactly the recorded set', async () => {
  const mocks = mockActivities({
    preflight: branched,
    overrides: { runMigrations: migrationFails, captureAlembicRevision: atSet(['a2', 'b1']) },
  });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );

  expect(mocks.inputsOf('downgradeMigrations')).toEqual([{ toRevisions: ['a1', 'b1'] }]);
  expect(summary.status).toBe('rolled_back');
  expect(summary.alembic_revisions).toEqual(['a1', 'b1']);
});

test('a downgrade that still fails at run time: the set read back is reported and price ids are never restored over the new schema', async () => {
  const downgradeFails = () =>
    Promise.reject(
      ApplicationFailure.create({
        type: 'DowngradeFailed',
        nonRetryable: true,
        message:
          '`alembic downgrade a1` exited with 1: RuntimeError: boom; the database stayed at m1 (wanted {a1, b1})',
        details: [
          { command: 'alembic downgrade a1', exitCode: 1, durationMs: 5, output: '', revisions: ['m1'] },
        ],
      }),
    );
  const ready = BRANCHED_PENDING.map((r) => ({ ...r, downgrade: { status: 'ok' as const, detail: null } }));
  const mocks = mockActivities({
    preflight: { ...branched, pendingRevisions: ready },
    overrides: {
      verifyBillingPlans: proWithoutPriceId,
      captureAlembicRevision: atSet(['m1']),
      downgradeMigrations: downgradeFails,
    },
  });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );

  expect(mocks.names()).toContain('downgradeMigrations');
  expect(mocks.names()).not.toContain('restorePriceIds');
  expect(mocks.names()).not.toContain('rollbackStripePlans');
  expect(summary.status).toBe('rollback_failed');
  expect(summary.alembic_revisions).toEqual(['m1']);
  expect(summary.compensations.map((c) => [c.name, c.status])).toEqual([
    ['migrations', 'failed'],
    ['price_ids', 'skipped'],
    ['stripe', 'skipped'],
  ]);
  expect(summary.compensations[0]?.manual_action).toContain('the database stayed at m1;');
  expect(summary.compensations[1]?.manual_action).toContain('once the schema is back at {a1, b1}:');
});

test('a first release from base, undone: with the schema back at base, a billing_plans that no longer exists has nothing to restore', async () => {
  const tableGone = () =>
    Promise.reject(
      ApplicationFailure.create({
        type: 'BillingPlansTableInvalid',
        nonRetryable: true,
        message: 'billing_plans is not in the expected shape (relation "billing_plans" does not exist)',
      }),
    );
  const mocks = mockActivities({
    preflight: { currentRevision: null, currentRevisions: [] },
    overrides: {
      verifyBillingPlans: proWithoutPriceId,
      restorePriceIds: tableGone,
      captureAlembicRevision: () => Promise.resolve({ revision: 'x', raw: 'x', revisions: ['x'] }),
    },
  });
  const { summary } = await withWorker(ctx, mocks.activities, async (start) =>
    releaseFailure(await start(releaseInput())),
  );

  expect(mocks.inputsOf('downgradeMigrations')).toEqual([{ toRevisions: [] }]);
  expect(summary.compensations.map((c) => [c.name, c.status])).toEqual([
    ['migrations', 'success'],
    ['price_ids', 'success'],
    ['stripe', 'success'],
  ]);
  expect(summary.compensations[1]?.detail).toContain('does not exist at the revision set before the release');
  expect(summary.status).toBe('rolled_back');
});
