import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createMigrationActivities } from '../../src/activities/migrations';
import { readScope, transientDatabaseError, transientDatabaseFailure, withDb } from '../../src/activities/support';
import { parseReleaseConfig } from '../../src/config/release-config';
import type { CommandOutcome } from '../../src/release/types';
import type { GuardEvent, RunRequest, RunResult } from '../../src/runtime/command-runner';
import { activityEnv, failureOf, fakeDeps, fakeRunner, removeTempDirs, runActivity, runResult } from '../support/fakes';

afterAll(removeTempDirs);

// Long enough that a mask showing first and last four characters never shows the middle.
const STRIPE_KEY = 'sk_test_51MIGRATIONKEYMIDDLE_never_shown_X987';
const DB_PASSWORD = 'Pw7_DBPASSWORDMIDDLE_never_qZ';
const ENV = {
  STRIPE_SECRET_KEY: STRIPE_KEY,
  DATABASE_URL: `postgresql+psycopg://app:${DB_PASSWORD}@db:5432/app`,
  ENABLE_BILLING: 'true',
};
const SECRET_PARTS = [STRIPE_KEY, DB_PASSWORD, 'MIGRATIONKEYMIDDLE', 'DBPASSWORDMIDDLE'];

const ALEMBIC_INFO = 'INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\nINFO  [alembic.runtime.migration] Will assume transactional DDL.';

function expectNoSecrets(text: string): void {
  for (const part of SECRET_PARTS) expect(text).not.toContain(part);
}

function activitiesWith(respond: (line: string, request: RunRequest) => RunResult | undefined, migrateCommand?: string[]) {
  const runner = fakeRunner(respond);
  const deps = fakeDeps({
    env: ENV,
    run: runner.run,
    projectRoot: '/srv/backend',
    loadConfig: () => Promise.resolve(parseReleaseConfig(JSON.stringify(migrateCommand ? { migrateCommand } : {}))),
  });
  return { runner, activities: createMigrationActivities(deps) };
}

function isOutcome(value: unknown): value is CommandOutcome {
  return typeof value === 'object' && value !== null && 'output' in value && 'exitCode' in value && 'command' in value;
}

describe('runMigrations', () => {
  const failingOutput = [
    'INFO  [alembic.runtime.migration] Running upgrade 20251106_120000 -> 20251107_090000, billing plans stripe price id',
    `connecting to postgresql+psycopg://app:${DB_PASSWORD}@db:5432/app with STRIPE_SECRET_KEY=${STRIPE_KEY}`,
    `sqlalchemy.exc.ProgrammingError: (psycopg.errors.UndefinedTable) relation "billing_plans" does not exist [password ${DB_PASSWORD}]`,
    '',
  ].join('\n');

  test('a non-zero exit is a non-retryable MigrationFailed naming the command, exit code and last output line, without secrets', async () => {
    const { activities } = activitiesWith(() => runResult({ exitCode: 1, stderr: failingOutput, all: failingOutput }));
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('MigrationFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^`just migrate` exited with 1: sqlalchemy\.exc\.ProgrammingError: .*relation "billing_plans" does not exist/);
    expectNoSecrets(failure.message);

    const outcome = failure.details[0];
    if (!isOutcome(outcome)) throw new Error('expected the command outcome in the failure details');
    expect(outcome).toMatchObject({ command: 'just migrate', exitCode: 1 });
    expect(outcome.output).toContain('postgresql+psycopg://app:***@db:5432/app');
    expect(outcome.output).toContain('relation "billing_plans" does not exist');
    expectNoSecrets(outcome.output);
    expectNoSecrets(JSON.stringify(failure));
  });

  test('runs the configured command in the project root with the backend env and a cancellation signal', async () => {
    const { runner, activities } = activitiesWith(() => runResult({ stdout: 'ok' }), ['make', 'db-migrate']);
    await runActivity(activityEnv(), activities.runMigrations);
    expect(runner.commands()).toEqual(['make db-migrate']);
    const request = runner.requests[0];
    expect(request?.cwd).toBe('/srv/backend');
    expect(request?.env).toMatchObject(ENV);
    expect(request?.signal).toBeInstanceOf(AbortSignal);
  });

  test('a missing program is a non-retryable CommandNotFound naming it', async () => {
    const { activities } = activitiesWith(() => runResult({ exitCode: -2, notFound: true }));
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('CommandNotFound');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('"just" was not found');
  });

  test('success returns the outcome with the output redacted', async () => {
    const output = `${ALEMBIC_INFO}\nusing ${ENV.DATABASE_URL}\nkey ${STRIPE_KEY}\nINFO  [alembic.runtime.migration] Running upgrade  -> 20251106_120000, billing plans\n`;
    const { activities } = activitiesWith(() => runResult({ stderr: output, all: output, durationMs: 1234 }));
    const outcome = await runActivity(activityEnv(), activities.runMigrations);
    expect(outcome).toMatchObject({ command: 'just migrate', exitCode: 0, durationMs: 1234 });
    expect(outcome.output).toContain('Running upgrade  -> 20251106_120000, billing plans');
    expect(outcome.output).toContain('postgresql+psycopg://app:***@db:5432/app');
    expectNoSecrets(outcome.output);
  });

  test('a very long output is cut to its tail', async () => {
    const output = `${'x'.repeat(10_000)}\nthe end\n`;
    const { activities } = activitiesWith(() => runResult({ all: output, stdout: output }));
    const outcome = await runActivity(activityEnv(), activities.runMigrations);
    expect(outcome.output.length).toBeLessThan(5_000);
    expect(outcome.output.endsWith('the end')).toBe(true);
  });
});

describe('captureAlembicRevision', () => {
  test('keeps the trimmed `alembic current` stdout, not the INFO lines on stderr', async () => {
    const { runner, activities } = activitiesWith((line) =>
      line === 'alembic -c alembic.ini current' ? runResult({ stdout: '20251107_090000 (head)\n', stderr: ALEMBIC_INFO }) : undefined,
    );
    expect(await runActivity(activityEnv(), activities.captureAlembicRevision)).toEqual({ revision: '20251107_090000 (head)', raw: '20251107_090000 (head)' });
    expect(runner.commands()).toEqual(['alembic -c alembic.ini current']);
  });

  test('an empty database has no revision', async () => {
    const { activities } = activitiesWith(() => runResult({ stderr: ALEMBIC_INFO }));
    expect(await runActivity(activityEnv(), activities.captureAlembicRevision)).toEqual({ revision: null, raw: '' });
  });

  test('a failing `alembic current` is a non-retryable CommandFailed without secrets', async () => {
    const out = `sqlalchemy.exc.OperationalError: connection to postgresql+psycopg://app:${DB_PASSWORD}@db:5432/app failed`;
    const { activities } = activitiesWith(() => runResult({ exitCode: 1, stderr: out, all: out }));
    const failure = await failureOf(runActivity(activityEnv(), activities.captureAlembicRevision));
    expect(failure.type).toBe('CommandFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('OperationalError');
    expectNoSecrets(failure.message);
  });
});

describe('downgradeMigrations', () => {
  test('downgrades to the recorded revision and checks the database is there', async () => {
    const { runner, activities } = activitiesWith((line) => {
      if (line === 'alembic -c alembic.ini downgrade 20251106_120000') return runResult({ stderr: 'INFO  [alembic] Running downgrade' });
      if (line === 'alembic -c alembic.ini current') return runResult({ stdout: '20251106_120000\n', stderr: ALEMBIC_INFO });
      return undefined;
    });
    const outcome = await runActivity(activityEnv(), activities.downgradeMigrations, { toRevision: '20251106_120000' });
    expect(outcome).toMatchObject({ command: 'alembic -c alembic.ini downgrade 20251106_120000', exitCode: 0 });
    expect(runner.commands()).toEqual(['alembic -c alembic.ini downgrade 20251106_120000', 'alembic -c alembic.ini current']);
  });

  test('a release that started on an empty database downgrades to base', async () => {
    const { runner, activities } = activitiesWith((line) =>
      line.endsWith('downgrade base') || line.endsWith(' current') ? runResult({ stderr: ALEMBIC_INFO }) : undefined,
    );
    await runActivity(activityEnv(), activities.downgradeMigrations, { toRevision: null });
    expect(runner.commands()[0]).toBe('alembic -c alembic.ini downgrade base');
  });

  test('a failing downgrade is a non-retryable DowngradeFailed that says what to restore, without secrets', async () => {
    const out = `NotImplementedError: downgrade not supported (db ${ENV.DATABASE_URL}, key ${STRIPE_KEY})`;
    const { runner, activities } = activitiesWith(() => runResult({ exitCode: 1, stderr: out, all: out }));
    const failure = await failureOf(runActivity(activityEnv(), activities.downgradeMigrations, { toRevision: '20251106_120000' }));
    expect(failure.type).toBe('DowngradeFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('exited with 1');
    expect(failure.message).toContain('NotImplementedError');
    expect(failure.message).toContain('restore the schema to 20251106_120000 by hand');
    expectNoSecrets(failure.message);
    expectNoSecrets(JSON.stringify(failure.details));
    expect(runner.commands()).toHaveLength(1);
  });

  test('a downgrade that exits 0 but leaves another revision is DowngradeFailed naming both', async () => {
    const { activities } = activitiesWith((line) =>
      line.endsWith(' current') ? runResult({ stdout: '20251107_090000 (head)\n' }) : runResult({}),
    );
    const failure = await failureOf(runActivity(activityEnv(), activities.downgradeMigrations, { toRevision: '20251106_120000' }));
    expect(failure.type).toBe('DowngradeFailed');
    expect(failure.message).toContain('the database is at 20251107_090000, not 20251106_120000');
  });
});

describe('a busy or briefly unreachable database is retried, not a failed release', () => {
  const busy = [
    'INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.',
    `psycopg.OperationalError: connection failed: FATAL:  sorry, too many clients already (${ENV.DATABASE_URL})`,
    '',
  ].join('\n');

  test('migrate: too many clients is a retryable DatabaseBusy that keeps the command and says why', async () => {
    const { activities } = activitiesWith(() => runResult({ exitCode: 1, stderr: busy, all: busy }));
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('DatabaseBusy');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(/^`just migrate` exited with 1: .*too many clients already.*\(the database has no free connection slots: retried\)$/);
    expectNoSecrets(failure.message);
    expectNoSecrets(JSON.stringify(failure.details));
  });

  test('alembic current while the database restarts is retried too', async () => {
    const restarting = 'psycopg.OperationalError: FATAL:  the database system is starting up';
    const { activities } = activitiesWith(() => runResult({ exitCode: 1, stderr: restarting, all: restarting }));
    const failure = await failureOf(runActivity(activityEnv(), activities.captureAlembicRevision));
    expect(failure.type).toBe('DatabaseBusy');
    expect(failure.nonRetryable).toBe(false);
  });

  test('downgrade: a lock held by another session is retried; the compensation is not given up', async () => {
    const locked = 'sqlalchemy.exc.OperationalError: (psycopg.errors.LockNotAvailable) canceling statement due to lock timeout';
    const { activities } = activitiesWith(() => runResult({ exitCode: 1, stderr: locked, all: locked }));
    const failure = await failureOf(runActivity(activityEnv(), activities.downgradeMigrations, { toRevision: '20251106_120000' }));
    expect(failure.type).toBe('DatabaseBusy');
    expect(failure.nonRetryable).toBe(false);
  });

  test.each([
    ['relation "billing_plans" does not exist', null],
    ['syntax error at or near "TABEL"', null],
    ['NotImplementedError: downgrade not supported', null],
    ['FATAL:  remaining connection slots are reserved for non-replication superuser connections', 'the database has no free connection slots'],
    ['connection to server at "db" (10.0.0.5), port 5432 failed: Connection refused', 'the database refused the connection'],
    ['server closed the connection unexpectedly', 'the database closed the connection'],
    ['could not translate host name "db" to address: Temporary failure in name resolution', 'the database host name did not resolve'],
    ['ERROR:  deadlock detected', 'the migration waited on a lock held by another session'],
  ])('%s → %s', (output, reason) => {
    expect(transientDatabaseError(output)).toBe(reason);
  });
});

describe('migrate and downgrade run under the migrate lock, bounded by the step, logged per attempt', () => {
  const guardEvent = (kind: GuardEvent['kind'], text: string): GuardEvent => ({ kind, text });

  test('runMigrations asks for the migrate lock, a log file beside the journal per attempt, and a deadline inside the step timeout', async () => {
    const { runner, activities } = activitiesWith((_, request) => runResult({ stdout: 'ok', logFile: request.logFile ?? null }));
    const env = new MockActivityEnvironment(
      { workflowExecution: { workflowId: 'release-db-prod', runId: 'r1' }, activityId: '7', activityType: 'runMigrations', attempt: 3, startToCloseTimeoutMs: 1_800_000 },
      { logger: new DefaultLogger('ERROR') },
    );
    const outcome = await runActivity(env, activities.runMigrations);
    const request = runner.requests[0];
    expect(request?.exclusiveLock).toBe('migrate');
    expect(request?.logFile).toMatch(/\/release-db-prod--r1--runMigrations-attempt3\.log$/);
    expect(request?.timeoutMs).toBe(1_790_000);
    expect(outcome.logFile).toBe(request?.logFile);
  });

  test('downgrade holds the same lock; alembic current does not', async () => {
    const { runner, activities } = activitiesWith((line) =>
      line.endsWith(' current') ? runResult({ stdout: '20251106_120000\n' }) : runResult({}),
    );
    await runActivity(activityEnv(), activities.downgradeMigrations, { toRevision: '20251106_120000' });
    expect(runner.requests.map((r) => r.exclusiveLock ?? null)).toEqual(['migrate', null]);
  });

  test('the database unavailable for the lock is a retryable DatabaseUnreachable; the command never ran', async () => {
    const text = `cannot connect to DATABASE_URL to take the migrate lock: connect ECONNREFUSED 127.0.0.1:5432 (${ENV.DATABASE_URL})`;
    const { activities } = activitiesWith(() => runResult({ exitCode: 75, stderr: text, all: text, guardEvents: [guardEvent('unavailable', text)] }));
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('DatabaseUnreachable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(/^`just migrate` did not start: cannot connect to DATABASE_URL to take the migrate lock: .*ECONNREFUSED.*\(retried\)$/);
    expectNoSecrets(failure.message);
  });

  test('the lock connection broken mid-migration: the guard stopped the command; retryable, saying so', async () => {
    const events = [
      guardEvent('started', '`just migrate` runs as pid 42 (process group 42)'),
      guardEvent('lost-lock', 'the database connection holding the migrate lock broke (Connection terminated unexpectedly); stopping `just migrate` so it never runs beside another'),
      guardEvent('lost-lock', 'stopped; retry when the database is back'),
    ];
    const { activities } = activitiesWith(() => runResult({ exitCode: 75, guardEvents: events }));
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('DatabaseUnreachable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain('`just migrate` was stopped: the database connection holding the migrate lock broke (Connection terminated unexpectedly)');
  });

  test('a command exiting 75 by itself is its own failure, not the guard’s', async () => {
    const { activities } = activitiesWith(() => runResult({ exitCode: 75, all: 'RuntimeError: boom', guardEvents: [guardEvent('started', 'pid 1 (process group 1)')] }));
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('MigrationFailed');
  });

  test('a hung migration stopped at the step deadline is a non-retryable MigrationFailed that says the whole tree was stopped', async () => {
    const { activities } = activitiesWith(() =>
      runResult({ exitCode: 143, timedOut: true, interrupted: true, guardEvents: [guardEvent('started', 'pid 9 (process group 9)')] }),
    );
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('MigrationFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^`just migrate` ran past the step's time limit \(\d+ s\) and was stopped with its whole process tree \(SIGTERM, then SIGKILL\)/);
  });

  test('still waiting for an earlier migrate at the deadline: retryable DatabaseBusy naming the holder', async () => {
    const waiting = 'waiting for an earlier migrate still running, pid 4242 on worker-1 (database session 77)';
    const { activities } = activitiesWith(() => runResult({ exitCode: 143, timedOut: true, interrupted: true, guardEvents: [guardEvent('waiting', waiting)] }));
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('DatabaseBusy');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain(waiting);
  });

  test('a cancelled migration is reported as cancelled, its tree stopped', async () => {
    const { activities } = activitiesWith(() => runResult({ exitCode: 143, interrupted: true, timedOut: false }));
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.name).toBe('CancelledFailure');
    expect(failure.message).toBe('`just migrate` was cancelled; its whole process tree was stopped');
  });

  test('without DATABASE_URL nothing runs: MissingDatabaseUrl', async () => {
    const runner = fakeRunner(() => runResult({}));
    const deps = fakeDeps({ env: { ENABLE_BILLING: 'true' }, run: runner.run });
    const failure = await failureOf(runActivity(activityEnv(), createMigrationActivities(deps).runMigrations));
    expect(failure.type).toBe('MissingDatabaseUrl');
    expect(runner.requests).toHaveLength(0);
  });

  test('a runner that cannot start the guard is a non-retryable CommandFailed with the fix', async () => {
    const deps = fakeDeps({ env: ENV, run: () => Promise.reject(new Error('the migrate guard is not built (dist/src/runtime/migrate-guard.js): run `npm run build`')) });
    const failure = await failureOf(runActivity(activityEnv(), createMigrationActivities(deps).runMigrations));
    expect(failure.type).toBe('CommandFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('run `npm run build`');
  });

  test('while the guard waits, the heartbeat says for what', async () => {
    const env = activityEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const waiting = 'waiting for an earlier migrate still running, pid 4242 on worker-1 (database session 77)';
    // A runner that reports waiting, then returns once a heartbeat carried it.
    const deps = fakeDeps({
      env: ENV,
      run: async (request) => {
        request.onGuardEvent?.({ kind: 'waiting', text: waiting, holderPid: 4242 });
        const seen = () => beats.some((b) => (b as { waitingFor?: string }).waitingFor === waiting);
        const deadline = Date.now() + 10_000;
        while (!seen() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        return runResult({});
      },
    });
    await runActivity(env, createMigrationActivities(deps).runMigrations);
    expect(beats).toContainEqual(expect.objectContaining({ command: 'just migrate', waitingFor: waiting }));
  });
});

describe('database client errors: transient ones retry, real ones do not', () => {
  const pgError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

  test.each([
    [pgError('terminating connection due to administrator command', '57P01'), 'the database closed the connection'],
    [pgError('the database system is not yet accepting connections', '57P03'), 'the database is restarting'],
    [pgError('Connection terminated unexpectedly'), 'the database closed the connection'],
    [pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), 'the database refused the connection'],
    [pgError('could not serialize access due to concurrent update', '40001'), 'the database reported 40001'],
    [pgError('relation "billing_plans" does not exist', '42P01'), null],
    [pgError('duplicate key value violates unique constraint', '23505'), null],
  ])('%s → %s', (error, reason) => {
    expect(transientDatabaseFailure(error)).toBe(reason);
  });

  const dbThrowing = (error: Error) =>
    fakeDeps({
      env: ENV,
      connectDb: () =>
        Promise.resolve({
          query: () => Promise.reject(error),
          end: () => Promise.resolve(),
        }),
    });

  test('withDb: a server restart mid-query is a retryable DatabaseBusy without the password', async () => {
    const deps = dbThrowing(pgError(`terminating connection due to administrator command (${ENV.DATABASE_URL})`, '57P01'));
    const scope = await readScope(deps);
    const failure = await failureOf(withDb(deps, scope, (db) => db.query('select 1')));
    expect(failure.type).toBe('DatabaseBusy');
    expect(failure.nonRetryable).toBe(false);
    expectNoSecrets(failure.message);
  });

  test('withDb: a real SQL error and the activity’s own failures pass through unchanged', async () => {
    const sqlError = pgError('relation "billing_plans" does not exist', '42P01');
    const deps = dbThrowing(sqlError);
    const scope = await readScope(deps);
    await expect(withDb(deps, scope, (db) => db.query('select 1'))).rejects.toBe(sqlError);
    const own = ApplicationFailure.create({ type: 'PlanVerificationFailed', message: 'x', nonRetryable: true });
    await expect(withDb(dbThrowing(own), scope, (db) => db.query('select 1'))).rejects.toBe(own);
  });
});
