/**
 * PostgreSQL goes away (the case's own throwaway cluster, stopped with `pg_ctl -m immediate`: every
 * session cut at once). A short outage (20 s) is ridden out; one that does not end fails the
 * release cleanly, with the reason, and the database keeps only what was committed before.
 */
import { CASES } from './cases';
import { runCase, type CaseSpec, type FaultCase } from './support/fault-case';
import { eventually, faultDuration } from './support/eventually';
import { SAMPLE_HEAD } from './support/migrations';
import { PgCluster } from './support/pg-cluster';

const MINUTE = 60_000;
const SHORT_OUTAGE_MS = 20_000;

async function withCluster(
  spec: Omit<CaseSpec, 'cluster'>,
  body: (c: FaultCase, cluster: PgCluster) => Promise<void>,
): Promise<void> {
  const cluster = await PgCluster.create(spec.id);
  try {
    await runCase({ ...spec, cluster }, (c) => body(c, cluster));
  } finally {
    await cluster.destroy();
  }
}

test.concurrent(CASES.pgLongMigration.title, () =>
  withCluster(CASES.pgLongMigration, async (c, cluster) => {
    const run = c.startRelease();
    await c.waitForMigrationStart('20251201_000001');
    await cluster.stopImmediate();
    // the database never comes back while the release runs: migrate and then the downgrade
    // compensation spend their budgets and the release says what it could not undo
    const outcome = await c.outcomeOf(run, 13 * MINUTE);
    await cluster.start();
    const state = await c.snapshot();
    c.checkExit(outcome, ['rollback_failed'], 4);
    c.checkSummaryError(outcome, /database|connect|refused|closed/i);
    const migration = outcome.summary?.compensations.find((r) => r.name === 'migrations') ?? null;
    c.expect(
      'the migrations compensation is reported failed with a manual action',
      migration?.status === 'failed' && Boolean(migration.manual_action),
      migration,
      'failed + manual_action',
    );
    // what is really there: the sample revisions committed before the outage, the cut one never
    c.expect(
      'alembic_version rows: only what committed before the outage',
      JSON.stringify(state.alembicVersion) === JSON.stringify([SAMPLE_HEAD]),
      state.alembicVersion,
      [SAMPLE_HEAD],
    );
    c.expect(
      'the cut migration left no table',
      !state.tables.includes('fault_pg_long_migration'),
      state.tables,
      'no fault_pg_long_migration',
    );
    c.expect(
      '.env.local bytes as before (Stripe never reached)',
      state.envLocal === c.before.envLocal,
      state.envLocal,
      c.before.envLocal,
    );
    c.expect(
      'no Stripe object created',
      state.stripe.activeProducts.length === 0 && state.stripe.activePrices.length === 0,
      state.stripe,
      'none',
    );
    await c.checkCommon();
    await c.finish(outcome, state);
  }),
);

test.concurrent(CASES.pgLongPreflight.title, () =>
  withCluster(CASES.pgLongPreflight, async (c, cluster) => {
    await cluster.stopImmediate();
    const run = c.startRelease();
    const outcome = await c.outcomeOf(run, 12 * MINUTE);
    await cluster.start();
    const state = await c.snapshot();
    c.checkExit(outcome, ['failed'], 1);
    c.checkSummaryError(outcome, /database|connect|refused/i);
    c.expect(
      'failed at preflight',
      outcome.summary?.error?.step === 'preflight',
      outcome.summary?.error?.step ?? null,
      'preflight',
    );
    c.checkUnchanged(state);
    await c.checkCommon();
    await c.finish(outcome, state);
  }),
);

test.concurrent(CASES.pgShortMigration.title, () =>
  withCluster(CASES.pgShortMigration, async (c, cluster) => {
    const run = c.startRelease();
    await c.waitForMigrationStart('20251201_000001');
    await cluster.stopImmediate();
    await faultDuration(SHORT_OUTAGE_MS);
    await cluster.start();
    const outcome = await c.outcomeOf(run, 10 * MINUTE);
    const state = await c.snapshot();
    c.checkExit(outcome, ['success'], 0);
    c.checkReleased(state, outcome);
    await c.checkCommon();
    await c.finish(outcome, state);
  }),
);

test.concurrent(CASES.pgShortPreflight.title, () =>
  withCluster(CASES.pgShortPreflight, async (c, cluster) => {
    await cluster.stopImmediate();
    const run = c.startRelease();
    await eventually(() => c.activityAttempted('preflight'), {
      timeoutMs: 6 * MINUTE,
      what: 'preflight to run against the stopped database',
      describe: () => c.describeRelease(),
    });
    await faultDuration(SHORT_OUTAGE_MS);
    await cluster.start();
    const outcome = await c.outcomeOf(run, 10 * MINUTE);
    const state = await c.snapshot();
    c.checkExit(outcome, ['success'], 0);
    c.checkReleased(state, outcome);
    await c.checkCommon();
    await c.finish(outcome, state);
  }),
);
