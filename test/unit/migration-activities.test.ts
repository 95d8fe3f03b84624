import { createMigrationActivities } from '../../src/activities/migrations';
import { transientDatabaseError } from '../../src/activities/support';
import { parseReleaseConfig } from '../../src/config/release-config';
import type { CommandOutcome } from '../../src/release/types';
import type { RunResult } from '../../src/runtime/command-runner';
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

function activitiesWith(respond: (line: string) => RunResult | undefined, migrateCommand?: string[]) {
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
