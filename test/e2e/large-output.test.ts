/**
 * Issue 12 case 6: a migration printing more than 20 MB died with BrokenPipeError and was rolled
 * back as MigrationFailed. Here 25+ MB on stdout and 4.6 MB on stderr pass through the migrate guard
 * (which must keep draining its child's pipes) and the command runner: exit 0, no BrokenPipe, all
 * of it in the attempt's log file beside the journal, only a bounded tail in memory and in the
 * step's outcome. Needs `npm run build` (the guard is compiled) and PostgreSQL.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createMigrationActivities } from '../../src/activities/migrations';
import { createDatabase, dropDatabase } from '../../src/devstack/postgres';
import { prepareSampleBackend } from '../../src/devstack/sample-backend';
import type { CommandOutcome } from '../../src/release/types';
import { migrateGuardScript, runCommand } from '../../src/runtime/command-runner';
import { realActivityDeps } from '../../src/worker';
import { removeTempDirs, tempDir } from '../support/fakes';

const DB_NAME = `dbr_test_large_output_${randomUUID().slice(0, 8)}`;
let databaseUrl = '';
let dir = '';
let backendDir = '';

/** 230 000 stdout lines of 110 bytes (25.3 MB) and 46 000 stderr lines of 100 bytes (4.6 MB), then a last line on each. */
const LOUD_PYTHON = `
import sys
pad = "x" * 96
for i in range(230000):
    sys.stdout.write("out %08d %s\\n" % (i, pad))
    if i % 5 == 0:
        sys.stderr.write("err %08d %s\\n" % (i // 5, pad[:86]))
sys.stdout.write("LAST STDOUT LINE\\n")
sys.stdout.flush()
sys.stderr.write("LAST STDERR LINE\\n")
`;
const STDOUT_LINES = 230_000;
const STDERR_LINES = 46_000;

const loudMigration = `"""a migration that prints 25 MB (issue 12 case 6)"""
from alembic import op

revision = "20251108_000000"
down_revision = "20251107_090000"
branch_labels = None
depends_on = None


def upgrade() -> None:
${LOUD_PYTHON.trim()
  .split('\n')
  .map((line) => `    ${line}`)
  .join('\n')}
    op.execute("CREATE TABLE loud_marker (id int)")


def downgrade() -> None:
    op.execute("DROP TABLE loud_marker")
`;

beforeAll(async () => {
  migrateGuardScript();
  databaseUrl = await createDatabase(DB_NAME);
  dir = tempDir('large-output-');
  backendDir = await prepareSampleBackend({
    dir: path.join(dir, 'backend'),
    databaseName: DB_NAME,
    serverUrl: 'postgresql://postgres@127.0.0.1:5432',
    stripeApiBase: 'http://127.0.0.1:9',
    stripeSecretKey: 'sk_test_large_output_unused_0000',
    stripeWebhookSecret: 'whsec_large_output_unused',
  });
  writeFileSync(path.join(backendDir, 'migrations', 'versions', '20251108_000000_loud.py'), loudMigration);
});

afterAll(async () => {
  await dropDatabase(DB_NAME);
  removeTempDirs();
});

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

test('through the migrate guard: 25 MB on stdout and 4.6 MB on stderr, exit 0, everything in the log, a bounded tail in memory', async () => {
  const logFile = path.join(dir, 'guarded.log');
  const result = await runCommand({
    command: ['python3', '-c', LOUD_PYTHON],
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DATABASE_URL: databaseUrl },
    logFile,
    exclusiveLock: `large-output-${randomUUID()}`,
  });
  const log = readFileSync(logFile, 'utf8');
  expect({
    exitCode: result.exitCode,
    interrupted: result.interrupted,
    brokenPipe: /BrokenPipe/.test(log),
  }).toEqual({
    exitCode: 0,
    interrupted: false,
    brokenPipe: false,
  });
  // Every line reached the log file, in order on each stream.
  expect(statSync(logFile).size).toBeGreaterThan(29_500_000);
  expect(count(log, /^out \d{8} x{96}$/gm)).toBe(STDOUT_LINES);
  expect(count(log, /^err \d{8} x{86}$/gm)).toBe(STDERR_LINES);
  expect(log).toContain('LAST STDOUT LINE\n');
  expect(log).toContain('LAST STDERR LINE\n');
  expect(log).toMatch(/# exit 0 after \d+ ms\n$/);
  // Memory keeps a tail: stdout's 25 MB are cut to the 8 M-character tail, the interleaved one to 1 M.
  expect(result.stdout.length).toBeLessThanOrEqual(8_000_100);
  expect(result.stdout).toMatch(/^…\(\d+ characters cut\)…\n/);
  expect(result.stdout.trimEnd().endsWith('LAST STDOUT LINE')).toBe(true);
  expect(result.all.length).toBeLessThanOrEqual(1_000_100);
  expect(result.stderr).toContain('LAST STDERR LINE');
});

test('runMigrations with a migration printing 25 MB: migrated, the outcome keeps a short tail, the attempt log beside the journal has it all', async () => {
  const stateDir = path.join(dir, 'state');
  const activities = createMigrationActivities(realActivityDeps(backendDir, stateDir));
  const env = new MockActivityEnvironment(
    {
      workflowExecution: { workflowId: 'large-output', runId: 'run1' },
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
  // The tail is of both streams as they arrived: which pipe is read last is up to the machine, so
  // the tail holds the last line of one of them (then the guard's own last word), never only the middle.
  expect(outcome.output).toMatch(/LAST STDERR LINE|LAST STDOUT LINE/);
  expect(path.dirname(outcome.logFile ?? '')).toBe(stateDir);
  const log = readFileSync(outcome.logFile ?? '', 'utf8');
  expect(log).not.toMatch(/BrokenPipe/);
  expect(count(log, /^out \d{8} x{96}$/gm)).toBe(STDOUT_LINES);
  expect(log).toContain('Running upgrade 20251107_090000 -> 20251108_000000');
  expect(log).toMatch(/# exit 0 after \d+ ms\n$/);

  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ version_num: string }>('select version_num from alembic_version');
    expect(rows.map((r) => r.version_num)).toEqual(['20251108_000000']);
  } finally {
    await client.end();
  }
});
