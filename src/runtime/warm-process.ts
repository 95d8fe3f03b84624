/**
 * Processes started ahead (issue 15). The inspector (Python: alembic and SQLAlchemy imported) and
 * the migrate guard (Node: pg loaded) spend most of their time starting; a release waits for both.
 * A program that understands `SCRIPT --serve-once SECONDS` is started ahead, does its imports,
 * and waits for ONE request on stdin: `{"argv", "cwd", "env"}`, after which it runs exactly as
 * `PROGRAM SCRIPT ARGV` started in CWD with ENV would (tools/alembic_inspect.py, migrate-guard.ts).
 *
 * - The idle process is started with only the environment that shapes a start (PATH, PYTHON*,
 *   NODE_*, locale, HOME): no secret waits in an idle process. The rest comes with the request.
 * - It is matched on program, script and that environment, so a different interpreter (another
 *   venv first on PATH) never serves a request.
 * - One idle process per match, at most MAX_IDLE in all; the next one is started when a request
 *   has finished with the previous one, so it never competes with the command it replaces, and
 *   once the worker's activities have gone quiet, so it does not compete with the release either.
 * - It runs in its own process group, like a command started on demand; it exits by itself when
 *   its stdin closes (the worker is gone) or after IDLE_SECONDS without a request.
 * - A script rebuilt or updated since the process started retires it (and the inspector itself
 *   re-executes when alembic changed on disk). `DB_RELEASE_START_AHEAD=0` turns all of it off.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Socket } from 'node:net';
import os from 'node:os';

const IDLE_SECONDS = 600;
const MAX_IDLE = 4;

/** Variables read while a program starts: they must match; everything else is sent with the request. */
const STARTUP_ENV =
  /^(PATH|HOME|LANG|LANGUAGE|TZ|LC_[A-Z_]+|PYTHON[A-Z_]*|VIRTUAL_ENV|NODE_[A-Z_]+|UV_[A-Z_]+)$/;

export function startupEnvOf(env: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => STARTUP_ENV.test(name)));
}

function keyOf(file: string, script: string, env: Readonly<Record<string, string>>): string {
  const startup = Object.entries(startupEnvOf(env)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([file, script, startup]);
}

interface Idle {
  child: ChildProcess;
  startedAt: number;
  /** The script's size and mtime when the process started: a rebuilt script retires it. */
  script: string | null;
}

/** A file's size and mtime (null when it cannot be read): a changed file has another stamp. */
export function stampOf(script: string): string | null {
  try {
    const found = statSync(script);
    return `${found.size}:${found.mtimeMs}`;
  } catch {
    return null;
  }
}

/** `DB_RELEASE_START_AHEAD=0` turns it off: every command then starts when it is needed. */
export function startAheadEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.DB_RELEASE_START_AHEAD !== '0';
}

const idle = new Map<string, Idle>();

function alive(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null && !child.killed;
}

/** The pipes of an idle process must not keep this process alive; a taken one must. */
function setRef(child: ChildProcess, on: boolean): void {
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    const socket = stream as unknown as Partial<Socket> | null;
    if (on) socket?.ref?.();
    else socket?.unref?.();
  }
  if (on) child.ref();
  else child.unref();
}

/**
 * An idle process ready for `PROGRAM SCRIPT …` with this environment, taken out of the pool (the
 * caller writes the request), or null: none is ready, and the caller starts the command as usual.
 */
export function takeWarm(
  file: string,
  script: string,
  env: Readonly<Record<string, string>>,
): ChildProcess | null {
  const key = keyOf(file, script, env);
  const found = idle.get(key);
  if (!found) return null;
  idle.delete(key);
  if (!alive(found.child) || !found.child.stdin?.writable) return null;
  if (found.script === null || stampOf(script) !== found.script) {
    // Started from a script that has changed since (a rebuilt guard, an updated inspector).
    found.child.kill('SIGTERM');
    return null;
  }
  setRef(found.child, true);
  return found.child;
}

/** Writes the request the taken process runs; `closeStdin` for programs that do not watch it. */
export function sendRequest(
  child: ChildProcess,
  request: { argv: readonly string[]; cwd: string; env: Readonly<Record<string, string>> },
  closeStdin: boolean,
): void {
  const line = `${JSON.stringify({ argv: request.argv, cwd: request.cwd, env: request.env })}\n`;
  if (closeStdin) child.stdin?.end(line);
  else child.stdin?.write(line);
}

/*
 * When the next process starts. Its start-up (Python importing Alembic and SQLAlchemy: about
 * 0.3 CPU-s) would compete with the release that used the last one: the migrate command that
 * follows the inspection, the workflow tasks between steps. So while the worker runs activities
 * (counted by its interceptor, see workTracker), a refill waits until no activity runs: for
 * RELEASE_END_MS after a release's last step (the lease release; time for its result to go out),
 * for QUIET_MS after any other (a release now waiting at the gate), and MAX_DEFER_MS at the
 * latest, so a worker that is never idle still gets its next processes. With nothing running (a
 * command run outside a worker) it starts at once.
 */
const QUIET_MS = 150;
const RELEASE_END_MS = 50;
const MAX_DEFER_MS = 5_000;
let activitiesRunning = 0;
const deferred = new Map<string, () => void>();
let quietTimer: NodeJS.Timeout | null = null;
let deadlineTimer: NodeJS.Timeout | null = null;

function clearTimer(timer: NodeJS.Timeout | null): null {
  if (timer) clearTimeout(timer);
  return null;
}

function startDeferred(): void {
  quietTimer = clearTimer(quietTimer);
  deadlineTimer = clearTimer(deadlineTimer);
  const starts = [...deferred.values()];
  deferred.clear();
  for (const start of starts) start();
}

/** An activity of this worker started / ended (the worker's interceptor calls these). */
export const workTracker = {
  started(): void {
    activitiesRunning++;
    quietTimer = clearTimer(quietTimer);
  },
  /** `releaseDone`: the step that ends a release (it freed its target): the refills need not wait for quiet. */
  ended(releaseDone = false): void {
    activitiesRunning = Math.max(0, activitiesRunning - 1);
    if (activitiesRunning > 0 || deferred.size === 0) return;
    clearTimer(quietTimer);
    // After a release's last step, only long enough for its result to go out.
    quietTimer = setTimeout(startDeferred, releaseDone ? RELEASE_END_MS : QUIET_MS);
    quietTimer.unref();
  },
};

/** Refills waiting for the worker to go quiet (tests). */
export function deferredRefills(): number {
  return deferred.size;
}

/** Starts the next idle process for `PROGRAM SCRIPT` (when the worker is quiet), unless one is ready already. */
export function refillWarm(file: string, script: string, env: Readonly<Record<string, string>>): void {
  if (!startAheadEnabled()) return;
  if (activitiesRunning === 0) {
    startIdle(file, script, env);
    return;
  }
  deferred.set(keyOf(file, script, env), () => startIdle(file, script, env));
  if (!deadlineTimer) {
    deadlineTimer = setTimeout(startDeferred, MAX_DEFER_MS);
    deadlineTimer.unref();
  }
}

function startIdle(file: string, script: string, env: Readonly<Record<string, string>>): void {
  const key = keyOf(file, script, env);
  const existing = idle.get(key);
  if (existing && alive(existing.child)) return;
  while (idle.size >= MAX_IDLE) {
    const oldest = [...idle.entries()].sort((a, b) => a[1].startedAt - b[1].startedAt)[0];
    if (!oldest) break;
    idle.delete(oldest[0]);
    oldest[1].child.kill('SIGTERM');
  }
  let child: ChildProcess;
  try {
    child = spawn(file, [script, '--serve-once', String(IDLE_SECONDS)], {
      // Not the backend's folder: it may be gone by the time a request comes; the request brings its own.
      cwd: os.tmpdir(),
      env: startupEnvOf(env),
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch {
    return;
  }
  const entry: Idle = { child, startedAt: Date.now(), script: stampOf(script) };
  idle.set(key, entry);
  const forget = () => {
    if (idle.get(key) === entry) idle.delete(key);
  };
  child.once('error', forget);
  child.once('exit', forget);
  child.stdin?.on('error', () => undefined);
  setRef(child, false);
}

/** Stops every idle process (worker shutdown, tests). */
export function discardWarm(): void {
  for (const { child } of idle.values()) child.kill('SIGTERM');
  idle.clear();
  deferred.clear();
  quietTimer = clearTimer(quietTimer);
  deadlineTimer = clearTimer(deadlineTimer);
}

/** How many idle processes are ready now (tests). */
export function warmCount(): number {
  return [...idle.values()].filter((entry) => alive(entry.child)).length;
}

/** The pids of the idle processes (tests). */
export function warmPids(): number[] {
  return [...idle.values()].filter((entry) => alive(entry.child)).map((entry) => entry.child.pid as number);
}
