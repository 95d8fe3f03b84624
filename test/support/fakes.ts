/* eslint-disable @typescript-eslint/require-await -- the fakes implement async interfaces synchronously */
/**
 * In-memory fakes for activity unit tests: an ActivityDeps builder, a scripted CommandRunner, and
 * helpers that run an activity in a MockActivityEnvironment and capture the failure it throws.
 * (Stripe has no fake: Stripe tests drive the loopback peer through the official SDK.)
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DbClient, ActivityDeps } from '../../src/activities/deps';
import type { EnvScope } from '../../src/config/env-files';
import { parseReleaseConfig } from '../../src/config/release-config';
import type { CommandRunner, RunRequest, RunResult } from '../../src/runtime/command-runner';

// ---------------------------------------------------------------------------------------------
// Temp dirs

const tempDirs: string[] = [];

/** A fresh temp dir, removed by `removeTempDirs()` (call it from afterAll). */
export function tempDir(prefix = 'db-release-unit-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Env scope and deps

export function envScope(values: Record<string, string>): EnvScope {
  const sources = Object.fromEntries(Object.keys(values).map((k) => [k, '.env.local']));
  return { values: { ...values }, sources, filesFound: ['.env.local'] };
}

export function runResult(overrides: Partial<RunResult> = {}): RunResult {
  const stdout = overrides.stdout ?? '';
  const stderr = overrides.stderr ?? '';
  return {
    exitCode: 0,
    stdout,
    stderr,
    all: overrides.all ?? [stdout, stderr].filter(Boolean).join('\n'),
    durationMs: 5,
    notFound: false,
    interrupted: false,
    ...overrides,
  };
}

export interface FakeRunner {
  run: CommandRunner;
  requests: RunRequest[];
  /** The command lines run so far, joined by spaces. */
  commands(): string[];
}

/**
 * A CommandRunner answering from `respond` (given the command line joined by spaces); every
 * request is recorded. An unanswered command fails the test loudly.
 */
export function fakeRunner(
  respond: (commandLine: string, request: RunRequest) => RunResult | undefined,
): FakeRunner {
  const requests: RunRequest[] = [];
  return {
    requests,
    commands: () => requests.map((r) => r.command.join(' ')),
    run: async (request) => {
      requests.push(request);
      const line = request.command.join(' ');
      const result = respond(line, request);
      if (!result) throw new Error(`fakeRunner: no answer scripted for \`${line}\``);
      return result;
    },
  };
}

export interface FakeDb extends DbClient {
  queries: string[];
  ended: boolean;
}

/** A DbClient answering every query with `rows`. */
export function fakeDb(rows: object[] = [{ version: 'PostgreSQL 16.4 on x86_64-pc-linux-gnu' }]): FakeDb {
  const db: FakeDb = {
    queries: [],
    ended: false,
    async query<R extends object = Record<string, unknown>>(
      sql: string,
    ): Promise<{ rows: R[]; rowCount: number | null }> {
      db.queries.push(sql);
      return { rows: rows as unknown as R[], rowCount: rows.length };
    },
    async end() {
      db.ended = true;
    },
  };
  return db;
}

export function fakeDeps(
  overrides: Partial<ActivityDeps> & { env?: Record<string, string> } = {},
): ActivityDeps {
  const { env, ...rest } = overrides;
  const scope = envScope(env ?? {});
  return {
    projectRoot: '/srv/backend',
    loadEnv: async () => envScope(scope.values),
    loadConfig: async () => parseReleaseConfig('{}'),
    run: async (request) => {
      throw new Error(`unexpected command in this test: ${request.command.join(' ')}`);
    },
    connectDb: async () => {
      throw new Error('unexpected database connection in this test');
    },
    stripe: () => {
      throw new Error('unexpected Stripe gateway in this test');
    },
    stateDir: tempDir('db-release-state-'),
    ...rest,
  };
}

// ---------------------------------------------------------------------------------------------
// Activity environment and failures

/**
 * Runs `fn` as an activity in `env` with its result type kept (MockActivityEnvironment.run cannot
 * infer it for functions without arguments).
 */
export function runActivity<A extends unknown[], R>(
  env: MockActivityEnvironment,
  fn: (...args: A) => Promise<R>,
  ...args: A
): Promise<R> {
  return env.run<A, R, (...args: A) => Promise<R>>(fn, ...args);
}

/** A MockActivityEnvironment for one attempt of an activity in workflow `workflowId`, run `runId`. */
export function activityEnv(workflowId = 'wf', runId = 'run1', attempt = 1): MockActivityEnvironment {
  return new MockActivityEnvironment(
    { workflowExecution: { workflowId, runId }, activityId: '1', attempt },
    { logger: new DefaultLogger('ERROR') },
  );
}

export interface CapturedFailure {
  name: string;
  message: string;
  type: string | null;
  nonRetryable: boolean | null;
  details: unknown[];
}

/** The error a promise rejects with, narrowed to the fields of an ApplicationFailure; fails if it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<CapturedFailure> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error('expected a failure, but the call succeeded');
  if (!(caught instanceof Error)) throw new Error(`expected an Error, got ${JSON.stringify(caught)}`);
  const record = caught as unknown as Record<string, unknown>;
  return {
    name: caught.name,
    message: caught.message,
    type: typeof record.type === 'string' ? record.type : null,
    nonRetryable: typeof record.nonRetryable === 'boolean' ? record.nonRetryable : null,
    details: Array.isArray(record.details) ? (record.details as unknown[]) : [],
  };
}
