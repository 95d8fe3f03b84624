/**
 * Issue 12 cases 6 and 7 against the monorepo sample (examples/starter-monorepo):
 * - 7: the backend in apps/api-service with alembic.ini and .env.local there, DATABASE_URL only in
 *   the repository root's .env.compose, Alembic only in the backend's own .venv, and a worker
 *   started with nothing of it (nor of this checkout's tools) on PATH: the release succeeds.
 * - 6: the sample's backfill migration printing 25 MB through the real migrate step: migrated,
 *   a bounded tail in the outcome, everything in the attempt log.
 * Needs `npm run build` (the CLI and the guard are compiled) and PostgreSQL.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createMigrationActivities } from '../../src/activities/migrations';
import { createDatabase, dropDatabase } from '../../src/devstack/postgres';
import { startStack, type DevStack } from '../../src/devstack/stack';
import type { CommandOutcome } from '../../src/release/types';
import { migrateGuardScript } from '../../src/runtime/command-runner';
import { realActivityDeps } from '../../src/worker';
import { runCli, startCli } from '../support/cli';
import { removeTempDirs, tempDir } from '../support/fakes';
import {
  prepareStarterBackend,
  STARTER_REVISIONS,
  starterBackendOf,
  starterCatalog,
} from '../support/starter-backend';
import { testAddress } from '../support/temporal';

const BARE_PATH = '/usr/bin:/bin';
let stack: DevStack | null = null;
const databases: string[] = [];

beforeAll(() => {
  migrateGuardScript();
});

afterAll(async () => {
  await stack?.close({ dropDatabase: true });
  for (const name of databases) await dropDatabase(name);
  removeTempDirs();
});

async function versionRows(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ version_num: string }>(
      'select version_num from alembic_version order by version_num',
    );
    return rows.map((r) => r.version_num);
  } finally {
    await client.end();
  }
}

test('case 7: a monorepo backend releases with its own venv off PATH and DATABASE_URL only in the root .env.compose', async () => {
  const address = testAddress();
  stack = await startStack({
    name: `dbr_test_starter_layout_${randomUUID().slice(0, 8)}`,
    backendDir: path.join(tempDir('starter-layout-'), 'repo'),
    temporal: { address },
    sample: 'starter-monorepo',
    starter: {
      // The defaults a user starts from: `alembic` by name, found only through the venv.
      configPatch: {
        alembicCommand: ['alembic', '-c', 'alembic.ini'],
        migrateCommand: ['alembic', '-c', 'alembic.ini', 'upgrade', 'heads'],
        envFiles: ['.env.local', '../../.env.compose'],
      },
    },
  });
  const backend = starterBackendOf(stack.backendDir);
  // DATABASE_URL moves to the repository root, as a compose-driven monorepo keeps it.
  const envLocal = path.join(backend.backendDir, '.env.local');
  const localLines = readFileSync(envLocal, 'utf8').split('\n');
  const databaseLine = localLines.find((line) => line.startsWith('DATABASE_URL='));
  expect(databaseLine).toMatch(/\$\{POSTGRES_PASSWORD\}/);
  writeFileSync(envLocal, localLines.filter((line) => line !== databaseLine).join('\n'), { mode: 0o600 });
  const compose = path.join(backend.repoRoot, '.env.compose');
  writeFileSync(compose, `${readFileSync(compose, 'utf8')}\n${databaseLine ?? ''}\n`);

  const taskQueue = `starter-layout-${randomUUID()}`;
  const worker = startCli(
    ['worker', '--project-root', backend.backendDir, '--address', address, '--task-queue', taskQueue],
    {
      PATH: BARE_PATH,
      DB_RELEASE_TOOLS_DIR: tempDir('starter-layout-no-tools-'),
    },
  );
  try {
    const line = await worker.waitForStderr(/^worker: backend /);
    expect(line).toBe(
      `worker: backend ${backend.backendDir} · alembic ${backend.alembic} · env .env.local, ../../.env.compose · venv ${backend.venvDir} (project root)`,
    );
    await worker.waitForStderr(/^db-release worker ready: /);

    const summaryPath = path.join(tempDir('starter-layout-summary-'), 'summary.json');
    const plans = starterCatalog().flatMap((plan) => ['--plan', `${plan.code}=${plan.amount}`]);
    const release = await runCli([
      'release',
      'db',
      '--project-root',
      backend.backendDir,
      '--non-interactive',
      '--skip-stripe',
      '--skip-db-checks',
      '--summary-path',
      summaryPath,
      '--address',
      address,
      '--task-queue',
      taskQueue,
      ...plans,
    ]);
    expect({ code: release.code, stderr: release.code === 0 ? '' : release.stderr }).toEqual({
      code: 0,
      stderr: '',
    });
    expect(await versionRows(stack.databaseUrl)).toEqual([STARTER_REVISIONS.head]);
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as { status?: string };
    expect(summary.status).toBe('success');
  } finally {
    worker.child.kill('SIGTERM');
    await worker.done;
  }
});

test("case 6: the sample's backfill printing 25 MB through runMigrations: migrated, a short tail in the outcome, all of it in the attempt log", async () => {
  const databaseName = `dbr_test_starter_noisy_${randomUUID().slice(0, 8)}`;
  const databaseUrl = await createDatabase(databaseName);
  databases.push(databaseName);
  const backend = await prepareStarterBackend({
    dir: path.join(tempDir('starter-noisy-'), 'repo'),
    databaseName,
    serverUrl: 'postgresql://postgres@127.0.0.1:5432',
    stripeApiBase: 'http://127.0.0.1:9',
    stripeSecretKey: 'sk_test_starter_noisy_unused_0000',
    stripeWebhookSecret: 'whsec_starter_noisy_unused',
    extraEnv: { STARTER_NOISY_MIGRATION_MB: '25' },
  });
  const stateDir = path.join(tempDir('starter-noisy-state-'), 'state');
  const activities = createMigrationActivities(realActivityDeps(backend.backendDir, stateDir));
  const env = new MockActivityEnvironment(
    {
      workflowExecution: { workflowId: 'starter-noisy', runId: 'run1' },
      activityId: '5',
      activityType: 'runMigrations',
      attempt: 1,
      startToCloseTimeoutMs: 600_000,
    },
    { logger: new DefaultLogger('ERROR') },
  );
  const outcome: CommandOutcome = await env.run(activities.runMigrations);
  expect(outcome.exitCode).toBe(0);
  expect(outcome.output.length).toBeLessThanOrEqual(4_100);
  expect(outcome.output).toMatch(/^…\(\d+ characters cut\)…\n/);
  expect(path.dirname(outcome.logFile ?? '')).toBe(stateDir);
  const line = 'backfill progress: tenant batch processed, usage_daily totals checked .......... ok\n';
  const log = readFileSync(outcome.logFile ?? '', 'utf8');
  expect(statSync(outcome.logFile ?? '').size).toBeGreaterThan(25 * 1024 * 1024);
  expect(log.split(line).length - 1).toBe(Math.floor((25 * 1024 * 1024) / line.length));
  expect(log).not.toMatch(/BrokenPipe/);
  expect(log).toMatch(/# exit 0 after \d+ ms\n$/);
  expect(await versionRows(databaseUrl)).toEqual([STARTER_REVISIONS.head]);
});
