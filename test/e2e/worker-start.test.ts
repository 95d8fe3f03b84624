/**
 * `db-release worker` checks the backend before it polls (issue 12 item 7, issue 14 "a worker
 * started as the README says cannot find alembic"): the Alembic config, the programs of the
 * migrate and Alembic commands (with the backend's virtualenv), the configured env files. It
 * refuses to start with exit 2 naming what is missing and the fix, and otherwise says which
 * alembic it will run and which env files it read. Spawns the built CLI (`npm run build` first).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { repoRoot } from '../../src/devstack/paths';
import { runCli, startCli } from '../support/cli';
import { removeTempDirs, tempDir } from '../support/fakes';

afterAll(removeTempDirs);

/** A PATH with nothing of the project's tools and no alembic: the worker must find the backend's own. */
const BARE_PATH = '/usr/bin:/bin';

function file(at: string, text: string, mode = 0o644): void {
  mkdirSync(path.dirname(at), { recursive: true });
  writeFileSync(at, text);
  chmodSync(at, mode);
}

/**
 * A monorepo as issue 12 describes it: `.env.compose` at the repository root, the backend in
 * apps/api-service with alembic.ini, `.env.local` and its own `.venv` (alembic and just in it).
 */
function monorepo(config: object = { envFiles: ['.env.local', '../../.env.compose'] }): {
  repo: string;
  backend: string;
} {
  const repo = tempDir('worker-start-repo-');
  mkdirSync(path.join(repo, '.git'));
  const backend = path.join(repo, 'apps', 'api-service');
  file(path.join(repo, '.env.compose'), 'ENVIRONMENT=local\nPOSTGRES_PASSWORD=devpassword\n');
  file(
    path.join(backend, '.env.local'),
    'DATABASE_URL=postgresql://postgres:${POSTGRES_PASSWORD}@127.0.0.1:5432/x\n',
    0o600,
  );
  file(path.join(backend, 'alembic.ini'), '[alembic]\nscript_location = migrations\n');
  file(path.join(backend, 'release.config.json'), JSON.stringify(config));
  for (const name of ['python', 'alembic', 'just'])
    file(path.join(backend, '.venv', 'bin', name), '#!/bin/sh\nexit 0\n', 0o755);
  return { repo, backend };
}

test('an empty folder as --project-root: exit 2, naming the missing alembic.ini and the fix, nothing started', async () => {
  const empty = tempDir('worker-start-empty-');
  const result = await runCli(['worker', '--project-root', empty, '--address', '127.0.0.1:1'], {
    PATH: BARE_PATH,
  });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`the worker cannot release ${empty}:`);
  expect(result.stderr).toContain(
    `the Alembic config ${path.join(empty, 'alembic.ini')} (from alembicCommand "alembic -c alembic.ini") is missing; point --project-root at the backend folder that holds alembic.ini`,
  );
  // alembic and just themselves come from this checkout's .tools/venv/bin, the last resort on PATH
  expect(result.stderr).not.toContain('was not found');
  expect(result.stderr).not.toMatch(/worker: backend|ready|Temporal is not reachable|\n\s+at /);
});

test('the backend venv missing and an explicit env file absent: exit 2, each problem with its fix', async () => {
  const { repo, backend } = monorepo({
    envFiles: ['.env.local', '../../.env.shared', '../../.env.compose'],
    venv: '.venv-api',
  });
  // No .tools either: nothing answers for alembic and just.
  const result = await runCli(['worker', '--project-root', backend, '--address', '127.0.0.1:1'], {
    PATH: BARE_PATH,
    DB_RELEASE_TOOLS_DIR: tempDir('worker-start-no-tools-'),
  });
  expect(result.code).toBe(2);
  const problems = result.stderr.split('\n').filter((line) => line.startsWith('  - '));
  expect(problems).toEqual([
    `  - env file ../../.env.shared (${path.join(repo, '.env.shared')}), listed in release.config.json "envFiles", does not exist; create it or remove it from "envFiles"`,
    expect.stringMatching(
      /^ {2}- release\.config\.json "venv": \.venv-api \(.*\) is not a virtualenv \(no bin\/python\); create it/,
    ),
    expect.stringMatching(/^ {2}- migrateCommand "just migrate": "just" was not found/),
    expect.stringMatching(/^ {2}- alembicCommand "alembic -c alembic\.ini": "alembic" was not found/),
  ]);
});

test('an unterminated quote in a configured env file: exit 2 naming the file and the line', async () => {
  const { repo, backend } = monorepo();
  file(path.join(repo, '.env.compose'), 'ENVIRONMENT=local\nPOSTGRES_PASSWORD="devpassword\n');
  const result = await runCli(['worker', '--project-root', backend, '--address', '127.0.0.1:1'], {
    PATH: BARE_PATH,
  });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(
    '../../.env.compose:2: POSTGRES_PASSWORD: the value opens a double quote that is never closed; close the quote',
  );
  expect(result.stderr).not.toContain('devpassword');
});

test("a monorepo backend: the worker starts with the backend's own alembic and the repo root's .env.compose, and says so", async () => {
  const { backend } = monorepo();
  const worker = startCli(
    ['worker', '--project-root', backend, '--task-queue', `worker-start-${randomUUID()}`],
    { PATH: BARE_PATH, TEMPORAL_ADDRESS: process.env.DB_RELEASE_TEST_TEMPORAL_ADDRESS ?? '' },
  );
  try {
    const line = await worker.waitForStderr(/^worker: backend /);
    expect(line).toBe(
      `worker: backend ${backend} · alembic ${path.join(backend, '.venv', 'bin', 'alembic')} · env .env.local, ../../.env.compose · venv ${path.join(backend, '.venv')} (project root)`,
    );
    await worker.waitForStderr(/^db-release worker ready: /);
  } finally {
    worker.child.kill('SIGTERM');
    await worker.done;
  }
});

test('started as the README says, against the sample backend with no tools on PATH: alembic is found in .tools/venv/bin', async () => {
  const sample = path.join(repoRoot(), 'examples', 'saas-backend');
  // Temporal unreachable on purpose: the layout line comes before the connection, and nothing polls.
  const result = await runCli(['worker', '--project-root', sample, '--address', '127.0.0.1:1'], {
    PATH: BARE_PATH,
  });
  expect(result.stderr).toContain(
    `worker: backend ${sample} · alembic ${path.join(repoRoot(), '.tools', 'venv', 'bin', 'alembic')} · env `,
  );
  expect(result.stderr).toContain('Temporal is not reachable at 127.0.0.1:1');
  expect(result.code).toBe(2);
});

test('--namespace the server does not have: exit 2 naming it and how to create it, instead of polling nothing forever', async () => {
  const { backend } = monorepo();
  const result = await runCli(
    [
      'worker',
      '--project-root',
      backend,
      '--namespace',
      'nope-no-such',
      '--task-queue',
      `worker-start-${randomUUID()}`,
    ],
    {
      PATH: BARE_PATH,
      TEMPORAL_ADDRESS: process.env.DB_RELEASE_TEST_TEMPORAL_ADDRESS ?? '',
    },
  );
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('--namespace "nope-no-such": no such namespace');
  expect(result.stderr).toContain('temporal operator namespace create --namespace nope-no-such');
  expect(result.stderr).not.toMatch(/db-release worker ready/);
});
