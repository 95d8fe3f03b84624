/**
 * runMigrations with everything real but Temporal: the sample backend copy, `just migrate` →
 * Alembic → PostgreSQL, the compiled migrate guard. Two attempts of the step at once (an
 * orphaned attempt and its retry) never migrate side by side: the second waits, reports it in its
 * heartbeat, then finds nothing left to do. Needs `npm run build` (the guard is compiled).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createMigrationActivities } from '../../src/activities/migrations';
import { createDatabase, dropDatabase } from '../../src/devstack/postgres';
import { prepareSampleBackend } from '../../src/devstack/sample-backend';
import type { CommandOutcome } from '../../src/release/types';
import { migrateGuardScript } from '../../src/runtime/command-runner';
import { realActivityDeps } from '../../src/worker';
import { eventually } from '../support/eventually';
import { removeTempDirs, tempDir } from '../support/fakes';

const DB_NAME = `dbr_test_migrate_sample_${randomUUID().slice(0, 8)}`;
const SAMPLE_DB_PASSWORD = 'devpassword';
let databaseUrl = '';
let backendDir = '';
let dir = '';

/** A migration that records each run and holds until the test lets it finish (no sleeps). */
const slowMigration = (runs: string, release: string) => `"""slow migration for the guard test"""
import os
import time
from alembic import op

revision = "20251108_000000"
down_revision = "20251107_090000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with open(${JSON.stringify(runs)}, "a") as f:
        f.write("slow migration ran\\n")
    while not os.path.exists(${JSON.stringify(release)}):
        time.sleep(0.1)
    op.execute("CREATE TABLE slow_marker (id int)")


def downgrade() -> None:
    op.execute("DROP TABLE slow_marker")
`;

beforeAll(async () => {
  migrateGuardScript();
  databaseUrl = await createDatabase(DB_NAME);
  dir = tempDir();
  backendDir = await prepareSampleBackend({
    dir: path.join(dir, 'backend'),
    databaseName: DB_NAME,
    serverUrl: 'postgresql://postgres@127.0.0.1:5432',
    stripeApiBase: 'http://127.0.0.1:9',
    stripeSecretKey: 'sk_test_migrate_sample_unused_0000',
    stripeWebhookSecret: 'whsec_migrate_sample_unused',
  });
  writeFileSync(
    path.join(backendDir, 'migrations', 'versions', '20251108_000000_slow.py'),
    slowMigration(path.join(dir, 'runs'), path.join(dir, 'release')),
  );
});

afterAll(async () => {
  await dropDatabase(DB_NAME);
  removeTempDirs();
});

function attempt(attemptNo: number) {
  return new MockActivityEnvironment(
    {
      workflowExecution: { workflowId: 'migrate-sample', runId: 'run1' },
      activityId: '5',
      activityType: 'runMigrations',
      attempt: attemptNo,
      startToCloseTimeoutMs: 600_000,
    },
    { logger: new DefaultLogger('ERROR') },
  );
}

test('an attempt and its retry at once: the retry waits for the running migrate, the slow migration runs once, both end at head', async () => {
  const activities = createMigrationActivities(realActivityDeps(backendDir, path.join(dir, 'state')));
  const runs = path.join(dir, 'runs');
  const first = attempt(1);
  const running = first.run(activities.runMigrations);
  await eventually(() => existsSync(runs), {
    what: 'the first attempt to reach the slow migration',
    timeoutMs: 60_000,
  });

  const retry = attempt(2);
  const beats: unknown[] = [];
  retry.on('heartbeat', (details: unknown) => beats.push(details));
  const retried = retry.run(activities.runMigrations);
  const waitingFor = () =>
    beats
      .map((b) => (b as { waitingFor?: string | null } | undefined)?.waitingFor)
      .find((w): w is string => typeof w === 'string');
  await eventually(() => waitingFor() !== undefined, {
    what: 'the retry to report it waits for the earlier migrate',
    timeoutMs: 60_000,
  });
  expect(waitingFor()).toMatch(/^waiting for an earlier migrate still running, pid \d+ on /);

  writeFileSync(path.join(dir, 'release'), '');
  const [a, b] = (await Promise.all([running, retried])) as [CommandOutcome, CommandOutcome];
  expect(a.exitCode).toBe(0);
  expect(b.exitCode).toBe(0);
  expect(readFileSync(runs, 'utf8')).toBe('slow migration ran\n');
  expect(a.output).toContain('Running upgrade 20251107_090000 -> 20251108_000000');
  expect(b.output).not.toContain('Running upgrade');

  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ version_num: string }>('select version_num from alembic_version');
    expect(rows.map((r) => r.version_num)).toEqual(['20251108_000000']);
  } finally {
    await client.end();
  }

  // Each attempt has its own log beside the journal, with the full output and no password.
  expect(a.logFile).toMatch(/migrate-sample--run1--runMigrations-attempt1\.log$/);
  expect(b.logFile).toMatch(/--runMigrations-attempt2\.log$/);
  const logA = readFileSync(a.logFile as string, 'utf8');
  expect(logA).toContain('$ just migrate (under the migrate lock)');
  expect(logA).toContain('Running upgrade 20251107_090000 -> 20251108_000000');
  expect(readFileSync(b.logFile as string, 'utf8')).toContain(
    '[migrate-guard:waiting] waiting for an earlier migrate still running',
  );
  for (const file of [a.logFile, b.logFile])
    expect(readFileSync(file as string, 'utf8')).not.toContain(SAMPLE_DB_PASSWORD);
});
