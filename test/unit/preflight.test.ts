import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DbClient } from '../../src/activities/deps';
import {
  createPreflightActivities,
  targetMismatches,
  type PreflightClaims,
  type PreflightInput,
  type WorkerTarget,
} from '../../src/activities/preflight';
import { parseReleaseConfig } from '../../src/config/release-config';
import type { RunResult } from '../../src/runtime/command-runner';
import { fingerprintOf } from '../../src/runtime/inspection-cache';
import type { ApprovalPolicy } from '../../src/release/types';
import type { StripeGateway } from '../../src/activities/stripe-gateway';
import {
  activityEnv,
  failureOf,
  fakeDeps,
  fakeRunner,
  removeTempDirs,
  runActivity,
  runResult,
  tempDir,
} from '../support/fakes';

/** Preflight asks Stripe one thing, whether the key may do what a release does: a fake of just that. */
class FakeStripe {
  private calls = 0;
  private failure: Error | null = null;
  readonly factory = (): StripeGateway => {
    const gateway: Pick<StripeGateway, 'checkAuth'> = {
      checkAuth: () => {
        this.calls += 1;
        const failure = this.failure;
        this.failure = null;
        return failure ? Promise.reject(failure) : Promise.resolve();
      },
    };
    return gateway as StripeGateway;
  };
  failNext(error: Error): void {
    this.failure = error;
  }
  checkAuthCalls(): number {
    return this.calls;
  }
}

/** An error shaped as the Stripe SDK throws it. */
function stripeError(type: string, message: string, statusCode: number): Error {
  return Object.assign(new Error(message), { type, statusCode });
}

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
const ALEMBIC_INFO =
  'INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\nINFO  [alembic.runtime.migration] Will assume transactional DDL.';
const HISTORY =
  '20251106_120000 -> 20251107_090000 (head), billing plans stripe price id\n<base> -> 20251106_120000, billing plans\n';

interface Backend {
  /** The script heads the inspector reports. */
  heads?: string[];
  tag?: string | null;
  gitRepo?: boolean;
  override?: (line: string) => RunResult | undefined;
}

/** The sample's two revisions as tools/alembic_inspect.py describes them. */
const REVISIONS = [
  {
    revision: '20251106_120000',
    down_revisions: [],
    depends_on: [],
    branch_labels: [],
    is_merge: false,
    is_branch_point: false,
    message: 'billing plans',
    downgrade_body: 'code',
  },
  {
    revision: '20251107_090000',
    down_revisions: ['20251106_120000'],
    depends_on: [],
    branch_labels: [],
    is_merge: false,
    is_branch_point: false,
    message: 'billing plans stripe price id',
    downgrade_body: 'code',
  },
];

/** What the inspector prints for a database at `current` (a comma-separated set, empty: base). */
function inspection(current: string, heads: string[]) {
  const set = current ? current.split(',') : [];
  const order = REVISIONS.map((r) => r.revision);
  const applied = set.length === 0 ? -1 : Math.max(...set.map((c) => order.indexOf(c)));
  const pending = heads.length === 1 ? order.slice(applied + 1) : [];
  return {
    format: 'db-release-alembic-inspect/1',
    alembic_version: '1.20.1',
    python: '3.11.7',
    heads,
    current: set,
    unknown_current: set.filter((c) => !order.includes(c)),
    revisions: REVISIONS,
    pending,
    sql: {
      dialect: 'postgresql',
      upgrade: '',
      upgrade_errors: {},
      downgrades: Object.fromEntries(pending.map((r) => [r, { status: 'ok', detail: null }])),
    },
  };
}

/** The SQL document the inspector prints after the inspection (--upgrade-sql): each pending revision's SQL. */
const UPGRADE_SQL: Record<string, string> = {
  '20251106_120000':
    'BEGIN;\n\nCREATE TABLE billing_plans (id UUID NOT NULL, PRIMARY KEY (id));\n\nCOMMIT;\n',
  '20251107_090000':
    'BEGIN;\n\nALTER TABLE billing_plans ADD COLUMN stripe_price_id VARCHAR(128);\n\nCREATE INDEX ix_billing_plans_stripe_price_id ON billing_plans (stripe_price_id);\n\nCOMMIT;\n',
};
function renderedSql(pending: string[]) {
  return {
    format: 'db-release-alembic-sql/1',
    unavailable: null,
    revisions: Object.fromEntries(
      pending.map((r) => [
        r,
        {
          upgrade: UPGRADE_SQL[r] ?? null,
          upgrade_unavailable: null,
          downgrade: `DROP TABLE t_${r};\n`,
          downgrade_unavailable: null,
        },
      ]),
    ),
  };
}
/** Squawk's JSON for the files preflight writes (001_<rev>.sql ...): the CREATE INDEX of 20251107_090000 (0-based line 4). */
function squawkAnswer(line: string): RunResult | undefined {
  if (/squawk --version$/.test(line)) return runResult({ stdout: 'squawk 2.70.0\n' });
  const lint = /squawk --reporter json (.*)$/.exec(line);
  if (!lint) return undefined;
  const file = (lint[1] ?? '').split(' ').find((f) => f.endsWith('_20251107_090000.sql'));
  const violations = file
    ? [
        {
          file,
          line: 4,
          column: 0,
          line_end: 4,
          column_end: 80,
          level: 'Warning',
          message: 'During normal index creation, table updates are blocked',
          rule_name: 'require-concurrent-index-creation',
        },
        {
          file,
          line: 4,
          column: 0,
          line_end: 4,
          column_end: 80,
          level: 'Warning',
          message: 'Missing IF NOT EXISTS',
          rule_name: 'prefer-robust-stmts',
        },
      ]
    : [];
  return runResult({ exitCode: violations.length ? 1 : 0, stdout: JSON.stringify(violations) });
}

const INSPECT =
  /^python3 \S*tools\/alembic_inspect\.py --config alembic\.ini --current (\S*) --sql --upgrade-sql$/;

/** Answers the commands preflight runs as a backend checkout with Alembic would. */
function backend({ heads = ['20251107_090000'], tag = 'v1.4.0', gitRepo = true, override }: Backend = {}) {
  return (line: string): RunResult | undefined => {
    const special = override?.(line);
    if (special) return special;
    if (line === 'git rev-parse HEAD')
      return gitRepo
        ? runResult({ stdout: `${SHA}\n` })
        : runResult({ exitCode: 128, stderr: 'fatal: not a git repository' });
    if (line === 'git describe --tags --exact-match HEAD')
      return tag
        ? runResult({ stdout: `${tag}\n` })
        : runResult({ exitCode: 128, stderr: 'fatal: no tag exactly matches' });
    const inspect = INSPECT.exec(line);
    if (inspect) {
      const document = inspection(inspect[1] ?? '', heads);
      return runResult({
        stdout: `${JSON.stringify(document)}\n${JSON.stringify(renderedSql(document.pending))}\n`,
        stderr: ALEMBIC_INFO,
      });
    }
    const squawk = squawkAnswer(line);
    if (squawk) return squawk;
    if (line === 'alembic -c alembic.ini heads')
      return runResult({ stdout: heads.map((h) => `${h} (head)`).join('\n'), stderr: ALEMBIC_INFO });
    if (line.startsWith('alembic -c alembic.ini history -r '))
      return runResult({ stdout: HISTORY, stderr: ALEMBIC_INFO });
    return undefined;
  };
}

const NO_APPROVAL: ApprovalPolicy = { required: false, approvers: [], fourEyes: false, timeout: '24 hours' };
const CATALOG = [
  { code: 'starter', name: 'Starter', amount: 2000 },
  { code: 'pro', name: 'Pro', amount: 9900 },
];
const CLAIMS: PreflightClaims = {
  environment: 'staging',
  plans: [
    { code: 'starter', name: 'Starter', amount: 0 },
    { code: 'pro', name: 'Pro', amount: 9900 },
  ],
  approval: NO_APPROVAL,
  catalog: CATALOG,
  billingEnabled: true,
};
const HOLDER_ROW = {
  workflow_id: 'wf',
  run_id: 'run1',
  environment: 'staging',
  started_by: 'alice',
  acquired_at: new Date('2026-01-01T00:00:00Z'),
  expires_at: new Date('2026-01-01T00:05:00Z'),
};

/** A database answering preflight's statements: the lease (free unless `heldBy`), then `select version()`. */
interface LeaseDb extends DbClient {
  queries: string[];
  ended: boolean;
}
function leaseDb(
  heldBy: typeof HOLDER_ROW | null = null,
  versions: string[] | null = ['20251106_120000'],
): LeaseDb {
  const db: LeaseDb = {
    queries: [],
    ended: false,
    query<R extends object>(sql: string) {
      db.queries.push(sql.replace(/\s+/g, ' ').trim());
      const answer = (rows: object[]) => Promise.resolve({ rows: rows as R[], rowCount: rows.length });
      if (sql.includes('select version()'))
        return answer([{ version: 'PostgreSQL 16.4 on x86_64-pc-linux-gnu' }]);
      // The version table (every row: the revision set); null: no table, a database at base.
      if (sql.includes('to_regclass($1)')) return answer([{ found: versions ? 'alembic_version' : null }]);
      if (sql.includes('select version_num'))
        return answer((versions ?? []).map((version_num) => ({ version_num })));
      if (sql.includes('insert into db_release.lease')) return answer(heldBy ? [] : [HOLDER_ROW]);
      if (sql.includes('to_regclass')) return answer([{ found: 'db_release.lease' }]);
      if (sql.includes('from db_release.lease')) return answer(heldBy ? [heldBy] : []);
      return answer([]);
    },
    end() {
      db.ended = true;
      return Promise.resolve();
    },
  };
  return db;
}

/** A backend checkout on disk: preflight checks its Alembic config is there. */
function backendRoot(): string {
  const dir = tempDir('db-release-backend-');
  writeFileSync(path.join(dir, 'alembic.ini'), '[alembic]\n');
  return dir;
}

interface PreflightSetup {
  answers?: Backend;
  db?: LeaseDb;
  claims?: Partial<PreflightClaims>;
  config?: string;
  workerFlag?: string;
  projectRoot?: string;
  stripe?: FakeStripe;
}

function preflightWith(env: Record<string, string> = ENV, answers: Backend = {}, setup: PreflightSetup = {}) {
  const runner = fakeRunner(backend(answers));
  const urls: string[] = [];
  const db = setup.db ?? leaseDb();
  const stripe = setup.stripe ?? new FakeStripe();
  const deps = fakeDeps({
    env,
    run: runner.run,
    projectRoot: setup.projectRoot ?? backendRoot(),
    loadConfig: () => Promise.resolve(parseReleaseConfig(setup.config ?? '{}')),
    stripe: stripe.factory,
    ...(setup.workerFlag ? { environment: setup.workerFlag } : {}),
    connectDb: (url) => {
      urls.push(url);
      return Promise.resolve(db);
    },
  });
  const { preflight } = createPreflightActivities(deps);
  const input = (skipStripe: boolean): PreflightInput => ({
    skipStripe,
    claims: { ...CLAIMS, ...setup.claims },
    lease: { startedBy: 'alice', ttlMs: 300_000 },
  });
  return {
    runner,
    urls,
    db,
    stripe,
    run: (skipStripe = false) => runActivity(activityEnv(), preflight, input(skipStripe)),
  };
}

describe('preflight', () => {
  test('returns git facts, the Postgres version, the revision set, the pending revisions in apply order and masked secrets', async () => {
    const { run, urls, db } = preflightWith();
    const result = await run();
    expect(result).toEqual({
      gitSha: SHA,
      gitTag: 'v1.4.0',
      postgresVersion: 'PostgreSQL 16.4 on x86_64-pc-linux-gnu',
      heads: ['20251107_090000'],
      currentRevision: '20251106_120000',
      currentRevisions: ['20251106_120000'],
      alembicCommand: ['alembic', '-c', 'alembic.ini'],
      inspection: 'python',
      pendingRevisions: [
        {
          revision: '20251107_090000',
          message: 'billing plans stripe price id',
          downRevisions: ['20251106_120000'],
          dependsOn: [],
          isMerge: false,
          isBranchPoint: false,
          downgrade: { status: 'ok', detail: null },
        },
      ],
      billingEnabled: true,
      billingOffReason: null,
      environmentName: 'staging',
      stripeKeyMasked: 'sk_t…K42x',
      stripeWebhookSecretMasked: 'whse…W9zz',
      approval: NO_APPROVAL,
      lease: {
        workflowId: 'wf',
        runId: 'run1',
        environment: 'staging',
        startedBy: 'alice',
        acquiredAt: '2026-01-01T00:00:00.000Z',
        expiresAt: '2026-01-01T00:05:00.000Z',
      },
      sqlReview: {
        revisions: [
          {
            revision: '20251107_090000',
            upgrade: UPGRADE_SQL['20251107_090000'],
            upgradeUnavailable: null,
            downgrade: 'DROP TABLE t_20251107_090000;\n',
            downgradeUnavailable: null,
          },
        ],
        unavailable: null,
        flags: [
          {
            revision: '20251107_090000',
            kind: 'non-concurrent-index',
            rule: 'require-concurrent-index-creation',
            statement: 'CREATE INDEX ix_billing_plans_stripe_price_id ON billing_plans (stripe_price_id);',
            message: 'During normal index creation, table updates are blocked',
          },
        ],
        lint: { tool: 'squawk', version: 'squawk 2.70.0', unavailable: null },
        policy: { flags: 'allow', rules: {} },
        decision: { action: 'allow', reason: null },
      },
    });
    expect(urls).toEqual([DATABASE_URL]);
    expect(db.queries.filter((q) => q.startsWith('insert into db_release.lease'))).toHaveLength(1);
    expect(db.queries).toContain('select version() as version');
    expect(db.queries.at(-1)).toBe('select version_num from "alembic_version"');
    expect(db.ended).toBe(true);
    const json = JSON.stringify(result);
    for (const secret of [STRIPE_KEY, WEBHOOK_SECRET, DB_PASSWORD]) expect(json).not.toContain(secret);
  });

  test('one Python process in all: the inspection, given the set read through pg; no alembic CLI call', async () => {
    const { run, runner } = preflightWith();
    await run();
    const commands = runner.commands();
    // Squawk (the SQL review's linter) is a native binary, not a Python process.
    expect(commands.filter((c) => !c.startsWith('git ') && !/\bsquawk /.test(c))).toHaveLength(1);
    expect(commands.find((c) => c.startsWith('python3 '))).toMatch(
      /alembic_inspect\.py --config alembic\.ini --current 20251106_120000 --sql --upgrade-sql$/,
    );
    expect(commands.some((c) => c.startsWith('alembic '))).toBe(false);
  });

  test('every row of the version table is the set: several branch heads are all recorded and all given to the inspection', async () => {
    const { run, runner } = preflightWith(ENV, {}, { db: leaseDb(null, ['b1_branch', 'a1_branch']) });
    const failure = await failureOf(run());
    // The sample script does not have them: refused naming both, nothing changed.
    expect(failure.message).toContain('holds a1_branch, b1_branch, which this checkout');
    expect(runner.commands().find((c) => c.startsWith('python3 '))).toContain(
      '--current a1_branch,b1_branch --sql',
    );
  });

  test('an inspection stopped at its deadline before it printed anything says so, not that it printed nothing', async () => {
    const stopped = runResult({
      exitCode: 143,
      stdout: '',
      timedOut: true,
      interrupted: true,
      durationMs: 120_000,
    });
    const { run } = preflightWith(ENV, { override: (line) => (INSPECT.test(line) ? stopped : undefined) });
    const failure = await failureOf(run());
    expect(failure.message).toContain('ran past 120 s before printing its inspection and was stopped');
    expect(failure.message).not.toContain('printed no JSON document');
  });

  test('an empty database (no version table) is base: every revision pending', async () => {
    const { run, runner } = preflightWith(ENV, {}, { db: leaseDb(null, null) });
    const result = await run();
    expect(result.currentRevision).toBeNull();
    expect(result.currentRevisions).toEqual([]);
    expect(result.pendingRevisions.map((r) => r.revision)).toEqual(['20251106_120000', '20251107_090000']);
    expect(runner.commands().find((c) => c.startsWith('python3 '))).toMatch(
      /--current  --sql --upgrade-sql$/,
    );
  });

  test('a database at head has nothing pending', async () => {
    const { run } = preflightWith(ENV, {}, { db: leaseDb(null, ['20251107_090000']) });
    const result = await run();
    expect(result.pendingRevisions).toEqual([]);
  });

  test('an interpreter without alembic falls back to the alembic CLI, labelled, readiness unknown', async () => {
    const missing = JSON.stringify({
      format: 'db-release-alembic-inspect/1',
      error: 'alembic_not_importable',
      detail: "ModuleNotFoundError: No module named 'alembic'",
      python: '/usr/bin/python3',
    });
    const { run, runner } = preflightWith(ENV, {
      override: (line) => (INSPECT.test(line) ? runResult({ exitCode: 3, stdout: missing }) : undefined),
    });
    const result = await run();
    expect(result.inspection).toBe('cli-fallback');
    expect(result.pendingRevisions.map((r) => [r.revision, r.downgrade?.status])).toEqual([
      ['20251107_090000', 'unknown'],
    ]);
    expect(result.pendingRevisions[0]?.downgrade?.detail).toContain("No module named 'alembic'");
    expect(runner.commands()).toContain('alembic -c alembic.ini history -r 20251106_120000:head');
  });

  test('no git repository: sha and tag are null; an untagged commit has a null tag', async () => {
    expect(await preflightWith(ENV, { gitRepo: false }).run()).toMatchObject({ gitSha: null, gitTag: null });
    expect(await preflightWith(ENV, { tag: null }).run()).toMatchObject({ gitSha: SHA, gitTag: null });
  });

  test('two Alembic heads is a non-retryable MultipleAlembicHeads naming both', async () => {
    const { run } = preflightWith(ENV, { heads: ['20251107_090000', '20251107_100000'] });
    const failure = await failureOf(run());
    expect(failure.type).toBe('MultipleAlembicHeads');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('20251107_090000');
    expect(failure.message).toContain('20251107_100000');
    expect(failure.message).toContain('alembic merge heads');
  });

  test('no Alembic head at all is also MultipleAlembicHeads', async () => {
    const failure = await failureOf(preflightWith(ENV, { heads: [] }).run());
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
      connectDb: (url) =>
        Promise.reject(new Error(`connect ECONNREFUSED for ${url} (password ${DB_PASSWORD})`)),
    });
    const failure = await failureOf(
      runActivity(
        activityEnv(),
        createPreflightActivities({ ...deps, projectRoot: backendRoot() }).preflight,
        {
          skipStripe: false,
          claims: CLAIMS,
          lease: { startedBy: 'alice', ttlMs: 300_000 },
        },
      ),
    );
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
  ])(
    'billing on and %s missing is a non-retryable MissingStripeSecrets naming it',
    async (named, missing) => {
      const env: Record<string, string> = { ...ENV };
      for (const name of missing) delete env[name];
      const failure = await failureOf(preflightWith(env).run());
      expect(failure.type).toBe('MissingStripeSecrets');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message.startsWith(`${named} missing`)).toBe(true);
      expect(failure.message).toContain('--skip-stripe');
    },
  );

  test('missing Stripe secrets are fine with --skip-stripe', async () => {
    const env: Record<string, string> = { ...ENV };
    delete env.STRIPE_SECRET_KEY;
    delete env.STRIPE_WEBHOOK_SECRET;
    const result = await preflightWith(env).run(true);
    expect(result).toMatchObject({
      billingEnabled: true,
      stripeKeyMasked: null,
      stripeWebhookSecretMasked: null,
    });
  });

  test('missing Stripe secrets are fine with ENABLE_BILLING=false', async () => {
    const env: Record<string, string> = { ...ENV, ENABLE_BILLING: 'false' };
    delete env.STRIPE_SECRET_KEY;
    delete env.STRIPE_WEBHOOK_SECRET;
    const result = await preflightWith(env, {}, { claims: { billingEnabled: false } }).run();
    expect(result.billingEnabled).toBe(false);
    expect(result.billingOffReason).toBe('ENABLE_BILLING=false in .env.local');
  });

  test('ENABLE_BILLING that is neither true nor false is refused before the lease, naming the value, file and allowed values', async () => {
    const db = leaseDb();
    const { run, runner } = preflightWith({ ...ENV, ENABLE_BILLING: 'maybe' }, {}, { db });
    const failure = await failureOf(run());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('ENABLE_BILLING="maybe" in .env.local is neither true nor false');
    expect(failure.message).toContain('1/true/yes/on');
    expect(db.queries).toEqual([]);
    expect(runner.commands()).toEqual([]);
  });

  test('a failing inspection is a non-retryable CommandFailed with its output redacted', async () => {
    const out = `sqlalchemy.exc.ArgumentError: cannot parse postgresql+psycopg://app:${DB_PASSWORD}@db:5432/app`;
    const doc = JSON.stringify({ error: 'script_unusable', detail: out });
    const { run } = preflightWith(ENV, {
      override: (line) =>
        INSPECT.test(line)
          ? runResult({ exitCode: 4, stdout: doc, stderr: out, all: `${doc}\n${out}` })
          : undefined,
    });
    const failure = await failureOf(run());
    expect(failure.type).toBe('CommandFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('the Alembic inspection');
    expect(failure.message).toContain('ArgumentError');
    expect(failure.message).not.toContain(DB_PASSWORD);
  });

  test('the interpreter missing from PATH is CommandNotFound naming it', async () => {
    const { run } = preflightWith(ENV, {
      override: (line) =>
        line.startsWith('python3 ') ? runResult({ exitCode: -2, notFound: true }) : undefined,
    });
    const failure = await failureOf(run());
    expect(failure.type).toBe('CommandNotFound');
    expect(failure.message).toContain('"python3" was not found');
  });

  test('APP_ENV names the environment when ENVIRONMENT is absent', async () => {
    const env: Record<string, string> = { ...ENV, APP_ENV: 'qa' };
    delete env.ENVIRONMENT;
    expect((await preflightWith(env, {}, { claims: { environment: 'qa' } }).run()).environmentName).toBe(
      'qa',
    );
  });
});

describe('preflight: the worker is the authority on its target', () => {
  const STAGING_GATED = JSON.stringify({
    environments: {
      staging: { approval: { required: true, approvers: ['bob'], fourEyes: true, timeout: '2 hours' } },
    },
  });
  const GATED: ApprovalPolicy = { required: true, approvers: ['bob'], fourEyes: true, timeout: '2 hours' };

  test('another environment name is a non-retryable TargetMismatch naming both, before any connection or command', async () => {
    const { run, urls, runner } = preflightWith(ENV, {}, { claims: { environment: 'notprod' } });
    const failure = await failureOf(run());
    expect(failure.type).toBe('TargetMismatch');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('"notprod"');
    expect(failure.message).toContain('this worker serves "staging"');
    expect(urls).toEqual([]);
    expect(runner.commands()).toEqual([]);
  });

  test("the approval policy is the worker's, computed for its own environment", async () => {
    const result = await preflightWith(ENV, {}, { config: STAGING_GATED, claims: { approval: GATED } }).run();
    expect(result.approval).toEqual(GATED);
  });

  test("a caller claiming no approval where the worker's policy requires it is refused, naming both policies", async () => {
    const { run, urls } = preflightWith(ENV, {}, { config: STAGING_GATED });
    const failure = await failureOf(run());
    expect(failure.type).toBe('TargetMismatch');
    expect(failure.message).toContain("the caller's config says no approval");
    expect(failure.message).toContain(
      "the worker's says approval required (approvers bob, four-eyes on, timeout 2 hours)",
    );
    expect(urls).toEqual([]);
  });

  test('a catalog, plans or billing claim that differs from the backend is refused, naming both values', async () => {
    const catalog = await failureOf(
      preflightWith(
        ENV,
        {},
        { claims: { catalog: [{ code: 'starter', name: 'Starter', amount: 2000 }] } },
      ).run(),
    );
    expect(catalog.type).toBe('TargetMismatch');
    expect(catalog.message).toMatch(
      /catalog: the caller's release.config.json has \[starter\/Starter\/2000\] but the worker's backend has \[starter\/Starter\/2000, pro\/Pro\/9900\]/,
    );
    const plans = await failureOf(
      preflightWith(
        ENV,
        {},
        { claims: { catalog: undefined, plans: [{ code: 'gold', name: 'Gold', amount: 1 }] } },
      ).run(),
    );
    expect(plans.message).toContain(
      "plans: the release prices [gold] but the worker's catalog is [starter, pro]; unknown: gold; missing: starter, pro",
    );
    const billing = await failureOf(preflightWith(ENV, {}, { claims: { billingEnabled: false } }).run());
    expect(billing.message).toContain(
      "billing: the caller's env files have ENABLE_BILLING off but the worker's backend has it on",
    );
    // --skip-stripe makes the billing claim irrelevant
    expect(
      (await preflightWith(ENV, {}, { claims: { billingEnabled: false } }).run(true)).billingEnabled,
    ).toBe(true);
  });

  test('the worker flag names the environment; disagreeing with the env files is refused naming both', async () => {
    const env: Record<string, string> = { ...ENV };
    delete env.ENVIRONMENT;
    const flagged = await preflightWith(env, {}, { workerFlag: 'staging' }).run();
    expect(flagged.environmentName).toBe('staging');
    const failure = await failureOf(
      preflightWith(ENV, {}, { workerFlag: 'production', claims: { environment: 'production' } }).run(),
    );
    expect(failure.type).toBe('TargetMismatch');
    expect(failure.message).toContain('--environment "production" disagrees with ENVIRONMENT=staging');
    const none = await failureOf(preflightWith(env).run());
    expect(none.message).toContain('cannot tell which environment it serves');
  });

  test('a project root without the Alembic config is ProjectRootInvalid, before any connection', async () => {
    const { run, urls } = preflightWith(ENV, {}, { projectRoot: tempDir('db-release-empty-') });
    const failure = await failureOf(run());
    expect(failure.type).toBe('ProjectRootInvalid');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('alembic.ini is missing');
    expect(urls).toEqual([]);
  });

  test('a target leased by another release is a non-retryable TargetBusy naming the holder, and nothing else runs', async () => {
    const holder = {
      ...HOLDER_ROW,
      workflow_id: 'db-release-production',
      run_id: 'run-other',
      environment: 'production',
      started_by: 'carol',
    };
    const { run, runner, db, stripe } = preflightWith(ENV, {}, { db: leaseDb(holder) });
    const failure = await failureOf(run());
    expect(failure.type).toBe('TargetBusy');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(
      'workflow db-release-production (run run-other, environment production, started by carol',
    );
    expect(failure.message).toContain('db-release release watch db-release-production');
    expect(failure.details[0]).toMatchObject({
      workflowId: 'db-release-production',
      runId: 'run-other',
      startedBy: 'carol',
    });
    expect(runner.commands()).toEqual([]);
    expect(db.queries.some((q) => q.startsWith('select version()'))).toBe(false);
    expect(stripe.checkAuthCalls()).toBe(0);
  });

  test('the Stripe key must authenticate: checkAuth runs once; a refused key is StripeAuthentication, redacted', async () => {
    const ok = preflightWith();
    await ok.run();
    expect(ok.stripe.checkAuthCalls()).toBe(1);
    const skipped = preflightWith();
    await skipped.run(true);
    expect(skipped.stripe.checkAuthCalls()).toBe(0);
    const stripe = new FakeStripe();
    stripe.failNext(stripeError('StripeAuthenticationError', `Invalid API Key provided: ${STRIPE_KEY}`, 401));
    const failure = await failureOf(preflightWith(ENV, {}, { stripe }).run());
    expect(failure.type).toBe('StripeAuthentication');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).not.toContain(STRIPE_KEY);
  });
});

describe('targetMismatches', () => {
  const worker: WorkerTarget = {
    environment: 'production',
    catalog: CATALOG,
    billingEnabled: true,
    approval: NO_APPROVAL,
  };
  test('agreeing claims give no mismatch; the order of the catalog does not matter', () => {
    expect(
      targetMismatches(
        worker,
        { ...CLAIMS, environment: 'production', catalog: [...CATALOG].reverse() },
        false,
      ),
    ).toEqual([]);
  });
  test('a plan given twice or a negative amount is named', () => {
    const plans = [...CLAIMS.plans, { code: 'pro', name: 'Pro', amount: -1 }];
    const out = targetMismatches(worker, { ...CLAIMS, environment: 'production', plans }, false);
    expect(out.join('\n')).toContain('given twice: pro');
    expect(out.join('\n')).toContain('pro amount -1 is not a whole number of cents');
  });
});

describe('preflight: the SQL review policy', () => {
  const config = (action: string) =>
    JSON.stringify({ environments: { staging: { sqlReview: { flags: action } } } });

  test('refuse: the release is refused before any change, naming the revision, rule and statement; the Stripe key is not even checked', async () => {
    const stripe = new FakeStripe();
    const { run } = preflightWith(ENV, {}, { config: config('refuse'), stripe });
    const failure = await failureOf(run());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      'release refused, nothing was changed: refused by the SQL review policy: non-concurrent-index (require-concurrent-index-creation) in 20251107_090000: ' +
        'CREATE INDEX ix_billing_plans_stripe_price_id ON billing_plans (stripe_price_id);; change the migration, or set environments.staging.sqlReview in release.config.json',
    );
    expect(stripe.checkAuthCalls()).toBe(0);
  });

  test('require-approval: the decision travels in the result for the workflow to gate on', async () => {
    const result = await preflightWith(ENV, {}, { config: config('require-approval') }).run();
    expect(result.sqlReview?.decision.action).toBe('require-approval');
    expect(result.sqlReview?.flags.map((f) => f.kind)).toEqual(['non-concurrent-index']);
  });
});

describe('preflight: a database at the heads of an unchanged graph (issue 15)', () => {
  /**
   * A backend whose inspector reports where it read the graph from and its hash, as
   * tools/alembic_inspect.py does; `rehash()` takes the hash of the files as they are now.
   */
  function hashedBackend(versions: string[]) {
    const root = backendRoot();
    const dir = path.join(root, 'migrations', 'versions');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, '20251107_090000_price_id.py'), 'revision = "20251107_090000"\n');
    const where = { config_files: [path.join(root, 'alembic.ini')], version_dirs: [dir] };
    let fingerprint = '';
    const answers: Backend = {
      override: (line) => {
        const match = INSPECT.exec(line);
        if (!match) return undefined;
        const document = {
          ...inspection(match[1] ?? '', ['20251107_090000']),
          sources: { ...where, fingerprint },
        };
        return runResult({
          stdout: `${JSON.stringify(document)}\n${JSON.stringify(renderedSql(document.pending))}\n`,
        });
      },
    };
    const pre = preflightWith(ENV, answers, { projectRoot: root, db: leaseDb(null, versions) });
    return {
      ...pre,
      dir,
      rehash: async () => {
        fingerprint = await fingerprintOf(where);
        return fingerprint;
      },
      inspections: () => pre.runner.commands().filter((c) => c.includes('alembic_inspect.py')).length,
    };
  }

  test('the second preflight starts no Python and says whose inspection it reuses; an added revision file brings Python back', async () => {
    const backend = hashedBackend(['20251107_090000']);
    const fingerprint = await backend.rehash();
    const first = await backend.run();
    expect(first.inspection).toBe('python');
    expect(first.inspectionReused).toBeUndefined();
    expect(backend.inspections()).toBe(1);

    const second = await backend.run();
    expect(backend.inspections()).toBe(1);
    expect(second.inspection).toBe('unchanged');
    expect(second.inspectionReused).toEqual({ inspectedAt: expect.any(String), fingerprint });
    // What the release decides on is the same as the Python inspection's.
    expect(second.heads).toEqual(first.heads);
    expect(second.pendingRevisions).toEqual([]);
    expect(second.currentRevisions).toEqual(first.currentRevisions);
    expect(second.sqlReview).toEqual(first.sqlReview);
    // git, the lease and the version are still read every time.
    expect(backend.runner.commands().filter((c) => c === 'git rev-parse HEAD')).toHaveLength(2);

    writeFileSync(path.join(backend.dir, '20251201_000000_more.py'), 'revision = "20251201_000000"\n');
    await backend.rehash();
    const third = await backend.run();
    expect(backend.inspections()).toBe(2);
    expect(third.inspection).toBe('python');
  });

  test('a database with something pending always runs the inspection (readiness and SQL need Python)', async () => {
    const backend = hashedBackend(['20251106_120000']);
    await backend.rehash();
    const first = await backend.run();
    const second = await backend.run();
    expect(backend.inspections()).toBe(2);
    expect([first.inspection, second.inspection]).toEqual(['python', 'python']);
    expect(second.pendingRevisions.map((r) => r.revision)).toEqual(['20251107_090000']);
  });
});
