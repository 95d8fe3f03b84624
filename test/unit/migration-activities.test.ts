import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createMigrationActivities } from '../../src/activities/migrations';
import {
  readScope,
  transientDatabaseError,
  transientDatabaseFailure,
  withDb,
} from '../../src/activities/support';
import type { DbClient } from '../../src/activities/deps';
import { parseReleaseConfig } from '../../src/config/release-config';
import type { CommandOutcome } from '../../src/release/types';
import type { GuardEvent, RunRequest, RunResult } from '../../src/runtime/command-runner';
import { eventually } from '../support/eventually';
import {
  activityEnv,
  failureOf,
  fakeDeps,
  fakeRunner,
  removeTempDirs,
  runActivity,
  runResult,
} from '../support/fakes';

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

const ALEMBIC_INFO =
  'INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\nINFO  [alembic.runtime.migration] Will assume transactional DDL.';

function expectNoSecrets(text: string): void {
  for (const part of SECRET_PARTS) expect(text).not.toContain(part);
}

/**
 * The version table as the database holds it: each `select version_num` answers the next set of
 * `sets` (the last one stays); `null` is a database without the table.
 */
interface VersionDb extends DbClient {
  queries: string[];
}
function versionDb(sets: Array<string[] | null>): VersionDb {
  let index = 0;
  const db: VersionDb = {
    queries: [],
    query<R extends object>(sql: string, params?: unknown[]) {
      db.queries.push(params ? `${sql} ${JSON.stringify(params)}` : sql);
      const answer = (rows: object[]) => Promise.resolve({ rows: rows as R[], rowCount: rows.length });
      const set = sets[Math.min(index, sets.length - 1)] ?? null;
      if (sql.includes('to_regclass')) return answer([{ found: set ? 'alembic_version' : null }]);
      if (sql.includes('select version_num')) {
        index += 1;
        return answer((set ?? []).map((version_num) => ({ version_num })));
      }
      return answer([]);
    },
    end: () => Promise.resolve(),
  };
  return db;
}

function activitiesWith(
  respond: (line: string, request: RunRequest) => RunResult | undefined,
  migrateCommand?: string[],
  db: DbClient = versionDb([['20251106_120000']]),
) {
  const runner = fakeRunner(respond);
  const deps = fakeDeps({
    env: ENV,
    run: runner.run,
    projectRoot: '/srv/backend',
    loadConfig: () =>
      Promise.resolve(parseReleaseConfig(JSON.stringify(migrateCommand ? { migrateCommand } : {}))),
    connectDb: () => Promise.resolve(db),
  });
  return { runner, activities: createMigrationActivities(deps) };
}

function isOutcome(value: unknown): value is CommandOutcome {
  return (
    typeof value === 'object' &&
    value !== null &&
    'output' in value &&
    'exitCode' in value &&
    'command' in value
  );
}

describe('runMigrations', () => {
  const failingOutput = [
    'INFO  [alembic.runtime.migration] Running upgrade 20251106_120000 -> 20251107_090000, billing plans stripe price id',
    `connecting to postgresql+psycopg://app:${DB_PASSWORD}@db:5432/app with STRIPE_SECRET_KEY=${STRIPE_KEY}`,
    `sqlalchemy.exc.ProgrammingError: (psycopg.errors.UndefinedTable) relation "billing_plans" does not exist [password ${DB_PASSWORD}]`,
    '',
  ].join('\n');

  test('a non-zero exit is a non-retryable MigrationFailed naming the command, exit code and last output line, without secrets', async () => {
    const { activities } = activitiesWith(() =>
      runResult({ exitCode: 1, stderr: failingOutput, all: failingOutput }),
    );
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('MigrationFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(
      /^`just migrate` exited with 1: sqlalchemy\.exc\.ProgrammingError: .*relation "billing_plans" does not exist/,
    );
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
  test('reads every row of the version table through pg, starting no process', async () => {
    const db = versionDb([['b2_branch', 'a7_branch']]);
    const { runner, activities } = activitiesWith(() => undefined, undefined, db);
    expect(await runActivity(activityEnv(), activities.captureAlembicRevision)).toEqual({
      revision: 'a7_branch,b2_branch',
      raw: 'a7_branch,b2_branch',
      revisions: ['a7_branch', 'b2_branch'],
    });
    expect(runner.commands()).toEqual([]);
    expect(db.queries).toEqual([
      'select to_regclass($1)::text as found ["\\"alembic_version\\""]',
      'select version_num from "alembic_version"',
    ]);
  });

  test('a database without the version table is at base: the empty set', async () => {
    const { activities } = activitiesWith(() => undefined, undefined, versionDb([null]));
    expect(await runActivity(activityEnv(), activities.captureAlembicRevision)).toEqual({
      revision: null,
      raw: '',
      revisions: [],
    });
  });

  test('the configured versionTable, schema-qualified, is read as written', async () => {
    const db = versionDb([['r1']]);
    const runner = fakeRunner(() => undefined);
    const deps = fakeDeps({
      env: ENV,
      run: runner.run,
      loadConfig: () => Promise.resolve(parseReleaseConfig('{"versionTable": "app.alembic_version"}')),
      connectDb: () => Promise.resolve(db),
    });
    await runActivity(activityEnv(), createMigrationActivities(deps).captureAlembicRevision);
    expect(db.queries.at(-1)).toBe('select version_num from "app"."alembic_version"');
  });
});

describe('downgradeMigrations', () => {
  test('downgrades to the recorded revision and checks the database is there', async () => {
    const { runner, activities } = activitiesWith(
      (line) =>
        line === 'alembic -c alembic.ini downgrade 20251106_120000'
          ? runResult({ stderr: 'INFO  [alembic] Running downgrade' })
          : undefined,
      undefined,
      versionDb([['20251107_090000'], ['20251106_120000']]),
    );
    const outcome = await runActivity(activityEnv(), activities.downgradeMigrations, {
      toRevision: '20251106_120000',
    });
    expect(outcome).toMatchObject({
      command: 'alembic -c alembic.ini downgrade 20251106_120000',
      exitCode: 0,
      revisions: ['20251106_120000'],
    });
    expect(runner.commands()).toEqual(['alembic -c alembic.ini downgrade 20251106_120000']);
  });

  test('a release that started on an empty database downgrades to base', async () => {
    const { runner, activities } = activitiesWith(
      (line) => (line.endsWith('downgrade base') ? runResult({ stderr: ALEMBIC_INFO }) : undefined),
      undefined,
      versionDb([['20251107_090000'], null]),
    );
    await runActivity(activityEnv(), activities.downgradeMigrations, { toRevision: null });
    expect(runner.commands()).toEqual(['alembic -c alembic.ini downgrade base']);
  });

  test('a revision set is reached by one downgrade per member that is not a row yet, then read back', async () => {
    // Before the release: two branch heads; the release merged them and went on.
    const { runner, activities } = activitiesWith(
      () => runResult({}),
      undefined,
      versionDb([['m1_merge'], ['a1', 'b2'], ['a1', 'b1']]),
    );
    const outcome = await runActivity(activityEnv(), activities.downgradeMigrations, {
      toRevisions: ['b1', 'a1'],
    });
    expect(runner.commands()).toEqual([
      'alembic -c alembic.ini downgrade a1',
      'alembic -c alembic.ini downgrade b1',
    ]);
    expect(outcome).toMatchObject({
      command: 'alembic -c alembic.ini downgrade a1 && alembic -c alembic.ini downgrade b1',
      revisions: ['a1', 'b1'],
    });
  });

  test('a set already in place needs no command', async () => {
    const { runner, activities } = activitiesWith(() => undefined, undefined, versionDb([['a1', 'b1']]));
    await runActivity(activityEnv(), activities.downgradeMigrations, { toRevisions: ['a1', 'b1'] });
    expect(runner.commands()).toEqual([]);
  });

  test('a failing downgrade is a non-retryable DowngradeFailed naming the set the database stayed at and the exact commands, without secrets', async () => {
    const out = `RuntimeError: merge cannot be undone (db ${ENV.DATABASE_URL}, key ${STRIPE_KEY})`;
    const { runner, activities } = activitiesWith(
      () => runResult({ exitCode: 1, stderr: out, all: out }),
      undefined,
      versionDb([['m1_merge']]),
    );
    const failure = await failureOf(
      runActivity(activityEnv(), activities.downgradeMigrations, { toRevisions: ['a1', 'b1'] }),
    );
    expect(failure.type).toBe('DowngradeFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('exited with 1');
    expect(failure.message).toContain('RuntimeError: merge cannot be undone');
    expect(failure.message).toContain('the database stayed at m1_merge (wanted {a1, b1})');
    expect(failure.message).toContain(
      '`alembic -c alembic.ini downgrade a1` then `alembic -c alembic.ini downgrade b1`',
    );
    expect(failure.details[0]).toMatchObject({ revisions: ['m1_merge'] });
    expectNoSecrets(failure.message);
    expectNoSecrets(JSON.stringify(failure.details));
    expect(runner.commands()).toHaveLength(1);
  });

  test('a downgrade that exits 0 but leaves another set is DowngradeFailed naming both', async () => {
    // The wrong-rollback-reported-as-success of issue 12: one branch's revision was still there.
    const { activities } = activitiesWith(
      () => runResult({}),
      undefined,
      versionDb([['m1_merge'], ['a1', 'b2']]),
    );
    const failure = await failureOf(
      runActivity(activityEnv(), activities.downgradeMigrations, { toRevisions: ['a1', 'b1'] }),
    );
    expect(failure.type).toBe('DowngradeFailed');
    expect(failure.message).toContain('the database is at {a1, b2}, not {a1, b1}');
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
    expect(failure.message).toMatch(
      /^`just migrate` exited with 1: .*too many clients already.*\(the database has no free connection slots: retried\)$/,
    );
    expectNoSecrets(failure.message);
    expectNoSecrets(JSON.stringify(failure.details));
  });

  test('reading the revision set while the database restarts is retried too', async () => {
    const restarting: DbClient = {
      query: () =>
        Promise.reject(Object.assign(new Error('the database system is starting up'), { code: '57P03' })),
      end: () => Promise.resolve(),
    };
    const { activities } = activitiesWith(() => undefined, undefined, restarting);
    const failure = await failureOf(runActivity(activityEnv(), activities.captureAlembicRevision));
    expect(failure.nonRetryable).toBe(false);
  });

  test('downgrade: a lock held by another session is retried; the compensation is not given up', async () => {
    const locked =
      'sqlalchemy.exc.OperationalError: (psycopg.errors.LockNotAvailable) canceling statement due to lock timeout';
    const { activities } = activitiesWith(
      () => runResult({ exitCode: 1, stderr: locked, all: locked }),
      undefined,
      versionDb([['20251107_090000']]),
    );
    const failure = await failureOf(
      runActivity(activityEnv(), activities.downgradeMigrations, { toRevision: '20251106_120000' }),
    );
    expect(failure.type).toBe('DatabaseBusy');
    expect(failure.nonRetryable).toBe(false);
  });

  test.each([
    ['relation "billing_plans" does not exist', null],
    ['syntax error at or near "TABEL"', null],
    ['NotImplementedError: downgrade not supported', null],
    [
      'FATAL:  remaining connection slots are reserved for non-replication superuser connections',
      'the database has no free connection slots',
    ],
    [
      'connection to server at "db" (10.0.0.5), port 5432 failed: Connection refused',
      'the database refused the connection',
    ],
    ['server closed the connection unexpectedly', 'the database closed the connection'],
    [
      'could not translate host name "db" to address: Temporary failure in name resolution',
      'the database host name did not resolve',
    ],
    ['ERROR:  deadlock detected', 'the migration waited on a lock held by another session'],
  ])('%s → %s', (output, reason) => {
    expect(transientDatabaseError(output)).toBe(reason);
  });
});

describe('migrate and downgrade run under the migrate lock, bounded by the step, logged per attempt', () => {
  const guardEvent = (kind: GuardEvent['kind'], text: string): GuardEvent => ({ kind, text });

  test('runMigrations asks for the migrate lock, a log file beside the journal per attempt, and a deadline inside the step timeout', async () => {
    const { runner, activities } = activitiesWith((_, request) =>
      runResult({ stdout: 'ok', logFile: request.logFile ?? null }),
    );
    const env = new MockActivityEnvironment(
      {
        workflowExecution: { workflowId: 'release-db-prod', runId: 'r1' },
        activityId: '7',
        activityType: 'runMigrations',
        attempt: 3,
        startToCloseTimeoutMs: 1_800_000,
      },
      { logger: new DefaultLogger('ERROR') },
    );
    const outcome = await runActivity(env, activities.runMigrations);
    const request = runner.requests[0];
    expect(request?.exclusiveLock).toBe('migrate');
    expect(request?.logFile).toMatch(/\/release-db-prod--r1--runMigrations-attempt3\.log$/);
    expect(request?.timeoutMs).toBe(1_790_000);
    expect(outcome.logFile).toBe(request?.logFile);
  });

  test('downgrade holds the same lock', async () => {
    const { runner, activities } = activitiesWith(
      () => runResult({}),
      undefined,
      versionDb([['20251107_090000'], ['20251106_120000']]),
    );
    await runActivity(activityEnv(), activities.downgradeMigrations, { toRevision: '20251106_120000' });
    expect(runner.requests.map((r) => r.exclusiveLock ?? null)).toEqual(['migrate']);
  });

  test('the database unavailable for the lock is a retryable DatabaseUnreachable; the command never ran', async () => {
    const text = `cannot connect to DATABASE_URL to take the migrate lock: connect ECONNREFUSED 127.0.0.1:5432 (${ENV.DATABASE_URL})`;
    const { activities } = activitiesWith(() =>
      runResult({ exitCode: 75, stderr: text, all: text, guardEvents: [guardEvent('unavailable', text)] }),
    );
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('DatabaseUnreachable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(
      /^`just migrate` did not start: cannot connect to DATABASE_URL to take the migrate lock: .*ECONNREFUSED.*\(retried\)$/,
    );
    expectNoSecrets(failure.message);
  });

  test('the lock connection broken mid-migration: the guard stopped the command; retryable, saying so', async () => {
    const events = [
      guardEvent('started', '`just migrate` runs as pid 42 (process group 42)'),
      guardEvent(
        'lost-lock',
        'the database connection holding the migrate lock broke (Connection terminated unexpectedly); stopping `just migrate` so it never runs beside another',
      ),
      guardEvent('lost-lock', 'stopped; retry when the database is back'),
    ];
    const { activities } = activitiesWith(() => runResult({ exitCode: 75, guardEvents: events }));
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('DatabaseUnreachable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain(
      '`just migrate` was stopped: the database connection holding the migrate lock broke (Connection terminated unexpectedly)',
    );
  });

  test('a command exiting 75 by itself is its own failure, not the guard’s', async () => {
    const { activities } = activitiesWith(() =>
      runResult({
        exitCode: 75,
        all: 'RuntimeError: boom',
        guardEvents: [guardEvent('started', 'pid 1 (process group 1)')],
      }),
    );
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('MigrationFailed');
  });

  test('a hung migration stopped at the step deadline is a non-retryable MigrationFailed that says the whole tree was stopped', async () => {
    const { activities } = activitiesWith(() =>
      runResult({
        exitCode: 143,
        timedOut: true,
        interrupted: true,
        guardEvents: [guardEvent('started', 'pid 9 (process group 9)')],
      }),
    );
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('MigrationFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(
      /^`just migrate` ran past the step's time limit \(\d+ s\) and was stopped with its whole process tree \(SIGTERM, then SIGKILL\)/,
    );
  });

  test('still waiting for an earlier migrate at the deadline: retryable DatabaseBusy naming the holder', async () => {
    const waiting =
      'waiting for an earlier migrate still running, pid 4242 on worker-1 (database session 77)';
    const { activities } = activitiesWith(() =>
      runResult({
        exitCode: 143,
        timedOut: true,
        interrupted: true,
        guardEvents: [guardEvent('waiting', waiting)],
      }),
    );
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.type).toBe('DatabaseBusy');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain(waiting);
  });

  test('a cancelled migration is reported as cancelled, its tree stopped', async () => {
    const { activities } = activitiesWith(() =>
      runResult({ exitCode: 143, interrupted: true, timedOut: false }),
    );
    const failure = await failureOf(runActivity(activityEnv(), activities.runMigrations));
    expect(failure.name).toBe('CancelledFailure');
    expect(failure.message).toBe('`just migrate` was cancelled; its whole process tree was stopped');
  });

  test('without DATABASE_URL nothing runs: MissingDatabaseUrl', async () => {
    const runner = fakeRunner(() => runResult({}));
    const deps = fakeDeps({ env: { ENABLE_BILLING: 'true' }, run: runner.run });
    const failure = await failureOf(
      runActivity(activityEnv(), createMigrationActivities(deps).runMigrations),
    );
    expect(failure.type).toBe('MissingDatabaseUrl');
    expect(runner.requests).toHaveLength(0);
  });

  test('a runner that cannot start the guard is a non-retryable CommandFailed with the fix', async () => {
    const deps = fakeDeps({
      env: ENV,
      run: () =>
        Promise.reject(
          new Error(
            'the migrate guard is not built (dist/src/runtime/migrate-guard.js): run `npm run build`',
          ),
        ),
    });
    const failure = await failureOf(
      runActivity(activityEnv(), createMigrationActivities(deps).runMigrations),
    );
    expect(failure.type).toBe('CommandFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('run `npm run build`');
  });

  test('while the guard waits, the heartbeat says for what', async () => {
    const env = activityEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const waiting =
      'waiting for an earlier migrate still running, pid 4242 on worker-1 (database session 77)';
    // A runner that reports waiting, then returns once a heartbeat carried it.
    const deps = fakeDeps({
      env: ENV,
      run: async (request) => {
        request.onGuardEvent?.({ kind: 'waiting', text: waiting, holderPid: 4242 });
        const seen = () => beats.some((b) => (b as { waitingFor?: string }).waitingFor === waiting);
        await eventually(seen, { what: 'a heartbeat carrying the wait' });
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
    [
      pgError('terminating connection due to administrator command', '57P01'),
      'the database closed the connection',
    ],
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
    const deps = dbThrowing(
      pgError(`terminating connection due to administrator command (${ENV.DATABASE_URL})`, '57P01'),
    );
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
    const own = ApplicationFailure.create({
      type: 'PlanVerificationFailed',
      message: 'x',
      nonRetryable: true,
    });
    await expect(withDb(dbThrowing(own), scope, (db) => db.query('select 1'))).rejects.toBe(own);
  });
});
