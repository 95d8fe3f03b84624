/**
 * Issue 14: every malformed input a user can give (flags of every command, env files and their
 * values, release.config.json) ends in one line naming what is wrong and the fix, exit 2, and no
 * workflow started or decision sent. The compiled CLI is spawned as an operator runs it, in
 * parallel batches, against workers with fake activities (a valid input would start a release:
 * the control row proves it). Then the README's exit-code table, one real case per code.
 */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { releaseDb } from '../../src/workflows';
import { gateQuery } from '../../src/workflows/messages';
import { repoRoot } from '../../src/devstack/paths';
import { cliEnv, cliPath, runCli, startCli, type CliResult } from '../support/cli';
import { eventually } from '../support/eventually';
import { temporalTestContext, testAddress, uniqueName, type TemporalTestContext } from '../support/temporal';
import { mockActivities } from '../workflow/mock-activities';
import { releaseInput } from '../workflow/harness';

const SECRET_KEY = 'sk_test_BadInputTableSecret0123456789';
const WEBHOOK_SECRET = 'whsec_BadInputTableWebhook0123456789';
const DB_PASSWORD = 'badInputDbPassw0rd';

let ctx: TemporalTestContext;
let scratch: string;
const workers: Array<{ worker: Worker; running: Promise<void> }> = [];
/** Every table row runs against this queue, polled by a worker that would run any release started. */
const tableQueue = uniqueName('bad-input');
/** A release waiting at its gate here (approval required), for the approve/reject/cancel rows. */
const gateQueue = uniqueName('bad-input-gate');
/** Releases here fail their migration and then their downgrade: rollback_failed. */
const failQueue = uniqueName('bad-input-fail');
/** Nobody polls this queue. */
const unpolledQueue = uniqueName('bad-input-nobody');
const gateEnv = uniqueName('gate');
const gateId = `db-release-${gateEnv}`;
const unpolledId = `db-release-${uniqueName('unpolled')}`;

beforeAll(async () => {
  ctx = await temporalTestContext();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'db-release-bad-input-'));
  const start = async (taskQueue: string, activities: ReturnType<typeof mockActivities>['activities']) => {
    const worker = await Worker.create({
      connection: ctx.nativeConnection,
      taskQueue,
      workflowBundle: ctx.bundle,
      activities,
    });
    workers.push({ worker, running: worker.run() });
  };
  const gated = { required: true, approvers: [], fourEyes: false, timeout: '1 hour' };
  await start(tableQueue, mockActivities().activities);
  await start(gateQueue, mockActivities({ preflight: { approval: gated } }).activities);
  const failing = (type: string, message: string) => () =>
    Promise.reject(ApplicationFailure.create({ type, nonRetryable: true, message }));
  await start(
    failQueue,
    mockActivities({
      overrides: {
        runMigrations: failing('MigrationFailed', 'relation "plans" already exists'),
        downgradeMigrations: failing('MigrationFailed', 'downgrade raised'),
      },
    }).activities,
  );
  const gate = await ctx.client.workflow.start<typeof releaseDb>('releaseDb', {
    taskQueue: gateQueue,
    workflowId: gateId,
    args: [releaseInput({ environment: gateEnv, approval: gated })],
  });
  await waitFor(async () => (await gate.query(gateQuery)).open, `${gateId} to open its gate`);
  await ctx.client.workflow.start<typeof releaseDb>('releaseDb', {
    taskQueue: unpolledQueue,
    workflowId: unpolledId,
    args: [releaseInput()],
  });
});

afterAll(async () => {
  for (const id of [gateId, unpolledId])
    await ctx?.client.workflow
      .getHandle(id)
      .terminate('bad-input test over')
      .catch(() => undefined);
  for (const { worker } of workers) worker.shutdown();
  await Promise.all(workers.map((w) => w.running));
  await ctx?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Polls `check` until it holds (bounded: about 20 s), for state kept by the server. */
async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  await eventually(check, { what, timeoutMs: 20_000, intervalMs: 100 });
}

interface BackendSpec {
  /** release.config.json: an object (JSON), raw text, 'dir' for a directory, or absent. */
  config?: object | string;
  /** Extra .env.local lines, or 'dir' for a directory. */
  envLocal?: string;
}

const backendCount = { n: 0 };
/** A minimal backend checkout for the CLI's input checks: env files and release.config.json. */
async function backend(spec: BackendSpec = {}, environment = uniqueName('env')): Promise<string> {
  const dir = path.join(scratch, `backend-${backendCount.n++}`);
  await mkdir(dir, { recursive: true });
  const base = [
    `ENVIRONMENT=${environment}`,
    'ENABLE_BILLING=true',
    `DATABASE_URL=postgresql://app:${DB_PASSWORD}@127.0.0.1:5432/app`,
    `STRIPE_SECRET_KEY=${SECRET_KEY}`,
    `STRIPE_WEBHOOK_SECRET=${WEBHOOK_SECRET}`,
  ];
  if (spec.envLocal === 'dir') {
    await writeFile(path.join(dir, '.env.compose'), `${base.join('\n')}\n`);
    await mkdir(path.join(dir, '.env.local'));
  } else {
    await writeFile(
      path.join(dir, '.env.local'),
      `${[...base, ...(spec.envLocal ? [spec.envLocal] : [])].join('\n')}\n`,
    );
  }
  const configFile = path.join(dir, 'release.config.json');
  if (spec.config === 'dir') await mkdir(configFile);
  else if (typeof spec.config === 'string') await writeFile(configFile, spec.config);
  else if (spec.config) await writeFile(configFile, JSON.stringify(spec.config));
  return dir;
}

const temporal = (queue = tableQueue) => ['--address', testAddress(), '--task-queue', queue];

/** A `release db` that would start a release on the table's queue, but for what `extra` breaks. */
function releaseDbArgs(dir: string, extra: string[] = [], plans = ['starter=0', 'pro=9900']): string[] {
  return [
    'release',
    'db',
    '--non-interactive',
    '--project-root',
    dir,
    ...plans.flatMap((p) => ['--plan', p]),
    '--summary-path',
    path.join(dir, 'summary.json'),
    ...temporal(),
    ...extra,
  ];
}

interface Row {
  name: string;
  args: () => Promise<string[]> | string[];
  env?: Record<string, string>;
  expected: RegExp;
}

const db =
  (extra: string[] = [], spec: BackendSpec = {}) =>
  async () =>
    releaseDbArgs(await backend(spec), extra);
const dbPlans = (plans: string[]) => async () => releaseDbArgs(await backend(), [], plans);
const withConfig = (config: object | string, expected: RegExp, name: string): Row => ({
  name: `release.config.json: ${name}`,
  args: db([], { config }),
  expected,
});

const ROWS: Row[] = [
  // release db flags
  {
    name: '--plan with a non-numeric amount',
    args: dbPlans(['starter=0', 'pro=abc']),
    expected: /--plan "pro=abc": the amount must be a whole number of cents/,
  },
  {
    name: '--plan with an unknown code',
    args: dbPlans(['starter=0', 'pro=1', 'gold=100']),
    expected: /--plan "gold=100": unknown plan code "gold"; the catalog has starter, pro/,
  },
  {
    name: '--plan with a negative amount',
    args: dbPlans(['starter=0', 'pro=-5']),
    expected: /--plan "pro=-5": the amount must not be negative/,
  },
  {
    name: '--plan given twice for one code',
    args: dbPlans(['starter=0', 'pro=9900', 'pro=100']),
    expected: /--plan "pro=100": plan "pro" is given twice/,
  },
  {
    name: '--non-interactive without a --plan for every plan',
    args: dbPlans(['starter=0']),
    expected: /--non-interactive needs a --plan for every catalog plan; missing: --plan pro=CENTS/,
  },
  { name: '--plan empty', args: dbPlans(['starter=0', 'pro=1', '']), expected: /--plan is empty/ },
  {
    name: '--currency unknown',
    args: db(['--currency', 'zzz']),
    expected: /--currency "zzz": not a currency Stripe accepts/,
  },
  {
    name: '--trial-days negative',
    args: db(['--trial-days', '-1']),
    expected: /--trial-days "-1": use a whole number of days from 0 to 730/,
  },
  {
    name: '--trial-days too many',
    args: db(['--trial-days', '1000']),
    expected: /--trial-days "1000": use a whole number of days from 0 to 730/,
  },
  {
    name: '--environment with a space',
    args: db(['--environment', 'prod uction']),
    expected: /--environment "prod uction": use letters, digits/,
  },
  { name: '--environment empty', args: db(['--environment', '']), expected: /--environment is empty/ },
  {
    name: '--operator invisible',
    args: db(['--operator', '\u200b']),
    expected: /--operator "\u200b": give a person's name/,
  },
  {
    name: '--summary-path a directory',
    args: db(['--summary-path', os.tmpdir()]),
    expected: /--summary-path ".*" is a directory; give a file path such as/,
  },
  {
    name: '--summary-path under a file',
    args: async () => {
      const dir = await backend();
      return releaseDbArgs(dir, ['--summary-path', path.join(dir, '.env.local', 'summary.json')]);
    },
    expected: /--summary-path ".*": .*\.env\.local is a file, not a folder/,
  },
  { name: '--summary-path empty', args: db(['--summary-path', ' ']), expected: /--summary-path is empty/ },
  {
    name: '--project-root missing',
    args: () => releaseDbArgs(path.join(scratch, 'nowhere')),
    expected: /--project-root ".*nowhere" is not a directory/,
  },
  { name: '--project-root empty', args: db(['--project-root', '']), expected: /--project-root is empty/ },
  {
    name: '--address without a port',
    args: db(['--address', 'localhost']),
    expected: /--address "localhost": expected HOST:PORT/,
  },
  {
    name: '--address nobody answers on',
    args: db(['--address', '127.0.0.1:1']),
    expected: /Temporal is not reachable at 127\.0\.0\.1:1/,
  },
  {
    name: '--namespace that does not exist',
    args: db(['--namespace', 'nope']),
    expected: /--namespace "nope": no such namespace on .* \(it has default\)/,
  },
  { name: '--task-queue empty', args: db(['--task-queue', '']), expected: /--task-queue is empty/ },
  { name: '--task-queue only spaces', args: db(['--task-queue', '   ']), expected: /--task-queue is empty/ },
  {
    name: '--task-queue with a space inside',
    args: db(['--task-queue', 'db release']),
    expected: /--task-queue "db release": a task queue name has no spaces/,
  },
  {
    name: 'TEMPORAL_NAMESPACE set but empty',
    args: db(),
    env: { TEMPORAL_NAMESPACE: '' },
    expected: /TEMPORAL_NAMESPACE is set but empty \(it stands for --namespace\)/,
  },
  { name: 'an unknown flag', args: db(['--plans', 'pro=1']), expected: /unknown option '--plans'/ },
  // release.config.json
  withConfig(
    '{ "catalog": [',
    /release\.config\.json: not valid JSON .*; fix the file or remove it/,
    'not JSON',
  ),
  withConfig(
    { migrateComand: ['just', 'migrate'] },
    /release\.config\.json: .*migrateComand/,
    'an unknown key',
  ),
  withConfig({ trialDays: '14' }, /release\.config\.json: trialDays: /, 'a number given as a string'),
  withConfig(
    { catalog: [{ code: 'pro', name: 'Pro', amount: -100 }] },
    /release\.config\.json: catalog\.0\.amount: /,
    'a negative amount',
  ),
  withConfig(
    {
      catalog: [
        { code: 'pro', name: 'Pro', amount: 100 },
        { code: 'pro', name: 'Pro 2', amount: 200 },
      ],
    },
    /catalog: plan code "pro" appears twice/,
    'duplicate plan codes',
  ),
  withConfig({ catalog: [] }, /release\.config\.json: catalog: /, 'an empty catalog'),
  withConfig(
    { rollbackWindow: 'soon' },
    /rollbackWindow: use a duration such as "24 hours"/,
    'a bad duration',
  ),
  withConfig(
    { environments: { production: { approval: { approvers: 'bob' } } } },
    /environments\.production\.approval\.approvers: /,
    'approvers not a list',
  ),
  withConfig(
    { migrateCommand: [] },
    /migrateCommand: give the program and its arguments/,
    'an empty command',
  ),
  {
    name: 'release.config.json: a directory',
    args: db([], { config: 'dir' }),
    expected: /release\.config\.json:? is a directory/,
  },
  // env files and their values
  {
    name: '.env.local: a directory',
    args: db([], { envLocal: 'dir' }),
    expected: /\.env\.local.*is a directory, not an env file/,
  },
  {
    name: '.env.local: an unterminated quote',
    args: db([], { envLocal: 'STRIPE_PRODUCT_PRICE_MAP="{\\"pro\\":1' }),
    expected:
      /\.env\.local line 6: STRIPE_PRODUCT_PRICE_MAP: the value opens a double quote that is never closed/,
  },
  {
    name: 'STRIPE_SECRET_KEY a publishable key',
    args: db([], { envLocal: 'STRIPE_SECRET_KEY=pk_live_BadInputPublishable0123456789' }),
    expected:
      /STRIPE_SECRET_KEY \(from .*\.env\.local\): this is a publishable key .*; fix it in .*\.env\.local, or pass --skip-stripe/,
  },
  {
    name: 'STRIPE_WEBHOOK_SECRET holding an API key',
    args: db([], { envLocal: 'STRIPE_WEBHOOK_SECRET=sk_test_BadInputWrongPlace0123456789' }),
    expected:
      /STRIPE_WEBHOOK_SECRET \(from .*\.env\.local\): this is an API key; it belongs in STRIPE_SECRET_KEY/,
  },
  {
    name: 'DATABASE_URL not a URL',
    args: db([], { envLocal: 'DATABASE_URL=not a url' }),
    expected:
      /DATABASE_URL \(from .*\.env\.local\) is not a URL; write it as postgresql:\/\/USER:PASSWORD@HOST:5432\/DBNAME/,
  },
  {
    name: 'DATABASE_URL of another database',
    args: db([], { envLocal: `DATABASE_URL=mysql://app:${DB_PASSWORD}@127.0.0.1/app` }),
    expected: /DATABASE_URL \(from .*\.env\.local\) is a mysql URL, not a PostgreSQL one/,
  },
  {
    name: 'ENVIRONMENT from the env file not a name',
    args: db([], { envLocal: 'ENVIRONMENT=prod uction' }),
    expected: /--environment "prod uction": use letters, digits/,
  },
  // every other command
  {
    name: 'release list --status bogus',
    args: () => ['release', 'list', '--status', 'bogus', ...temporal()],
    expected: /--status "bogus": not a release status; use one of running, awaiting_approval, .*rolled_back/,
  },
  {
    name: 'release list --limit abc',
    args: () => ['release', 'list', '--limit', 'abc', ...temporal()],
    expected: /--limit "abc": use a whole number of at least 1/,
  },
  {
    name: 'release list --namespace nope',
    args: () => ['release', 'list', '--namespace', 'nope', ...temporal()],
    expected: /--namespace "nope": no such namespace/,
  },
  {
    name: 'release status of no such release',
    args: () => ['release', 'status', uniqueName('nosuch'), ...temporal()],
    expected: /no release db-release-nosuch-\w+: check the id or environment/,
  },
  {
    name: 'release status of an empty id',
    args: () => ['release', 'status', ' ', ...temporal()],
    expected: /<id-or-environment> is empty/,
  },
  {
    name: 'release watch of no such release',
    args: () => ['release', 'watch', uniqueName('nosuch'), ...temporal()],
    expected: /no release db-release-nosuch-\w+/,
  },
  {
    name: 'release status of a running release no worker polls',
    args: () => ['release', 'status', unpolledId, ...temporal()],
    expected: new RegExp(
      `${unpolledId} is running, but no worker polls its task queue ${unpolledQueue}.*db-release worker --project-root DIR --task-queue ${unpolledQueue}`,
    ),
  },
  {
    name: 'release watch of a running release no worker polls',
    args: () => ['release', 'watch', unpolledId, ...temporal()],
    expected: new RegExp(`no worker polls its task queue ${unpolledQueue}`),
  },
  {
    name: 'release show of a running release no worker polls',
    args: () => ['release', 'show', unpolledId, ...temporal()],
    expected: new RegExp(`no worker polls its task queue ${unpolledQueue}`),
  },
  {
    name: 'release cancel of no such release',
    args: () => ['release', 'cancel', uniqueName('nosuch'), ...temporal()],
    expected: /no release db-release-nosuch-\w+: check the id or environment/,
  },
  {
    name: 'release approve with an empty --approver',
    args: () => ['release', 'approve', gateId, '--approver', '', ...temporal()],
    expected: /--approver "": give a person's name/,
  },
  {
    name: 'release approve with a malformed --digest',
    args: () => ['release', 'approve', gateId, '--approver', 'bob', '--digest', 'xyz', ...temporal()],
    expected: /--digest "xyz": the 16 hex digits of the plan digest/,
  },
  {
    name: 'release reject with an empty --reason',
    args: () => ['release', 'reject', gateId, '--approver', 'bob', '--reason', '', ...temporal()],
    expected: /--reason is empty/,
  },
  {
    name: 'release reject with a blank --reason',
    args: () => ['release', 'reject', gateId, '--approver', 'bob', '--reason', '   ', ...temporal()],
    expected: /--reason is empty/,
  },
  {
    name: 'release rollback of no such release',
    args: () => ['release', 'rollback', uniqueName('nosuch'), ...temporal()],
    expected: /no release db-release-nosuch-\w+/,
  },
  {
    name: 'release rollback --run-id not a UUID',
    args: () => ['release', 'rollback', gateId, '--run-id', 'latest', ...temporal()],
    expected: /--run-id "latest": a run id is a UUID/,
  },
  {
    name: 'release show of no such release',
    args: () => ['release', 'show', uniqueName('nosuch'), ...temporal()],
    expected: /no release db-release-nosuch-\w+/,
  },
  {
    name: 'release show --evidence empty',
    args: () => ['release', 'show', gateId, '--evidence', '', ...temporal()],
    expected: /--evidence is empty/,
  },
  {
    name: 'stripe setup --secret-key a publishable key',
    args: async () => [
      'stripe',
      'setup',
      '--non-interactive',
      '--project-root',
      await backend(),
      '--secret-key',
      'pk_test_BadInputPublishable0123456789',
      ...temporal(),
    ],
    expected: /--secret-key: this is a publishable key/,
  },
  {
    name: 'stripe setup --plan malformed',
    args: async () => [
      'stripe',
      'setup',
      '--non-interactive',
      '--project-root',
      await backend(),
      '--plan',
      'pro',
      ...temporal(),
    ],
    expected: /--plan "pro": /,
  },
  {
    name: 'stripe setup with DATABASE_URL not a URL',
    args: async () => [
      'stripe',
      'setup',
      '--non-interactive',
      '--project-root',
      await backend({ envLocal: 'DATABASE_URL=::' }),
      ...temporal(),
    ],
    expected: /DATABASE_URL \(from .*\) is not a URL/,
  },
  {
    name: 'providers validate of a missing project root',
    args: () => ['providers', 'validate', '--project-root', path.join(scratch, 'nowhere')],
    expected: /--project-root ".*nowhere" is not a directory/,
  },
  {
    name: 'providers validate with .env.local a directory',
    args: async () => [
      'providers',
      'validate',
      '--offline',
      '--project-root',
      await backend({ envLocal: 'dir' }),
    ],
    expected: /\.env\.local.*is a directory/,
  },
  {
    name: 'config dump-schema with an empty --project-root',
    args: () => ['config', 'dump-schema', '--project-root', ''],
    expected: /--project-root is empty/,
  },
  {
    name: 'status summary with an unknown namespace... flag empty',
    args: async () => [
      'status',
      'summary',
      '--project-root',
      await backend(),
      '--namespace',
      ' ',
      ...temporal(),
    ],
    expected: /--namespace is empty/,
  },
  {
    name: 'worker with a bad --max-concurrent-activities',
    args: async () => [
      'worker',
      '--project-root',
      await backend(),
      '--max-concurrent-activities',
      'many',
      ...temporal(),
    ],
    expected: /--max-concurrent-activities "many": use a whole number/,
  },
  {
    name: 'temporal register-search-attributes on an unknown namespace',
    args: () => ['temporal', 'register-search-attributes', '--namespace', 'nope', ...temporal()],
    expected: /--namespace "nope": no such namespace/,
  },
];

const results = new Map<string, CliResult>();
const secretsInOutput: string[] = [];

/** Runs every row, eight CLIs at a time: each spends most of its time starting Node and waiting on Temporal. */
beforeAll(async () => {
  const queue = [...ROWS];
  const batch = async () => {
    for (let row = queue.shift(); row; row = queue.shift()) {
      const run = startCli(await row.args(), row.env);
      // A CLI that hangs (as `release status` did with no worker) must fail its row, not the file.
      const hung = setTimeout(() => run.child.kill('SIGKILL'), 90_000);
      results.set(row.name, await run.done.finally(() => clearTimeout(hung)));
    }
  };
  await Promise.all(Array.from({ length: 8 }, batch));
  for (const r of results.values()) {
    for (const secret of [
      SECRET_KEY,
      WEBHOOK_SECRET,
      DB_PASSWORD,
      'pk_live_BadInputPublishable0123456789',
      'sk_test_BadInputWrongPlace0123456789',
    ]) {
      if (`${r.stdout}${r.stderr}`.includes(secret)) secretsInOutput.push(secret);
    }
  }
}, 600_000);

test(`the table has at least 40 malformed inputs (${ROWS.length})`, () => {
  expect(ROWS.length).toBeGreaterThanOrEqual(40);
  expect(new Set(ROWS.map((r) => r.name)).size).toBe(ROWS.length);
});

test.each(ROWS.map((r) => [r.name, r] as const))(
  '%s: exit 2, one line naming it and the fix',
  (_name, row) => {
    const result = results.get(row.name);
    expect(result).toBeDefined();
    if (!result) return;
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 2,
      stderr: expect.stringMatching(row.expected) as unknown,
    });
    expect(result.stderr).not.toMatch(/unexpected error|^\s+at /m);
    expect(result.stdout).toBe('');
  },
);

test('no secret value appears in any output of the table', () => {
  expect(secretsInOutput).toEqual([]);
});

async function workflowsOn(taskQueue: string): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const info of ctx.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` }))
    found.push(info);
  return found;
}

test('no row started a workflow or decided the waiting release; a valid input does start one (the control)', async () => {
  const gate = await ctx.client.workflow.getHandle(gateId).query(gateQuery);
  expect(gate.decision).toBeNull();
  expect((await ctx.client.workflow.getHandle(gateId).describe()).status.name).toBe('RUNNING');

  // The control: the same inputs, unbroken, start a release on the table's queue (the fake worker runs it).
  const controlEnv = uniqueName('control');
  const control = await runCli(releaseDbArgs(await backend({}, controlEnv)));
  expect(control.stderr).toMatch(/Started release db-release-/);
  expect(control.code).toBe(0);
  // Visibility lags a little: once the control is listed, anything a row started is listed too.
  await waitFor(async () => (await workflowsOn(tableQueue)).length > 0, 'the control release to be listed');
  const started = await workflowsOn(tableQueue);
  expect(started.map((w) => w.workflowId)).toEqual([`db-release-${controlEnv}`]);
});

test('cancel of a running release no worker polls: recorded, and says it waits for a worker and how to start one', async () => {
  const cancel = await runCli(['release', 'cancel', unpolledId, ...temporal()]);
  expect(cancel.code).toBe(0);
  expect(cancel.stderr).toMatch(
    new RegExp(
      `cancellation of ${unpolledId} \\(run [0-9a-f-]+\\) recorded, but no worker polls task queue ${unpolledQueue}: .*db-release worker --project-root DIR --task-queue ${unpolledQueue}`,
    ),
  );
  const history = await ctx.client.workflow.getHandle(unpolledId).fetchHistory();
  expect(history.events?.some((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(true);
});

describe('pipes and one-line errors', () => {
  test('help into a reader that already left (| head -1): no EPIPE crash, exit 0', async () => {
    for (const args of [['stripe', 'setup', '--help'], ['release', 'db', '--help'], ['--help']]) {
      const child = spawn(process.execPath, [cliPath(), ...args], {
        env: cliEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // The reader is gone before the CLI writes a byte: its first write meets EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: '' });
    }
  });
});

describe("the README's exit-code table is true: one case per documented code", () => {
  const documented = async (): Promise<number[]> => {
    const readme = await readFile(path.join(repoRoot(), 'README.md'), 'utf8');
    const lines = readme.slice(readme.indexOf('Exit codes, the same for every command')).split('\n').slice(2);
    const table = lines.slice(
      0,
      lines.findIndex((l) => !l.startsWith('|')),
    );
    return table.flatMap((l) => /^\| `(\d+)` \|/.exec(l)?.[1] ?? []).map(Number);
  };
  const failEnv = uniqueName('failing');

  test('the table documents 0, 1, 2, 3, 4 and 130, as --help does', async () => {
    expect(await documented()).toEqual([0, 1, 2, 3, 4, 130]);
    const help = await runCli(['release', 'db', '--help']);
    expect([...help.stdout.matchAll(/^ {2}(\d+) {2,}/gm)].map((m) => Number(m[1]))).toEqual(
      await documented(),
    );
  });

  test('0: release list', async () => {
    const list = await runCli(['release', 'list', '--environment', gateEnv, ...temporal()]);
    expect(list.code).toBe(0);
  });

  test('2: release status of a release that does not exist', async () => {
    const status = await runCli(['release', 'status', uniqueName('nosuch'), ...temporal()]);
    expect(status.code).toBe(2);
  });

  test('3: a second release db of an environment whose release is running', async () => {
    const dir = await backend(
      { config: { environments: { [gateEnv]: { approval: { required: true } } } } },
      gateEnv,
    );
    const second = await runCli(releaseDbArgs(dir, ['--task-queue', gateQueue]));
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(
      new RegExp(`a release of environment "${gateEnv}" is already running: workflow ${gateId}`),
    );
  });

  test('4 then 1: release watch of a release whose compensation failed; cancel of that ended release', async () => {
    const handle = await ctx.client.workflow.start<typeof releaseDb>('releaseDb', {
      taskQueue: failQueue,
      workflowId: `db-release-${failEnv}`,
      args: [releaseInput({ environment: failEnv })],
    });
    await handle.result().catch(() => undefined);
    const watch = await runCli(['release', 'watch', failEnv, ...temporal()]);
    expect(watch.stdout.trim().split('\n').at(-1)).toBe('release rollback_failed');
    expect(watch.code).toBe(4);

    const cancel = await runCli(['release', 'cancel', failEnv, ...temporal()]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(
      new RegExp(
        `db-release-${failEnv} already ended \\(FAILED, release rollback_failed at [0-9T:.-]+Z\\): there is nothing to cancel and nothing was changed`,
      ),
    );
    expect(cancel.stderr).not.toMatch(/compensations run|cancellation requested/);
  });

  test('130: Ctrl-C while watching a release detaches; the release goes on', async () => {
    const watch = startCli(['release', 'watch', gateId, ...temporal()]);
    // Lines arrive on stdout once the watch follows the release: its Ctrl-C handler is installed by then.
    await new Promise<void>((resolve, reject) => {
      watch.child.stdout?.on('data', () => resolve());
      void watch.done.then((r) => reject(new Error(`watch ended first: ${r.stderr}`)));
    });
    watch.child.kill('SIGINT');
    const detached = await watch.done;
    expect(detached.code).toBe(130);
    expect(detached.stderr).toMatch(/stopped watching; the release goes on/);
    expect((await ctx.client.workflow.getHandle(gateId).describe()).status.name).toBe('RUNNING');
  });
});
