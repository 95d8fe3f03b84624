/**
 * The worker is SIGKILLed at each point of the runbook (a separate OS process running the
 * compiled CLI's `worker` command) and started again; the release must end as if nothing had
 * happened: schema at head, one active price per lookup key, price ids everywhere, each
 * migration applied once, no process left behind.
 */
import pg from 'pg';
import { readFile } from 'node:fs/promises';
import { CASES } from './cases';
import { runCase, type FaultCase } from './support/fault-case';
import { eventually } from './support/eventually';

const MINUTE = 60_000;

async function expectReleased(
  c: FaultCase,
  run: ReturnType<FaultCase['startRelease']>,
  timeoutMs = 10 * MINUTE,
): Promise<void> {
  const outcome = await c.outcomeOf(run, timeoutMs);
  const state = await c.snapshot();
  c.checkExit(outcome, ['success'], 0);
  c.checkReleased(state, outcome);
  await c.checkCommon();
  await c.finish(outcome, state);
}

test.concurrent(CASES.killPreflight.title, () =>
  runCase(CASES.killPreflight, async (c) => {
    // every alembic call waits at import while held: preflight stops inside `alembic heads`
    await c.holdAlembic(true);
    const run = c.startRelease();
    await c.waitForActivity('preflight');
    await c.worker.kill9();
    await c.holdAlembic(false);
    await c.worker.start();
    await expectReleased(c, run);
  }),
);

test.concurrent(CASES.killPriceSync.title, () =>
  runCase(CASES.killPriceSync, async (c) => {
    const run = c.startRelease();
    // provisioning waits on its first write while the test locks the plan rows; the sync's
    // UPDATE then blocks after .env.local was already rewritten
    const held = await c.holdDuring('provisionStripePlans', (m) => m === 'POST', 'before');
    const lock = new pg.Client({ connectionString: c.databaseUrlForTests });
    await lock.connect();
    try {
      await lock.query('begin');
      await lock.query('select code from billing_plans for update');
      held.release();
      await c.waitForActivity('syncPriceIds');
      // the sync's UPDATE of billing_plans is waiting on the test's row lock
      await eventually(
        async () =>
          (
            await c.query<{ n: number }>(
              "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'update billing_plans%'",
            )
          )[0]?.n === 1,
        {
          timeoutMs: 2 * MINUTE,
          what: 'the price-id sync to wait on the billing_plans row lock',
          describe: () => c.describeRelease(),
        },
      );
      const envRewritten = /^STRIPE_PRODUCT_PRICE_MAP=/m.test(await readFile(c.envLocalPath, 'utf8'));
      c.notes.push(`at the kill .env.local was ${envRewritten ? 'already' : 'not yet'} rewritten`);
      await c.worker.kill9();
    } finally {
      await lock.query('rollback').catch(() => undefined);
      await lock.end();
    }
    await c.worker.start();
    await expectReleased(c, run);
  }),
);

test.concurrent(CASES.killMigration.title, () =>
  runCase(CASES.killMigration, async (c) => {
    // a second worker polls the same queue, so the retry comes as soon as the heartbeat times
    // out (30 s), while the orphaned migrate of the killed worker is still inside its 60 s
    await c.startStandbyWorker();
    const run = c.startRelease();
    await c.waitForMigrationStart('20251201_000001');
    // the migration is inside its 60 s pg_sleep, holding its transaction
    await eventually(
      async () =>
        (
          await c.query<{ n: number }>(
            "select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep(60)%'",
          )
        )[0]?.n === 1,
      { timeoutMs: 30_000, what: 'the 60 s migration to be sleeping in the database' },
    );
    const running = await eventually(() => c.workerRunning('runMigrations'), {
      timeoutMs: 30_000,
      what: 'the worker running runMigrations',
      describe: () => c.describeRelease(),
    });
    await running.kill9();
    await running.start();
    await expectReleased(c, run);
  }),
);

test.concurrent(CASES.killCompensation.title, () =>
  runCase(CASES.killCompensation, async (c) => {
    const run = c.startRelease();
    // verification fails (starter made inactive); the first Stripe archive of the compensation is held
    const held = await c.holdDuring(
      'rollbackStripePlans',
      (m, p) => m === 'POST' && /^\/v1\/(prices|products)\/[^/]+$/.test(p),
      'before',
      8 * MINUTE,
    );
    await c.worker.kill9();
    held.drop();
    await c.worker.start();
    const outcome = await c.outcomeOf(run, 10 * MINUTE);
    const state = await c.snapshot();
    c.checkExit(outcome, ['rolled_back'], 1);
    c.checkSummaryError(outcome, /starter/, 'PlanVerificationFailed');
    c.checkUnchanged(state);
    await c.checkCommon();
    await c.finish(outcome, state);
  }),
);

test.concurrent(CASES.killStripeCreate.title, () =>
  runCase(CASES.killStripeCreate, async (c) => {
    const run = c.startRelease();
    // the peer created the price; its answer is held, and the worker dies before hearing it
    const held = await c.holdDuring(
      'provisionStripePlans',
      (m, p) => m === 'POST' && p === '/v1/prices',
      'after',
    );
    await c.worker.kill9();
    held.drop();
    await c.worker.start();
    const outcome = await c.outcomeOf(run, 10 * MINUTE);
    const state = await c.snapshot();
    c.checkExit(outcome, ['success'], 0);
    c.checkReleased(state, outcome);

    // issue 11 item 2: the price created just before the crash must be undone by release rollback
    const rollback = await c.runCli([
      'release',
      'rollback',
      c.environment,
      '--json',
      '--operator',
      'dave',
      ...c.temporalArgs(),
    ]);
    let rolled: { status?: string } = {};
    try {
      rolled = JSON.parse(rollback.stdout) as { status?: string };
    } catch {
      rolled = { status: `unparsable stdout: ${rollback.stdout.slice(0, 200)}` };
    }
    c.expect(
      'release rollback exit code',
      rollback.code === 0,
      { code: rollback.code, stderr: rollback.stderr.slice(-800) },
      0,
    );
    c.expect('release rollback status', rolled.status === 'rolled_back', rolled.status, 'rolled_back');
    const after = await c.snapshot();
    c.checkUnchanged(after);
    await c.checkCommon();
    await c.finish(outcome, after);
  }),
);

test.concurrent(CASES.killBeforeStripe.title, () =>
  runCase(CASES.killBeforeStripe, async (c) => {
    const run = c.startRelease();
    // the first Stripe request of provisioning is held before it reaches the peer: alembic
    // current is done, Stripe has seen nothing of this release
    const held = await c.holdDuring('provisionStripePlans', () => true, 'before');
    const seen = c.proxy.requests.map((r) => `${r.method} ${r.path}`);
    // The key check's parameterless create probes are answered 400 parameter_missing: they write nothing.
    const writes = c.proxy.requests.filter((r) => r.method === 'POST' && r.status !== 400);
    c.expect(
      'no Stripe write before the kill',
      writes.length === 0,
      seen,
      'no POST but the key check probes (400)',
    );
    await c.worker.kill9();
    held.drop();
    await c.worker.start();
    await expectReleased(c, run);
  }),
);

test.concurrent(CASES.killAtGate.title, () =>
  runCase(CASES.killAtGate, async (c) => {
    const run = c.startRelease();
    await run.waitForStderr(/Approval required/);
    await c.waitAtGate();
    await c.worker.kill9();
    await c.worker.start();
    await c.waitAtGate();
    const approve = await c.runCli([
      'release',
      'approve',
      c.environment,
      '--approver',
      'bob',
      '--comment',
      'fault suite',
      ...c.temporalArgs(),
    ]);
    c.expect(
      'release approve exit code',
      approve.code === 0,
      { code: approve.code, stderr: approve.stderr.slice(-800) },
      0,
    );
    await expectReleased(c, run);
  }),
);
