import { createPreflightActivities } from '../../src/activities/preflight';
import type { RunResult } from '../../src/runtime/command-runner';
import { activityEnv, failureOf, fakeDb, fakeDeps, fakeRunner, removeTempDirs, runActivity, runResult, type FakeDb } from '../support/fakes';

afterAll(removeTempDirs);

const STRIPE_KEY = 'sk_test_51PREFLIGHTKEYMIDDLE_never_shown_K42x';
const WEBHOOK_SECRET = 'whsec_PREFLIGHTWEBHOOKMIDDLE_never_W9zz';
const DB_PASSWORD = 'Pw9_PREFLIGHTDBMIDDLE_never_Qq';
const DATABASE_URL = `postgresql+psycopg://app:${DB_PASSWORD}@db:5432/app`;
const ENV: Record<string, string> = {
  DATABASE_URL,
  ENABLE_BILLING: 'true',
  STRIPE_SECRET_KEY: STRIPE_KEY,
  STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  ENVIRONMENT: 'staging',
};
const SHA = '0123456789abcdef0123456789abcdef01234567';
const ALEMBIC_INFO = 'INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\nINFO  [alembic.runtime.migration] Will assume transactional DDL.';
const HISTORY = '20251106_120000 -> 20251107_090000 (head), billing plans stripe price id\n<base> -> 20251106_120000, billing plans\n';

interface Backend {
  heads?: string;
  current?: string;
  tag?: string | null;
  gitRepo?: boolean;
  override?: (line: string) => RunResult | undefined;
}

/** Answers the commands preflight runs as a backend checkout with Alembic would. */
function backend({ heads = '20251107_090000 (head)\n', current = '20251106_120000\n', tag = 'v1.4.0', gitRepo = true, override }: Backend = {}) {
  return (line: string): RunResult | undefined => {
    const special = override?.(line);
    if (special) return special;
    if (line === 'git rev-parse HEAD') return gitRepo ? runResult({ stdout: `${SHA}\n` }) : runResult({ exitCode: 128, stderr: 'fatal: not a git repository' });
    if (line === 'git describe --tags --exact-match HEAD') return tag ? runResult({ stdout: `${tag}\n` }) : runResult({ exitCode: 128, stderr: 'fatal: no tag exactly matches' });
    if (line === 'alembic -c alembic.ini heads') return runResult({ stdout: heads, stderr: ALEMBIC_INFO });
    if (line === 'alembic -c alembic.ini current') return runResult({ stdout: current, stderr: ALEMBIC_INFO });
    if (line.startsWith('alembic -c alembic.ini history -r ')) return runResult({ stdout: HISTORY, stderr: ALEMBIC_INFO });
    return undefined;
  };
}

function preflightWith(env: Record<string, string> = ENV, answers: Backend = {}, db: FakeDb = fakeDb()) {
  const runner = fakeRunner(backend(answers));
  const urls: string[] = [];
  const deps = fakeDeps({
    env,
    run: runner.run,
    connectDb: (url) => {
      urls.push(url);
      return Promise.resolve(db);
    },
  });
  const { preflight } = createPreflightActivities(deps);
  return {
    runner,
    urls,
    db,
    run: (skipStripe = false) => runActivity(activityEnv(), preflight, { skipStripe }),
  };
}

describe('preflight', () => {
  test('returns git facts, the Postgres version, the pending revisions in apply order and masked secrets', async () => {
    const { run, runner, urls, db } = preflightWith();
    const result = await run();
    expect(result).toEqual({
      gitSha: SHA,
      gitTag: 'v1.4.0',
      postgresVersion: 'PostgreSQL 16.4 on x86_64-pc-linux-gnu',
      heads: ['20251107_090000'],
      currentRevision: '20251106_120000',
      pendingRevisions: [{ revision: '20251107_090000', message: 'billing plans stripe price id' }],
      billingEnabled: true,
      environmentName: 'staging',
      stripeKeyMasked: 'sk_t…K42x',
      stripeWebhookSecretMasked: 'whse…W9zz',
    });
    expect(runner.commands()).toContain('alembic -c alembic.ini history -r 20251106_120000:head');
    expect(urls).toEqual([DATABASE_URL]);
    expect(db.queries).toEqual(['select version() as version']);
    expect(db.ended).toBe(true);
    const json = JSON.stringify(result);
    for (const secret of [STRIPE_KEY, WEBHOOK_SECRET, DB_PASSWORD]) expect(json).not.toContain(secret);
  });

  test('an empty database has every revision pending, from base', async () => {
    const { run, runner } = preflightWith(ENV, { current: '' });
    const result = await run();
    expect(result.currentRevision).toBeNull();
    expect(result.pendingRevisions.map((r) => r.revision)).toEqual(['20251106_120000', '20251107_090000']);
    expect(runner.commands()).toContain('alembic -c alembic.ini history -r base:head');
  });

  test('a database at head has nothing pending and needs no history', async () => {
    const { run, runner } = preflightWith(ENV, { current: '20251107_090000 (head)\n' });
    const result = await run();
    expect(result.pendingRevisions).toEqual([]);
    expect(runner.commands().some((c) => c.includes(' history '))).toBe(false);
  });

  test('no git repository: sha and tag are null; an untagged commit has a null tag', async () => {
    expect(await preflightWith(ENV, { gitRepo: false }).run()).toMatchObject({ gitSha: null, gitTag: null });
    expect(await preflightWith(ENV, { tag: null }).run()).toMatchObject({ gitSha: SHA, gitTag: null });
  });

  test('two Alembic heads is a non-retryable MultipleAlembicHeads naming both', async () => {
    const { run } = preflightWith(ENV, { heads: '20251107_090000 (head)\n20251107_100000 (head)\n' });
    const failure = await failureOf(run());
    expect(failure.type).toBe('MultipleAlembicHeads');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('20251107_090000');
    expect(failure.message).toContain('20251107_100000');
    expect(failure.message).toContain('alembic merge heads');
  });

  test('no Alembic head at all is also MultipleAlembicHeads', async () => {
    const failure = await failureOf(preflightWith(ENV, { heads: '' }).run());
    expect(failure.type).toBe('MultipleAlembicHeads');
    expect(failure.message).toContain('no head revision');
  });

  test('a missing DATABASE_URL is a non-retryable MissingDatabaseUrl, before any connection', async () => {
    const env: Record<string, string> = { ...ENV };
    delete env.DATABASE_URL;
    const { run, urls } = preflightWith(env);
    const failure = await failureOf(run());
    expect(failure.type).toBe('MissingDatabaseUrl');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('.env.local');
    expect(urls).toEqual([]);
  });

  test('a refused connection is a retryable DatabaseUnreachable without the password', async () => {
    const runner = fakeRunner(backend());
    const deps = fakeDeps({
      env: ENV,
      run: runner.run,
      connectDb: (url) => Promise.reject(new Error(`connect ECONNREFUSED for ${url} (password ${DB_PASSWORD})`)),
    });
    const failure = await failureOf(runActivity(activityEnv(), createPreflightActivities(deps).preflight, { skipStripe: false }));
    expect(failure.type).toBe('DatabaseUnreachable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain('ECONNREFUSED');
    expect(failure.message).not.toContain(DB_PASSWORD);
    expect(failure.message).not.toContain('PREFLIGHTDBMIDDLE');
  });

  test.each([
    ['STRIPE_SECRET_KEY', ['STRIPE_SECRET_KEY']],
    ['STRIPE_WEBHOOK_SECRET', ['STRIPE_WEBHOOK_SECRET']],
    ['STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET', ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET']],
  ])('billing on and %s missing is a non-retryable MissingStripeSecrets naming it', async (named, missing) => {
    const env: Record<string, string> = { ...ENV };
    for (const name of missing) delete env[name];
    const failure = await failureOf(preflightWith(env).run());
    expect(failure.type).toBe('MissingStripeSecrets');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message.startsWith(`${named} missing`)).toBe(true);
    expect(failure.message).toContain('--skip-stripe');
  });

  test('missing Stripe secrets are fine with --skip-stripe', async () => {
    const env: Record<string, string> = { ...ENV };
    delete env.STRIPE_SECRET_KEY;
    delete env.STRIPE_WEBHOOK_SECRET;
    const result = await preflightWith(env).run(true);
    expect(result).toMatchObject({ billingEnabled: true, stripeKeyMasked: null, stripeWebhookSecretMasked: null });
  });

  test('missing Stripe secrets are fine with ENABLE_BILLING=false', async () => {
    const env: Record<string, string> = { ...ENV, ENABLE_BILLING: 'false' };
    delete env.STRIPE_SECRET_KEY;
    delete env.STRIPE_WEBHOOK_SECRET;
    const result = await preflightWith(env).run();
    expect(result.billingEnabled).toBe(false);
  });

  test('a failing alembic command is a non-retryable CommandFailed with its output redacted', async () => {
    const out = `FAILED: cannot connect to postgresql+psycopg://app:${DB_PASSWORD}@db:5432/app`;
    const { run } = preflightWith(ENV, {
      override: (line) => (line.endsWith(' heads') ? runResult({ exitCode: 255, stderr: out, all: out }) : undefined),
    });
    const failure = await failureOf(run());
    expect(failure.type).toBe('CommandFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('`alembic -c alembic.ini heads` exited with 255');
    expect(failure.message).not.toContain(DB_PASSWORD);
  });

  test('alembic missing from PATH is CommandNotFound', async () => {
    const { run } = preflightWith(ENV, {
      override: (line) => (line.startsWith('alembic ') ? runResult({ exitCode: -2, notFound: true }) : undefined),
    });
    const failure = await failureOf(run());
    expect(failure.type).toBe('CommandNotFound');
    expect(failure.message).toContain('"alembic" was not found');
  });

  test('APP_ENV names the environment when ENVIRONMENT is absent', async () => {
    const env: Record<string, string> = { ...ENV, APP_ENV: 'qa' };
    delete env.ENVIRONMENT;
    expect((await preflightWith(env).run()).environmentName).toBe('qa');
  });
});
