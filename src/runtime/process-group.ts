/**
 * Process-group signalling. Commands run in their own process group, so `just` → `sh` →
 * `alembic` (and anything else the command starts) can be stopped as one.
 */

import { readdirSync, readFileSync } from 'node:fs';

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Whether a live (not zombie) process of the group is left, from /proc on Linux; null where
 * /proc is not there. A zombie is dead already: it only waits for a parent (often init, or a
 * subreaper that reaps slowly) to collect its exit status.
 */
function liveInProc(pgid: number): boolean | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // `pid (comm) state ppid pgrp …`; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
  }
  return false;
}

/** True while any live process of the group exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return liveInProc(pgid) ?? true;
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

/**
 * SIGTERM to the whole group, SIGKILL to whatever is left after `graceMs`; resolves when no
 * process of the group is left (or after 5 s more, which only a process stuck in the kernel takes).
 */
export async function stopProcessGroup(pgid: number, graceMs: number): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  for (let waited = 0; waited < graceMs && groupAlive(pgid); waited += 100) await pause(100);
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGKILL');
  for (let waited = 0; waited < 5_000 && groupAlive(pgid); waited += 100) await pause(100);
}
