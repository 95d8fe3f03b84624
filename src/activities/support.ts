import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { backendCommandEnv, resolveBackendLayout } from '../config/backend-layout';
import type { EnvScope } from '../config/env-files';
import { redact, secretValuesOf } from '../masking';
import { tail, type GuardEvent, type RunRequest, type RunResult } from '../runtime/command-runner';
import { GUARD_EXIT } from '../runtime/guard-protocol';
import type { ActivityDeps, DbClient } from './deps';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../release/errors';

/** The env scope with the values that must be redacted from anything an activity returns. */
export interface SecretScope {
  env: EnvScope;
  secrets: string[];
  clean: (text: string) => string;
}

export async function readScope(deps: ActivityDeps): Promise<SecretScope> {
  let env: EnvScope;
  try {
    env = await deps.loadEnv();
  } catch (error) {
    // An env file edited into a directory or an unterminated quote (or a broken config) after the
    // worker started: bad input a retry cannot fix, with the file and line in the message.
    const name = (error as { type?: unknown; name?: unknown }).type ?? (error as { name?: unknown }).name;
    if (name === 'EnvFileError' || name === 'ConfigError')
      throw failure(ErrorType.InvalidInput, (error as Error).message);
    throw error;
  }
  const secrets = secretValuesOf(env.values);
  return { env, secrets, clean: (text) => redact(text, secrets) };
}

/** An ApplicationFailure with a stable type and a redacted message; non-retryable when the type says so. */
export function failure(
  type: string,
  message: string,
  scope?: SecretScope,
  details?: unknown,
): ApplicationFailure {
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
  [
    /too many clients already|remaining connection slots are reserved/i,
    'the database has no free connection slots',
  ],
  [
    /the database system is (starting up|shutting down|in recovery mode|not (yet )?accepting connections)|cannot connect now|57P03/i,
    'the database is restarting',
  ],
  [
    /connection refused|could not connect to server|connection to server at .* failed|ECONNREFUSED|Is the server running/i,
    'the database refused the connection',
  ],
  [
    /server closed the connection unexpectedly|terminating connection due to (administrator command|crash of another server process)|connection terminated unexpectedly|Connection terminated|could not (receive|send) data (from|to) server|SSL connection has been closed unexpectedly|consuming input failed|ECONNRESET|EPIPE|57P01|57P02/i,
    'the database closed the connection',
  ],
  [
    /could not translate host name|temporary failure in name resolution|EAI_AGAIN/i,
    'the database host name did not resolve',
  ],
  [
    /timeout expired|connection timed out|ETIMEDOUT|timeout exceeded when trying to connect/i,
    'the database did not answer in time',
  ],
  [
    /deadlock detected|could not obtain lock|canceling statement due to lock timeout/i,
    'the migration waited on a lock held by another session',
  ],
];

/**
 * PostgreSQL error codes a retry can fix: connection exceptions (class 08), operator
 * intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now),
 * too many connections, serialization failure, deadlock, lock not available.
 */
const TRANSIENT_SQLSTATES = /^(08\w{3}|57P0[123]|53300|40001|40P01|55P03)$/;
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Why a failed command's output looks transient, or null when it is a real failure. */
export function transientDatabaseError(output: string): string | null {
  for (const [pattern, reason] of TRANSIENT_DATABASE_ERRORS) if (pattern.test(output)) return reason;
  return null;
}

/** The failure for a command that exited non-zero: a retryable DatabaseBusy when transient. */
export function commandFailure(
  type: string,
  message: string,
  output: string,
  scope: SecretScope,
  details?: unknown,
): ApplicationFailure {
  const transient = transientDatabaseError(output);
  return transient
    ? failure(ErrorType.DatabaseBusy, `${message} (${transient}: retried)`, scope, details)
    : failure(type, message, scope, details);
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

/** True for errors thrown by this code on purpose (a typed ApplicationFailure), which pass through untouched. */
function isApplicationFailure(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ApplicationFailure'
  );
}

/**
 * Why a database client error is transient (the server restarting, going away, busy), or null
 * for a real failure (bad SQL, a constraint, missing table) that a retry would only repeat.
 */
export function transientDatabaseFailure(error: unknown): string | null {
  const err = error as { code?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message : String(error);
  if (TRANSIENT_SQLSTATES.test(code) || TRANSIENT_NODE_CODES.has(code)) {
    return transientDatabaseError(`${message} ${code}`) ?? `the database reported ${code}`;
  }
  return transientDatabaseError(message);
}

/**
 * Opens a connection and runs `use`, classifying a refusal (DatabaseUnreachable) and a transient
 * error while in use (DatabaseBusy: the server restarted, dropped the connection, was busy) as
 * retryable, with the password kept out of the message. Other errors pass through as they are.
 */
export async function withDb<T>(
  deps: ActivityDeps,
  scope: SecretScope,
  use: (db: DbClient) => Promise<T>,
): Promise<T> {
  return withDbOnDemand(deps, scope, (db) => db(use));
}

/** Runs one piece of database work on the activity's connection (see withDbOnDemand). */
export type DbSession = <U>(use: (db: DbClient) => Promise<U>) => Promise<U>;

/**
 * Like withDb for an activity that may need the database several times, or not at all: the
 * connection is opened on the first use (a step whose answers are all journaled opens none) and
 * kept for the rest of `work`, so the step pays for one connection, not one per query group.
 * Closing is not waited for: every statement has completed (and committed) when `work` returns,
 * and the server ends the session by itself; waiting cost each step 2–4 ms (issue 15).
 */
export async function withDbOnDemand<T>(
  deps: ActivityDeps,
  scope: SecretScope,
  work: (db: DbSession) => Promise<T>,
): Promise<T> {
  // A holder, not a `let`: the compiler cannot see the assignment inside `session` below.
  const opened: { connection: Promise<DbClient> | null } = { connection: null };
  const connect = async (): Promise<DbClient> => {
    const url = requireDatabaseUrl(scope);
    try {
      return await deps.connectDb(url);
    } catch (error) {
      throw failure(
        ErrorType.DatabaseUnreachable,
        `cannot connect to DATABASE_URL: ${(error as Error).message}`,
        scope,
      );
    }
  };
  const session: DbSession = async (use) => {
    opened.connection ??= connect();
    const db = await opened.connection;
    try {
      return await use(db);
    } catch (error) {
      if (isApplicationFailure(error)) throw error;
      const transient = transientDatabaseFailure(error);
      if (transient)
        throw failure(ErrorType.DatabaseBusy, `${(error as Error).message} (${transient}: retried)`, scope);
      throw error;
    }
  };
  try {
    return await work(session);
  } finally {
    if (opened.connection)
      void opened.connection.then(
        (db) => db.end().catch(() => undefined),
        () => undefined,
      );
  }
}

/**
 * Heartbeats while a long promise runs, so a dead worker is noticed within the heartbeat timeout
 * and a cancellation reaches the activity. `details` (read at each beat) shows what the step is
 * doing, e.g. waiting for an earlier migrate; Temporal keeps it with the pending activity.
 */
export async function heartbeating<T>(
  work: Promise<T>,
  everyMs = 2_000,
  details?: () => unknown,
): Promise<T> {
  const ctx = Context.current();
  const beat = () => ctx.heartbeat(details?.());
  beat();
  const timer = setInterval(beat, everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/**
 * How long a command may run in this attempt: the activity's start-to-close timeout less a
 * margin, so the command's whole process tree is stopped (and the reason reported) before
 * Temporal gives up on the attempt.
 */
export function commandTimeoutMs(): number {
  const total = Context.current().info.startToCloseTimeoutMs;
  const margin = Math.min(10_000, Math.floor(total / 10));
  return Math.max(1_000, total - margin);
}

/** The attempt's log file, beside the run's journal: every command of the attempt is appended to it. */
export function attemptLogFile(deps: ActivityDeps): string {
  const info = Context.current().info;
  const { workflowId, runId } = executionIds();
  const name = `${workflowId}--${runId}--${info.activityType}-attempt${info.attempt}.log`;
  return path.join(deps.stateDir, name.replace(/[^A-Za-z0-9_.-]/g, '_'));
}

export interface BackendCommandOptions {
  /**
   * Run under the migrate guard holding this advisory lock in the target database: at most one
   * migrate process per database, and a retry waits for an orphaned earlier run instead of
   * starting a second one beside it.
   */
  exclusiveLock?: string;
  /** The failure type when the command runs past the step's time limit; default CommandFailed. */
  timeoutFailureType?: string;
  /** A shorter limit than the step's (never longer); with it, a command stopped there is returned (timedOut), not thrown. */
  ownTimeoutMs?: number;
  /** The command's script understands `--serve-once`: it may run in a process started ahead (RunRequest.warm). */
  warm?: RunRequest['warm'];
}

/** What the step is doing now, for heartbeat details and the activity log. */
export interface CommandProgress {
  command: string;
  logFile: string;
  /** Set while the guard waits for an earlier migrate still running. */
  waitingFor: string | null;
  pid: number | null;
}

/**
 * Runs a configured command with the backend's env, heartbeating, and returns redacted output.
 * The backend's virtualenv (config `venv`, else `.venv`/`venv` in the project or repository root,
 * else VIRTUAL_ENV) comes first on PATH, so `alembic` and `python3` are the backend's own.
 * The full output streams to the attempt's log file; a timeout or a cancellation stops the whole
 * process tree. Throws the failure for what is not the command's own verdict: not found, stopped
 * for its time limit, cancelled, or (guarded) the database unavailable for the lock.
 */
export async function runBackendCommand(
  deps: ActivityDeps,
  scope: SecretScope,
  command: readonly string[],
  options: BackendCommandOptions = {},
): Promise<RunResult & { commandLine: string; logFile: string }> {
  const ctx = Context.current();
  const commandLine = command.join(' ');
  const logFile = attemptLogFile(deps);
  const timeoutMs = Math.min(commandTimeoutMs(), options.ownTimeoutMs ?? Number.POSITIVE_INFINITY);
  if (options.exclusiveLock) requireDatabaseUrl(scope);
  const layout = await resolveBackendLayout(deps.projectRoot, await deps.loadConfig(), scope.env.values);
  const progress: CommandProgress = {
    command: scope.clean(commandLine),
    logFile,
    waitingFor: null,
    pid: null,
  };
  const onGuardEvent = (event: GuardEvent) => {
    if (event.kind === 'waiting') {
      progress.waitingFor = scope.clean(event.text);
      ctx.log.warn(`\`${progress.command}\`: ${progress.waitingFor}`);
    } else if (event.kind === 'locked' || event.kind === 'started') {
      progress.waitingFor = null;
      if (event.processGroup) progress.pid = event.processGroup;
    }
  };
  let result: RunResult;
  try {
    result = await heartbeating(
      deps.run({
        command,
        cwd: deps.projectRoot,
        env: backendCommandEnv(layout, scope.env.values),
        signal: ctx.cancellationSignal,
        timeoutMs,
        logFile,
        ...(options.exclusiveLock ? { exclusiveLock: options.exclusiveLock, onGuardEvent } : {}),
        ...(options.warm ? { warm: options.warm } : {}),
      }),
      2_000,
      () => ({ ...progress }),
    );
  } catch (error) {
    throw failure(
      ErrorType.CommandFailed,
      `cannot run \`${commandLine}\`: ${(error as Error).message}`,
      scope,
    );
  }
  if (result.notFound) {
    throw failure(
      ErrorType.CommandNotFound,
      `\`${commandLine}\`: "${command[0] ?? ''}" was not found ` +
        (layout.venv
          ? `in the backend's virtualenv (${layout.venv.path}) or on the worker's PATH`
          : "on the worker's PATH (no backend virtualenv found)") +
        '; install it, set "venv" in release.config.json, or change the command in release.config.json',
    );
  }
  const cleaned = {
    ...result,
    stdout: scope.clean(result.stdout),
    stderr: scope.clean(result.stderr),
    all: scope.clean(result.all),
    commandLine,
    logFile: result.logFile ?? logFile,
  };
  const outcome = {
    command: commandLine,
    exitCode: cleaned.exitCode,
    durationMs: cleaned.durationMs,
    output: outputTail(cleaned),
    logFile: cleaned.logFile,
  };
  const events = result.guardEvents ?? [];
  const last = (kind: GuardEvent['kind']) => [...events].reverse().find((e) => e.kind === kind);
  const waiting = last('waiting');
  const started = events.some((e) => e.kind === 'started');
  // The caller set its own deadline and reads what the command printed before it was stopped.
  if (result.timedOut && options.ownTimeoutMs !== undefined && !ctx.cancellationSignal.aborted)
    return cleaned;
  if (result.timedOut) {
    if (options.exclusiveLock && !started && waiting) {
      // The lock is still held by an earlier run (an orphan of a dead worker): its own guard stops
      // it at its deadline, so a later attempt can run.
      throw failure(
        ErrorType.DatabaseBusy,
        `\`${commandLine}\` did not start within the step's ${Math.round(timeoutMs / 1000)} s: ${waiting.text} (retried)`,
        scope,
        outcome,
      );
    }
    throw failure(
      options.timeoutFailureType ?? ErrorType.CommandFailed,
      `\`${commandLine}\` ran past the step's time limit (${Math.round(timeoutMs / 1000)} s) and was stopped with its whole process tree (SIGTERM, then SIGKILL); ` +
        `see ${cleaned.logFile}`,
      scope,
      outcome,
    );
  }
  if (result.interrupted) {
    // The SDK's way to end a cancelled activity; the reason (CANCELLED, WORKER_SHUTDOWN, …) says why.
    const reason = (ctx.cancellationSignal.reason as { message?: unknown } | undefined)?.message;
    const why = typeof reason === 'string' && reason ? ` (${reason})` : '';
    throw new CancelledFailure(
      scope.clean(`\`${commandLine}\` was cancelled${why}; its whole process tree was stopped`),
      [outcome],
    );
  }
  const guardFailure =
    result.exitCode === GUARD_EXIT.unavailable
      ? (events.find((e) => e.kind === 'lost-lock') ?? last('unavailable'))
      : undefined;
  if (options.exclusiveLock && guardFailure) {
    const what = guardFailure.kind === 'lost-lock' ? 'was stopped' : 'did not start';
    throw failure(
      ErrorType.DatabaseUnreachable,
      `\`${commandLine}\` ${what}: ${guardFailure.text} (retried)`,
      scope,
      outcome,
    );
  }
  return cleaned;
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

const journalSchema = z.record(z.string(), z.unknown());
/** Where each journal read came from, so an entry that is not what it should be names its file. */
const journalFiles = new WeakMap<object, string>();

/**
 * A journal that is there but unreadable is never taken for an empty one: that would tell a
 * compensation nothing was changed. It fails final, naming the file, with what to do.
 */
function journalUnreadable(file: string, what: string): ApplicationFailure {
  return failure(
    ErrorType.InvalidInput,
    `the run's journal ${file} ${what}: it records what the release changed, for its compensations; ` +
      'restore the file from a backup, or undo the changes the release summary lists by hand',
  );
}

/** What this run's journal holds (nothing yet when it has no file); compensations read it, so they also undo a step that failed half-way. */
export async function readJournal(deps: ActivityDeps, ref?: JournalRef): Promise<Record<string, unknown>> {
  const file = journalFile(deps, ref);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw journalUnreadable(file, `is not JSON (${(error as Error).message})`);
  }
  const parsed = journalSchema.safeParse(json);
  if (!parsed.success) throw journalUnreadable(file, 'is not a JSON object of entries');
  journalFiles.set(parsed.data, file);
  return parsed.data;
}

/** Names the first problem zod found: `previousPriceIds.pro: expected string, received number`. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

/** One entry of a journal `readJournal` returned, checked against its schema; undefined when the run never wrote it. */
export function journalEntry<S extends z.ZodType>(
  journal: Record<string, unknown>,
  key: string,
  schema: S,
): z.output<S> | undefined {
  if (!(key in journal) || journal[key] === undefined) return undefined;
  const parsed = schema.safeParse(journal[key]);
  if (!parsed.success) {
    throw journalUnreadable(
      journalFiles.get(journal) ?? 'file',
      `has an entry "${key}" that is not what the release wrote (${firstIssue(parsed.error)})`,
    );
  }
  return parsed.data;
}

/**
 * The value journaled under `key` by an earlier attempt of this run, or `compute()`'s, journaled
 * before it is returned. With a schema, a journaled value is checked before it is trusted.
 */
export async function rememberOnce<T>(
  deps: ActivityDeps,
  key: string,
  compute: () => Promise<T>,
  schema?: z.ZodType<T>,
): Promise<T> {
  const file = journalFile(deps);
  const journal = await readJournal(deps);
  if (key in journal) return schema ? (journalEntry(journal, key, schema) as T) : (journal[key] as T);
  const value = await compute();
  journal[key] = value;
  await mkdir(deps.stateDir, { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(journal), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return value;
}
