import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EnvScope } from '../config/env-files';
import { redact, secretValuesOf } from '../masking';
import { tail, type RunResult } from '../runtime/command-runner';
import type { ActivityDeps, DbClient } from './deps';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../release/errors';

/** The env scope with the values that must be redacted from anything an activity returns. */
export interface SecretScope {
  env: EnvScope;
  secrets: string[];
  clean: (text: string) => string;
}

export async function readScope(deps: ActivityDeps): Promise<SecretScope> {
  const env = await deps.loadEnv();
  const secrets = secretValuesOf(env.values);
  return { env, secrets, clean: (text) => redact(text, secrets) };
}

/** An ApplicationFailure with a stable type and a redacted message; non-retryable when the type says so. */
export function failure(type: string, message: string, scope?: SecretScope, details?: unknown): ApplicationFailure {
  const text = scope ? scope.clean(message) : message;
  return ApplicationFailure.create({
    type,
    message: text,
    nonRetryable: NON_RETRYABLE_ERROR_TYPES.includes(type),
    details: details === undefined ? undefined : [details],
  });
}

/**
 * Database errors a retry can fix: the server is busy, restarting or briefly unreachable. A
 * command (Alembic, the migrate recipe) that fails with one of these is retried with backoff
 * instead of failing the release; PostgreSQL runs each Alembic migration in a transaction, so a
 * retried migrate resumes from the revision reached.
 */
const TRANSIENT_DATABASE_ERRORS: Array<[RegExp, string]> = [
  [/too many clients already|remaining connection slots are reserved/i, 'the database has no free connection slots'],
  [/the database system is (starting up|shutting down|in recovery mode)/i, 'the database is restarting'],
  [/connection refused|could not connect to server|connection to server at .* failed/i, 'the database refused the connection'],
  [/server closed the connection unexpectedly|terminating connection due to administrator command/i, 'the database closed the connection'],
  [/could not translate host name|temporary failure in name resolution/i, 'the database host name did not resolve'],
  [/deadlock detected|could not obtain lock|canceling statement due to lock timeout/i, 'the migration waited on a lock held by another session'],
];

/** Why a failed command's output looks transient, or null when it is a real failure. */
export function transientDatabaseError(output: string): string | null {
  for (const [pattern, reason] of TRANSIENT_DATABASE_ERRORS) if (pattern.test(output)) return reason;
  return null;
}

/** The failure for a command that exited non-zero: a retryable DatabaseBusy when transient. */
export function commandFailure(type: string, message: string, output: string, scope: SecretScope, details?: unknown): ApplicationFailure {
  const transient = transientDatabaseError(output);
  return transient ? failure(ErrorType.DatabaseBusy, `${message} (${transient}: retried)`, scope, details) : failure(type, message, scope, details);
}

export function requireDatabaseUrl(scope: SecretScope): string {
  const url = scope.env.values.DATABASE_URL;
  if (!url) {
    throw failure(
      ErrorType.MissingDatabaseUrl,
      'DATABASE_URL is not set: add it to the backend .env.local (or .env / .env.compose) or the worker environment',
    );
  }
  return url;
}

/** Opens a connection, classifying a refusal as transient (retried) with the password kept out of the message. */
export async function withDb<T>(deps: ActivityDeps, scope: SecretScope, use: (db: DbClient) => Promise<T>): Promise<T> {
  const url = requireDatabaseUrl(scope);
  let db: DbClient;
  try {
    db = await deps.connectDb(url);
  } catch (error) {
    throw failure(ErrorType.DatabaseUnreachable, `cannot connect to DATABASE_URL: ${(error as Error).message}`, scope);
  }
  try {
    return await use(db);
  } finally {
    await db.end().catch(() => undefined);
  }
}

/** Heartbeats while a long promise runs, so a dead worker is noticed within the heartbeat timeout. */
export async function heartbeating<T>(work: Promise<T>, everyMs = 2_000): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** Runs a configured command with the backend's env, heartbeating, and returns redacted output. */
export async function runBackendCommand(
  deps: ActivityDeps,
  scope: SecretScope,
  command: readonly string[],
): Promise<RunResult & { commandLine: string }> {
  const ctx = Context.current();
  const commandLine = command.join(' ');
  const result = await heartbeating(
    deps.run({ command, cwd: deps.projectRoot, env: scope.env.values, signal: ctx.cancellationSignal }),
  );
  if (result.notFound) {
    throw failure(
      ErrorType.CommandNotFound,
      `\`${commandLine}\`: "${command[0] ?? ''}" was not found on the worker's PATH; install it or change the command in release.config.json`,
    );
  }
  return {
    ...result,
    stdout: scope.clean(result.stdout),
    stderr: scope.clean(result.stderr),
    all: scope.clean(result.all),
    commandLine,
  };
}

export function outputTail(result: RunResult): string {
  return tail(result.all.trim());
}

/** Ids of the running activity's workflow, for idempotency keys and journals. */
export function executionIds(): { workflowId: string; runId: string } {
  const info = Context.current().info;
  // Activities always run inside our workflow; the fallback only serves standalone test harnesses.
  return {
    workflowId: info.workflowExecution?.workflowId ?? 'standalone',
    runId: info.workflowExecution?.runId ?? info.activityId,
  };
}

/**
 * A per-run journal on the worker's disk. A retried activity finds what its first attempt saw
 * before it changed anything, so compensation data survives a crash between change and report.
 */
/** Which run's journal: this one's, or (for `release rollback`) the release being undone. */
export interface JournalRef {
  workflowId: string;
  runId: string;
}

function journalFile(deps: ActivityDeps, ref?: JournalRef): string {
  const { workflowId, runId } = ref ?? executionIds();
  return path.join(deps.stateDir, `${workflowId}--${runId}.json`.replace(/[^A-Za-z0-9_.-]/g, '_'));
}

/** What this run's journal holds; compensations read it, so they also undo a step that failed half-way. */
export async function readJournal(deps: ActivityDeps, ref?: JournalRef): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(journalFile(deps, ref), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export async function rememberOnce<T>(deps: ActivityDeps, key: string, compute: () => Promise<T>): Promise<T> {
  const file = journalFile(deps);
  const journal = await readJournal(deps);
  if (key in journal) return journal[key] as T;
  const value = await compute();
  journal[key] = value;
  await mkdir(deps.stateDir, { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(journal), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return value;
}
