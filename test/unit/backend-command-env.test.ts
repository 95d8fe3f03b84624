/**
 * Backend commands run with the backend's own virtualenv first on PATH (issue 12 item 7:
 * "Alembic in the backend's own venv (not on PATH)"), and an env file that turned bad after the
 * worker started fails the step at once as bad input, not as a retried unknown error.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createMigrationActivities } from '../../src/activities/migrations';
import { EnvFileError, loadEnvScope } from '../../src/config/env-files';
import { parseReleaseConfig } from '../../src/config/release-config';
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

afterAll(removeTempDirs);

function program(at: string): void {
  mkdirSync(path.dirname(at), { recursive: true });
  writeFileSync(at, '#!/bin/sh\nexit 0\n');
  chmodSync(at, 0o755);
}

test("runMigrations runs the migrate command with the repository root's .venv first on PATH and VIRTUAL_ENV set", async () => {
  const repo = tempDir('command-env-repo-');
  mkdirSync(path.join(repo, '.git'));
  const backend = path.join(repo, 'apps', 'api-service');
  mkdirSync(backend, { recursive: true });
  program(path.join(repo, '.venv', 'bin', 'python'));
  const runner = fakeRunner(() => runResult({ stdout: 'ok' }));
  const deps = fakeDeps({
    env: { DATABASE_URL: 'postgresql://app@db/app', PATH: '/usr/bin:/bin', VIRTUAL_ENV: '/somewhere/else' },
    run: runner.run,
    projectRoot: backend,
    loadConfig: () => Promise.resolve(parseReleaseConfig('{}')),
  });
  await runActivity(activityEnv(), createMigrationActivities(deps).runMigrations);
  const request = runner.requests[0];
  expect(request?.cwd).toBe(backend);
  expect(request?.env.PATH?.split(path.delimiter).slice(0, 3)).toEqual([
    path.join(repo, '.venv', 'bin'),
    '/usr/bin',
    '/bin',
  ]);
  expect(request?.env.VIRTUAL_ENV).toBe(path.join(repo, '.venv'));
  expect(request?.env.DATABASE_URL).toBe('postgresql://app@db/app');
});

test('an env file with an unterminated quote fails the step as non-retryable InvalidInput naming the file and line', async () => {
  const root = tempDir('command-env-bad-');
  writeFileSync(path.join(root, '.env.local'), 'A=1\nSTRIPE_SECRET_KEY="sk_test_never_shown\n');
  const deps = fakeDeps({ projectRoot: root, loadEnv: () => loadEnvScope(root, {}) });
  await expect(loadEnvScope(root, {})).rejects.toBeInstanceOf(EnvFileError);
  const failure = await failureOf(runActivity(activityEnv(), createMigrationActivities(deps).runMigrations));
  expect(failure).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
  expect(failure.message).toMatch(
    /^\.env\.local:2: STRIPE_SECRET_KEY: the value opens a double quote that is never closed; close the quote/,
  );
  expect(failure.message).not.toContain('sk_test_never_shown');
});
