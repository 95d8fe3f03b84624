import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { GUARD_EXIT, parseGuardLine, type GuardEvent } from './guard-protocol';
import { LineSplitter, redactorFor, StreamRedactor, TailBuffer } from './output';
import { signalGroup, stopProcessGroup } from './process-group';
import { refillWarm, sendRequest, takeWarm } from './warm-process';

export type { GuardEvent } from './guard-protocol';

export interface RunRequest {
  /** Program and arguments; never a shell string, so nothing is re-parsed. */
  command: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  /** Aborting stops the command's whole process tree (SIGTERM, then SIGKILL after `killGraceMs`). */
  signal?: AbortSignal;
  /** After this long the whole process tree is stopped the same way. */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL; default 5 s. */
  killGraceMs?: number;
  /** Appends the redacted output here (the file and its folder are created private). */
  logFile?: string;
  /**
   * Runs the command under the migrate guard holding this advisory lock in DATABASE_URL's
   * database, so no two such commands ever run at once on one database, even across worker crashes.
   */
  exclusiveLock?: string;
  /** Each status line of the guard (waiting for an earlier run, started, …) as it happens. */
  onGuardEvent?: (event: GuardEvent) => void;
  /**
   * `command[1]` is a script that understands `--serve-once` (tools/alembic_inspect.py): run it in
   * a process started ahead when one is ready, and start the next one afterwards (warm-process.ts)
   * unless `startNext` says this run's result shows the next one would not need it.
   * Guarded runs always use a guard started ahead when one is ready, and start the next.
   */
  warm?: boolean | { startNext: (result: { stdout: string; exitCode: number }) => boolean };
}

export interface RunResult {
  exitCode: number;
  /** Redacted; the last 8 M characters at most. */
  stdout: string;
  stderr: string;
  /** Interleaved as the program wrote it, redacted; the last 1 M characters at most. */
  all: string;
  durationMs: number;
  /** The program was not found on PATH (ENOENT). */
  notFound: boolean;
  /** Stopped by the abort signal or the timeout. */
  interrupted: boolean;
  /** Stopped because it ran past `timeoutMs`. */
  timedOut?: boolean;
  /** Where the full redacted output is. */
  logFile?: string | null;
  /** The guard's status lines, for guarded runs. */
  guardEvents?: GuardEvent[];
}

export type CommandRunner = (request: RunRequest) => Promise<RunResult>;

const STREAM_TAIL_CHARS = 8_000_000;
const ALL_TAIL_CHARS = 1_000_000;

/**
 * The compiled guard program. From the compiled tree it sits beside this file; from the
 * TypeScript sources (tests) it is the build of the same checkout, so `npm run build` first.
 */
export function migrateGuardScript(): string {
  const beside = path.join(__dirname, 'migrate-guard.js');
  if (existsSync(beside)) return beside;
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const built = path.join(dir, 'dist', 'src', 'runtime', 'migrate-guard.js');
  if (existsSync(built)) return built;
  throw new Error(`the migrate guard is not built (${built}): run \`npm run build\` in ${dir}`);
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits for `promise` at most `ms`; true when it settled in time. The timer never outlives the wait. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function openLog(file: string, header: string): Promise<WriteStream> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const log = createWriteStream(file, { flags: 'a', mode: 0o600 });
  await new Promise<void>((resolve, reject) =>
    log.write(header, (error) => (error ? reject(error) : resolve())),
  );
  return log;
}

/**
 * Runs a program in its own process group; never throws for a non-zero exit, the caller
 * classifies the outcome. Output streams: it is redacted (the secrets of `env`, URL passwords) as
 * it arrives, written to `logFile` in full and kept in memory only as a bounded tail, so no volume
 * of output kills a command. A timeout or an abort stops the whole tree (the program and everything
 * it started: `just` → `sh` → `alembic`), not just the direct child.
 */
export const runCommand: CommandRunner = async (request) => {
  const [file, ...args] = request.command;
  if (!file) throw new Error('empty command');
  const started = Date.now();
  const clean = redactorFor(request.env);
  const grace = request.killGraceMs ?? 5_000;
  const guarded = request.exclusiveLock !== undefined;
  const commandLine = clean(request.command.join(' '));

  let spawnFile = file;
  let spawnArgs = args;
  if (guarded) {
    spawnFile = process.execPath;
    spawnArgs = [
      migrateGuardScript(),
      '--lock',
      request.exclusiveLock as string,
      '--watch-stdin',
      '--grace-ms',
      String(Math.max(1, grace)),
      // The runner stops the guard at `timeoutMs`; the guard's own, later deadline only matters
      // for an orphan whose worker died.
      ...(request.timeoutMs ? ['--timeout-ms', String(request.timeoutMs + 2 * grace + 5_000)] : []),
      ...(request.logFile ? ['--log', request.logFile] : []),
      '--',
      file,
      ...args,
    ];
  }
  const log = request.logFile
    ? await openLog(
        request.logFile,
        `\n# ${new Date().toISOString()} $ ${commandLine}${guarded ? ` (under the ${request.exclusiveLock} lock)` : ''}\n`,
      )
    : null;

  // A process started ahead for this program (the guard, the inspector) takes the request when
  // one is ready: same program, same start-up environment, its own process group like any other.
  const warmScript =
    (guarded || (request.warm ?? false) !== false) && spawnArgs.length > 0 ? (spawnArgs[0] as string) : null;
  const taken = warmScript ? takeWarm(spawnFile, warmScript, request.env) : null;
  if (taken) sendRequest(taken, { argv: spawnArgs.slice(1), cwd: request.cwd, env: request.env }, !guarded);
  const child =
    taken ??
    spawn(spawnFile, spawnArgs, {
      cwd: request.cwd,
      env: { ...request.env },
      // Its own process group (and session): the tree can be signalled as one, and a worker's
      // Ctrl-C or death does not reach a guarded migration half-way.
      detached: true,
      // The guard watches its stdin: EOF means the worker died.
      stdio: [guarded ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
  const spawnError = taken
    ? null
    : await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        child.once('spawn', () => resolve(null));
        child.once('error', (error: NodeJS.ErrnoException) => resolve(error));
      });
  if (spawnError) {
    const message = clean(`${file}: ${spawnError.message}\n`);
    if (log) await new Promise<void>((resolve) => log.end(message, resolve));
    return {
      exitCode: 127,
      stdout: '',
      stderr: message,
      all: message,
      durationMs: Date.now() - started,
      notFound: spawnError.code === 'ENOENT',
      interrupted: false,
      timedOut: false,
      logFile: request.logFile ?? null,
      guardEvents: [],
    };
  }
  const pid = child.pid as number;
  // Keep the guard's stdin open (never written) until it exits; errors after its exit do not matter.
  child.stdin?.on('error', () => undefined);

  const stdoutTail = new TailBuffer(STREAM_TAIL_CHARS);
  const stderrTail = new TailBuffer(STREAM_TAIL_CHARS);
  const allTail = new TailBuffer(ALL_TAIL_CHARS);
  const guardEvents: GuardEvent[] = [];
  let commandGroup: number | null = null;
  const statusLines = new LineSplitter((line) => {
    const event = parseGuardLine(line);
    if (!event) return;
    guardEvents.push(event);
    if (event.processGroup) commandGroup = event.processGroup;
    request.onGuardEvent?.(event);
  });

  const sources = [child.stdout as Readable, child.stderr as Readable];
  let lastOutputAt = Date.now();
  const consume = (source: Readable, tail: TailBuffer, isStderr: boolean) => {
    const redactor = new StreamRedactor(clean);
    const take = (text: string) => {
      lastOutputAt = Date.now();
      if (!text) return;
      tail.append(text);
      allTail.append(text);
      if (guarded && isStderr) statusLines.push(text);
      // A guarded run's guard writes the log itself (it keeps writing if the worker dies).
      if (log && !guarded && !log.write(text)) {
        for (const s of sources) s.pause();
        log.once('drain', () => {
          for (const s of sources) s.resume();
        });
      }
    };
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => take(redactor.push(chunk)));
    return new Promise<void>((resolve) =>
      source.once('close', () => {
        take(redactor.flush());
        resolve();
      }),
    );
  };
  const drained = Promise.all([
    consume(sources[0] as Readable, stdoutTail, false),
    consume(sources[1] as Readable, stderrTail, true),
  ]);

  let timedOut = false;
  let aborted = false;
  // An object, not a `let`: TypeScript does not see the closure assign it.
  const stopping: { done: Promise<void> | null } = { done: null };
  const stop = () => {
    stopping.done ??= (async () => {
      if (!guarded) return stopProcessGroup(pid, grace);
      // The guard stops its command's group itself and says so; if it cannot, both groups are killed.
      signalGroup(pid, 'SIGTERM');
      const deadline = Date.now() + grace + 5_000;
      while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) await delay(50);
      if (child.exitCode === null && child.signalCode === null) signalGroup(pid, 'SIGKILL');
      if (commandGroup) await stopProcessGroup(commandGroup, 0);
    })();
  };
  const timer = request.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        stop();
      }, request.timeoutMs)
    : null;
  const onAbort = () => {
    aborted = true;
    stop();
  };
  if (request.signal?.aborted) onAbort();
  else request.signal?.addEventListener('abort', onAbort, { once: true });

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve([child.exitCode, child.signalCode]);
    else child.once('exit', (c, s) => resolve([c, s]));
  });
  if (timer) clearTimeout(timer);
  request.signal?.removeEventListener('abort', onAbort);
  // Whatever the program left running in its group holds our pipes: give it a moment, then stop it.
  // The moment counts from the later of the last output and the exit: a loud command's last
  // megabytes may still be in the pipes when it exits, and a quiet one (its whole output at the
  // end, after more than the moment) may not have been read yet when this process is busy.
  const exitedAt = Date.now();
  let allRead = await settledWithin(drained, 500);
  while (!allRead && Date.now() - Math.max(lastOutputAt, exitedAt) < 2_000)
    allRead = await settledWithin(drained, 500);
  if (!allRead) {
    signalGroup(pid, 'SIGKILL');
    for (const s of sources) s.destroy();
    await settledWithin(drained, 1_000);
  }
  if (stopping.done) await stopping.done;
  statusLines.flush();
  child.stdin?.destroy();

  const exitCode = code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 1);
  const durationMs = Date.now() - started;
  // The next run of this program finds one started ahead; started now, it competes with nothing it replaces.
  const stdout = stdoutTail.toString();
  const startNext =
    typeof request.warm === 'object' ? request.warm.startNext({ stdout, exitCode }) : warmScript !== null;
  if (warmScript && startNext) refillWarm(spawnFile, warmScript, request.env);
  if (log) {
    const how = timedOut
      ? ` (ran past ${request.timeoutMs} ms: process tree stopped)`
      : aborted
        ? ' (cancelled: process tree stopped)'
        : '';
    await new Promise<void>((resolve) =>
      log.end(`# exit ${exitCode} after ${durationMs} ms${how}\n`, resolve),
    );
  }
  return {
    exitCode,
    stdout,
    stderr: stderrTail.toString(),
    all: allTail.toString(),
    durationMs,
    // The guard could not start the command's program.
    notFound: guarded && exitCode === GUARD_EXIT.notFound && guardEvents.some((e) => e.kind === 'not-found'),
    interrupted: timedOut || aborted,
    timedOut,
    logFile: request.logFile ?? null,
    guardEvents,
  };
};

/** Keeps the tail of long output: the end of a migration log is where the error is. */
export function tail(text: string, maxChars = 4_000): string {
  if (text.length <= maxChars) return text;
  return `…(${text.length - maxChars} characters cut)…\n${text.slice(-maxChars)}`;
}
