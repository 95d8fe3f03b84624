/**
 * What the migrate guard (./migrate-guard.ts) and the command runner that starts it agree on: the
 * lock key, the status lines the guard writes to stderr, and its own exit codes.
 */
import { createHash } from 'node:crypto';

/** Status lines look like `[migrate-guard:waiting] waiting for an earlier migrate still running, pid 42 …`. */
export const GUARD_LINE = /^\[migrate-guard:([a-z-]+)\] (.*)$/;

export type GuardEventKind =
  /** Cannot reach the database to take the lock (or lost it while waiting): nothing was started. */
  | 'unavailable'
  /** Another guard holds the lock: its command is still running. */
  | 'waiting'
  /** The lock is held; the command starts next. */
  | 'locked'
  /** The command runs: `pid <n> (process group <n>)`. */
  | 'started'
  /** The command's program is not on PATH. */
  | 'not-found'
  /** The connection holding the lock broke while the command ran; the command was stopped. */
  | 'lost-lock'
  /** The command outlived the guard's deadline and was stopped with its whole process group. */
  | 'timeout'
  /** A signal asked the guard to stop; the command's process group is being stopped. */
  | 'stopping'
  /** The worker that started the guard died while the guard waited: it does not start the command. */
  | 'parent-gone'
  /** The command exited; the lock is released. */
  | 'finished';

export interface GuardEvent {
  kind: GuardEventKind;
  text: string;
  /** For `waiting`: the holder's guard pid (when PostgreSQL lets us see it) or its database session pid. */
  holderPid?: number;
  /** For `started`: the command's process group, so the runner can stop it even if the guard is wedged. */
  processGroup?: number;
}

export function guardLine(kind: GuardEventKind, text: string): string {
  return `[migrate-guard:${kind}] ${text}\n`;
}

export function parseGuardLine(line: string): GuardEvent | null {
  const match = GUARD_LINE.exec(line);
  if (!match) return null;
  const kind = match[1] as GuardEventKind;
  const text = match[2] ?? '';
  const event: GuardEvent = { kind, text };
  if (kind === 'waiting') {
    const pid = /\bpid (\d+)/.exec(text);
    if (pid?.[1]) event.holderPid = Number(pid[1]);
  }
  if (kind === 'started') {
    const group = /process group (\d+)/.exec(text);
    if (group?.[1]) event.processGroup = Number(group[1]);
  }
  return event;
}

/** The guard's own exit codes; any other code is the command's. */
export const GUARD_EXIT = {
  /** EX_TEMPFAIL: the database was unavailable (or the lock connection broke); retry later. */
  unavailable: 75,
  /** Like timeout(1). */
  timeout: 124,
  notFound: 127,
  usage: 64,
} as const;

/**
 * The session-level advisory lock key for a lock name. Advisory locks are local to one database,
 * so the database in DATABASE_URL is the target and a constant per name is enough: two backends,
 * workers or release names pointing at one database share the lock.
 */
export function advisoryLockKey(name: string): bigint {
  const digest = createHash('sha256').update(`db-release:${name}`).digest();
  return digest.readBigInt64BE(0);
}

/** How pg_locks shows a bigint advisory key: classid = high 32 bits, objid = low 32 bits, objsubid = 1. */
export function advisoryLockParts(key: bigint): { classid: number; objid: number } {
  const unsigned = BigInt.asUintN(64, key);
  return { classid: Number(unsigned >> 32n), objid: Number(unsigned & 0xffffffffn) };
}
