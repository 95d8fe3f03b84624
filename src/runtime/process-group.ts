/**
 * Process-group signalling. Commands run in their own process group, so `just` → `sh` →
 * `alembic` (and anything else the command starts) can be stopped as one.
 */

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True while any process of the group exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  for (let waited = 0; waited < graceMs && groupAlive(pgid); waited += 50) await pause(50);
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGKILL');
  for (let waited = 0; waited < 5_000 && groupAlive(pgid); waited += 50) await pause(50);
}
