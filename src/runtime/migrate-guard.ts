/**
 * The migrate guard: runs one command (the backend's migrate or downgrade) while holding a
 * session-level PostgreSQL advisory lock on the target database, so at most one migrate process
 * per database ever runs, even across worker crashes.
 *
 *   node dist/src/runtime/migrate-guard.js --lock migrate [--timeout-ms N] [--log FILE]
 *        [--watch-stdin] [--poll-ms N] [--grace-ms N] -- just migrate
 *   node dist/src/runtime/migrate-guard.js --serve-once SECONDS
 *        (started ahead by the worker: the arguments, directory and environment come as one
 *        JSON line on stdin, so Node and pg are loaded before the migrate step needs them)
 *
 * DATABASE_URL comes from the environment (the same env the command gets). The guard:
 * 1. connects (its own session, application_name naming its pid and host) and polls
 *    `pg_try_advisory_lock`; while another guard holds the lock it prints
 *    `[migrate-guard:waiting] waiting for an earlier migrate still running, pid …` and waits;
 * 2. starts the command in its own process group, streams its output (redacted) to stdout/stderr
 *    and to the log file;
 * 3. exits with the command's code; the lock goes with the connection when the guard exits.
 *
 * Why the guard outlives the worker (the choice the crash-safety issue asked for): the runner
 * starts the guard in its own session, so a worker SIGKILL leaves guard and command running
 * together, orphaned, with the lock held. The retried attempt's guard then waits for the lock and
 * runs the migrate command again once the orphan is done (`alembic upgrade head` is a no-op when
 * the orphan finished the work). Killing the command with the worker instead would interrupt a
 * migration half-way, which for a non-transactional migration is worse than letting it finish.
 * The command never runs without the lock: if the connection that holds it breaks, the guard stops
 * the command's process group and exits 75 (the step retries when the database is back). An
 * orphan is still bounded: the guard enforces the step's deadline itself (`--timeout-ms`) and
 * stops the whole process group (SIGTERM, then SIGKILL) when it passes. A guard that is still
 * waiting when its worker dies (stdin closes with `--watch-stdin`) gives up without running: nobody
 * would read its result, and the retry has its own guard.
 *
 * Session-level advisory locks need a direct connection (or session pooling); a transaction-pooling
 * proxy such as PgBouncer in transaction mode cannot hold them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import pg from 'pg';
import {
  advisoryLockKey,
  advisoryLockParts,
  GUARD_EXIT,
  guardLine,
  type GuardEventKind,
} from './guard-protocol';
import { redactorFor, StreamRedactor } from './output';
import { groupAlive, stopProcessGroup } from './process-group';

export interface GuardOptions {
  lock: string;
  timeoutMs: number | null;
  logFile: string | null;
  watchStdin: boolean;
  pollMs: number;
  graceMs: number;
  command: string[];
}

const USAGE =
  'usage: migrate-guard --lock NAME [--timeout-ms N] [--log FILE] [--watch-stdin] [--poll-ms N] [--grace-ms N] -- COMMAND [ARGS…]';

/** Parses the guard's arguments; a string is the error to print. */
export function parseGuardArgs(argv: readonly string[]): GuardOptions | string {
  const options: GuardOptions = {
    lock: '',
    timeoutMs: null,
    logFile: null,
    watchStdin: false,
    pollMs: 1_000,
    graceMs: 5_000,
    command: [],
  };
  const number = (flag: string, value: string | undefined): number | string => {
    const n = Number(value);
    return value !== undefined && Number.isFinite(n) && n > 0
      ? n
      : `${flag} needs a positive number of milliseconds`;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--') {
      options.command = argv.slice(i + 1);
      break;
    }
    const value = argv[i + 1];
    if (arg === '--watch-stdin') options.watchStdin = true;
    else if (arg === '--lock' || arg === '--log') {
      if (!value) return `${arg} needs a value`;
      if (arg === '--lock') options.lock = value;
      else options.logFile = value;
      i += 1;
    } else if (arg === '--timeout-ms' || arg === '--poll-ms' || arg === '--grace-ms') {
      const n = number(arg, value);
      if (typeof n === 'string') return n;
      if (arg === '--timeout-ms') options.timeoutMs = n;
      else if (arg === '--poll-ms') options.pollMs = n;
      else options.graceMs = n;
      i += 1;
    } else return `unknown option ${arg}`;
  }
  if (!options.lock) return '--lock NAME is required (e.g. --lock migrate)';
  if (options.command.length === 0) return 'give the command after --, e.g. -- just migrate';
  return options;
}

/** SQLAlchemy URLs name a driver (`postgresql+psycopg://`); node-postgres wants the plain scheme. */
export function plainPostgresUrl(url: string): string {
  return url.replace(/^postgres(?:ql)?\+[a-z0-9_]+:/i, 'postgresql:');
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

class Guard {
  private readonly clean = redactorFor(process.env);
  private log: WriteStream | null = null;
  private stdoutBroken = false;
  private stderrBroken = false;
  private client: pg.Client | null = null;
  private child: ChildProcess | null = null;
  private parentGone = false;
  private finishing = false;
  /** When the command last printed: its pipes are read to the end while output keeps flowing. */
  private lastOutputAt = Date.now();
  private readonly stopWaiting = new AbortController();
  private readonly started = Date.now();
  private readonly commandLine: string;

  constructor(private readonly options: GuardOptions) {
    this.commandLine = options.command.join(' ');
  }

  async run(): Promise<never> {
    this.openLog();
    process.stdout.on('error', () => (this.stdoutBroken = true));
    process.stderr.on('error', () => (this.stderrBroken = true));
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
      process.on(signal, () => void this.onSignal(signal));
    if (this.options.watchStdin) this.watchParent();
    if (this.options.timeoutMs) setTimeout(() => void this.onDeadline(), this.options.timeoutMs).unref();

    const url = process.env.DATABASE_URL;
    if (!url)
      return this.exit(
        GUARD_EXIT.usage,
        'unavailable',
        'DATABASE_URL is not set: the guard takes its lock in that database',
      );
    await this.connect(url);
    await this.acquire();
    if (this.parentGone)
      return this.exit(
        GUARD_EXIT.unavailable,
        'parent-gone',
        'the worker that started this guard is gone; not starting the command',
      );
    return this.runCommand();
  }

  private openLog(): void {
    if (!this.options.logFile) return;
    this.log = createWriteStream(this.options.logFile, { flags: 'a', mode: 0o600 });
    // A log that cannot be written must not stop a migration half-way: the output still streams.
    this.log.on('error', () => (this.log = null));
  }

  private write(target: 'stdout' | 'stderr', text: string): Promise<void> | null {
    const waits: Array<Promise<void>> = [];
    const stream = target === 'stdout' ? process.stdout : process.stderr;
    const broken = target === 'stdout' ? this.stdoutBroken : this.stderrBroken;
    if (!broken) {
      try {
        if (!stream.write(text)) waits.push(drained(stream));
      } catch {
        if (target === 'stdout') this.stdoutBroken = true;
        else this.stderrBroken = true;
      }
    }
    if (this.log && !this.log.write(text)) waits.push(drained(this.log));
    return waits.length ? Promise.all(waits).then(() => undefined) : null;
  }

  private say(kind: GuardEventKind, text: string): void {
    void this.write('stderr', this.clean(guardLine(kind, text)));
  }

  private watchParent(): void {
    const gone = () => {
      if (this.parentGone) return;
      this.parentGone = true;
      this.stopWaiting.abort();
      if (this.child) {
        this.say(
          'locked',
          `the worker that started this guard is gone; \`${this.commandLine}\` keeps running with the lock held and a retry waits for it`,
        );
      }
    };
    process.stdin.on('end', gone);
    process.stdin.on('close', gone);
    process.stdin.on('error', gone);
    process.stdin.resume();
  }

  private async connect(url: string): Promise<void> {
    const client = new pg.Client({
      connectionString: plainPostgresUrl(url),
      application_name: `db-release migrate-guard pid=${process.pid} host=${os.hostname()}`,
      connectionTimeoutMillis: 10_000,
      // A partitioned network is noticed (TCP keepalive, and a `select 1` that cannot take a
      // minute) instead of the guard believing it still holds the lock.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      query_timeout: 60_000,
    });
    client.on('error', (error) => void this.onConnectionLost(error));
    client.on('end', () => void this.onConnectionLost(new Error('the server closed the connection')));
    try {
      await client.connect();
      // This session only holds the lock; server-wide idle or statement limits must not end it.
      await client.query("select set_config('statement_timeout', '0', false)");
      await client.query("select set_config('idle_session_timeout', '0', false)").catch(() => undefined);
    } catch (error) {
      await client.end().catch(() => undefined);
      return this.exit(
        GUARD_EXIT.unavailable,
        'unavailable',
        `cannot connect to DATABASE_URL to take the ${this.options.lock} lock: ${messageOf(error)}`,
      );
    }
    this.client = client;
  }

  private async acquire(): Promise<void> {
    const client = this.client as pg.Client;
    const key = advisoryLockKey(this.options.lock);
    const parts = advisoryLockParts(key);
    let lastHolder = '';
    for (;;) {
      if (this.parentGone) return;
      let locked: boolean;
      try {
        const { rows } = await client.query<{ locked: boolean }>(
          'select pg_try_advisory_lock($1::bigint) as locked',
          [key.toString()],
        );
        locked = rows[0]?.locked === true;
        if (!locked) {
          const holder = await describeHolder(client, parts);
          if (holder !== lastHolder)
            this.say('waiting', `waiting for an earlier ${this.options.lock} still running, ${holder}`);
          lastHolder = holder;
        }
      } catch (error) {
        return this.exit(
          GUARD_EXIT.unavailable,
          'unavailable',
          `lost the database while waiting for the ${this.options.lock} lock: ${messageOf(error)}`,
        );
      }
      if (locked) break;
      await sleep(this.options.pollMs, this.stopWaiting.signal);
    }
    const session = await client
      .query<{ pid: number }>('select pg_backend_pid() as pid')
      .then((r) => r.rows[0]?.pid)
      .catch(() => undefined);
    this.say(
      'locked',
      `holding the ${this.options.lock} lock (database session ${session ?? '?'}); starting \`${this.commandLine}\``,
    );
  }

  private async runCommand(): Promise<never> {
    const [file, ...args] = this.options.command as [string, ...string[]];
    const child = spawn(file, args, { env: process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const spawned = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    });
    if (spawned) {
      this.child = null;
      if (spawned.code === 'ENOENT')
        return this.exit(GUARD_EXIT.notFound, 'not-found', `"${file}" was not found on PATH`);
      return this.exit(GUARD_EXIT.notFound, 'not-found', `cannot start "${file}": ${spawned.message}`);
    }
    const pgid = child.pid as number;
    this.say('started', `\`${this.commandLine}\` runs as pid ${pgid} (process group ${pgid})`);
    const streams = [this.forward(child.stdout, 'stdout'), this.forward(child.stderr, 'stderr')];
    const keepAlive = setInterval(() => {
      this.client?.query('select 1').catch((error: unknown) => void this.onConnectionLost(error));
    }, 5_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    clearInterval(keepAlive);
    if (this.finishing) return new Promise<never>(() => undefined);
    this.finishing = true;
    // Nothing of the command may outlive the lock: stop what it left behind in its process group.
    if (groupAlive(pgid)) await stopProcessGroup(pgid, this.options.graceMs);
    // Read the pipes to the end: a loud command's last megabytes may still be in them at its exit,
    // and on a busy machine that takes more than a moment. Give up only once nothing flows for 2 s
    // (something left holding the pipes).
    const allRead = Promise.all(streams).then(() => true);
    const within = (ms: number) =>
      Promise.race([allRead, sleep(ms, new AbortController().signal).then(() => false)]);
    // Counted from the exit too, so a quiet command's output read late on a busy machine is kept.
    const exitedAt = Date.now();
    let read = await within(500);
    while (!read && Date.now() - Math.max(this.lastOutputAt, exitedAt) < 2_000) read = await within(500);
    const exitCode = code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 1);
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    this.child = null;
    return this.exit(
      exitCode,
      'finished',
      `\`${this.commandLine}\` ${how}; releasing the ${this.options.lock} lock`,
      true,
    );
  }

  /** Streams one output of the command, redacted, with backpressure from the worker's pipe and the log file. */
  private forward(source: Readable, target: 'stdout' | 'stderr'): Promise<void> {
    const redactor = new StreamRedactor(this.clean);
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => {
      this.lastOutputAt = Date.now();
      const text = redactor.push(chunk);
      const wait = text ? this.write(target, text) : null;
      if (wait) {
        source.pause();
        void wait.then(() => source.resume());
      }
    });
    return new Promise((resolve) => {
      source.once('close', () => {
        const rest = redactor.flush();
        if (rest) void this.write(target, rest);
        resolve();
      });
    });
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (child?.pid) await stopProcessGroup(child.pid, this.options.graceMs);
  }

  private async onSignal(signal: NodeJS.Signals): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    this.stopWaiting.abort();
    if (this.child)
      this.say(
        'stopping',
        `${signal}: stopping \`${this.commandLine}\` and its process group (SIGTERM, then SIGKILL after ${this.options.graceMs} ms)`,
      );
    await this.stopChild();
    await this.exit(
      128 + (os.constants.signals[signal] ?? 0),
      'stopping',
      `stopped on ${signal}; releasing the ${this.options.lock} lock`,
      true,
    );
  }

  private async onDeadline(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    this.stopWaiting.abort();
    const seconds = Math.round((Date.now() - this.started) / 1000);
    const what = this.child
      ? `\`${this.commandLine}\` ran past the step's deadline (${seconds} s); stopping its process group (SIGTERM, then SIGKILL)`
      : `the ${this.options.lock} lock was still held by an earlier run after ${seconds} s (the step's deadline); not starting \`${this.commandLine}\``;
    this.say('timeout', what);
    await this.stopChild();
    await this.exit(GUARD_EXIT.timeout, 'timeout', `gave up after ${seconds} s`, true);
  }

  private async onConnectionLost(error: unknown): Promise<void> {
    if (this.finishing || !this.client) return;
    this.finishing = true;
    this.stopWaiting.abort();
    if (this.child) {
      this.say(
        'lost-lock',
        `the database connection holding the ${this.options.lock} lock broke (${messageOf(error)}); stopping \`${this.commandLine}\` so it never runs beside another`,
      );
      await this.stopChild();
      await this.exit(GUARD_EXIT.unavailable, 'lost-lock', 'stopped; retry when the database is back', true);
    } else {
      await this.exit(
        GUARD_EXIT.unavailable,
        'unavailable',
        `lost the database while waiting for the ${this.options.lock} lock: ${messageOf(error)}`,
        true,
      );
    }
  }

  /** Says why, releases the lock (by closing the connection), flushes the log and exits. */
  private async exit(code: number, kind: GuardEventKind, text: string, force = false): Promise<never> {
    if (!force && this.finishing) return new Promise<never>(() => undefined);
    this.finishing = true;
    this.say(kind, text);
    const client = this.client;
    this.client = null;
    if (client)
      await Promise.race([client.end().catch(() => undefined), sleep(2_000, new AbortController().signal)]);
    const log = this.log;
    this.log = null;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
    // Writes to a pipe are asynchronous: process.exit would drop what the worker has not read yet.
    await Promise.race([
      Promise.all([flushed(process.stdout), flushed(process.stderr)]),
      sleep(5_000, new AbortController().signal),
    ]);
    process.exit(code);
  }
}

/** Resolves once everything written to `stream` so far has been handed to the OS (or the stream broke). */
function flushed(stream: Writable): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      stream.write('', () => resolve());
    } catch {
      resolve();
    }
  });
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('error', done);
    stream.once('close', done);
  });
}

function messageOf(error: unknown): string {
  const err = error as { message?: unknown; code?: unknown };
  const message = typeof err?.message === 'string' && err.message ? err.message : String(error);
  return typeof err?.code === 'string' && !message.includes(err.code) ? `${message} (${err.code})` : message;
}

/** Who holds the lock, as far as PostgreSQL shows it: the holder guard's pid and host, else its session. */
async function describeHolder(client: pg.Client, parts: { classid: number; objid: number }): Promise<string> {
  const { rows } = await client.query<{
    pid: number;
    application_name: string | null;
    backend_start: Date | null;
  }>(
    `select l.pid, a.application_name, a.backend_start
       from pg_locks l left join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.classid = $1::oid and l.objid = $2::oid and l.objsubid = 1
        and l.database = (select oid from pg_database where datname = current_database())`,
    [parts.classid, parts.objid],
  );
  const row = rows[0];
  if (!row) return 'holder just released it';
  const since = row.backend_start ? `, connected since ${new Date(row.backend_start).toISOString()}` : '';
  const guard = /pid=(\d+) host=(\S+)/.exec(row.application_name ?? '');
  if (guard) return `pid ${guard[1]} on ${guard[2]} (database session ${row.pid}${since})`;
  return `database session pid ${row.pid}${since}`;
}

/** The request a guard started ahead (`--serve-once`) waits for: what it would have been started with. */
export interface ServeRequest {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

/**
 * Reads ONE JSON line from stdin, leaving stdin open (it is watched for the worker's death once the
 * request runs). Null when stdin closes first or nothing arrives within `idleMs`.
 */
function readServeRequest(idleMs: number): Promise<ServeRequest | null> {
  return new Promise((resolve) => {
    let text = '';
    const done = (request: ServeRequest | null) => {
      clearTimeout(timer);
      process.stdin.off('data', onData);
      process.stdin.off('end', onEnd);
      process.stdin.pause();
      resolve(request);
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      try {
        const parsed = JSON.parse(text.slice(0, newline)) as ServeRequest;
        done(Array.isArray(parsed.argv) && typeof parsed.cwd === 'string' && parsed.env ? parsed : null);
      } catch {
        done(null);
      }
    };
    const onEnd = () => done(null);
    const timer = setTimeout(() => done(null), idleMs);
    process.stdin.on('data', onData);
    process.stdin.on('end', onEnd);
  });
}

async function main(): Promise<void> {
  let argv = process.argv.slice(2);
  if (argv[0] === '--serve-once') {
    // Started ahead by the worker with only the environment that shapes a start: the request
    // brings the arguments, the directory and the environment (secrets included) it runs with.
    const request = await readServeRequest(Number(argv[1] ?? 600) * 1000);
    if (!request) process.exit(0);
    process.chdir(request.cwd);
    for (const name of Object.keys(process.env)) delete process.env[name];
    Object.assign(process.env, request.env);
    argv = request.argv;
  }
  const parsed = parseGuardArgs(argv);
  if (typeof parsed === 'string') {
    process.stderr.write(guardLine('unavailable', `${parsed}\n${USAGE}`));
    process.exit(GUARD_EXIT.usage);
  }
  await new Guard(parsed).run();
}

if (require.main === module) void main();
