/**
 * A machine-wide limit on how many worker processes start (bundle the workflow code) at once,
 * across the suite's jest workers: each start costs seconds of CPU, and on a 2-core machine a
 * dozen at once starve the cases that are timing a kill. A slot is a lock file holding its
 * owner's pid; a slot whose owner died is taken over.
 */
import { mkdirSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../../src/devstack/paths';
import { eventually } from './eventually';

const SLOTS = Number(process.env.FAULTS_START_SLOTS ?? 2);

function slotDir(): string {
  const dir = path.join(repoRoot(), 'var', 'faults', 'slots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function tryTake(file: string, token: string): Promise<boolean> {
  try {
    const handle = await open(file, 'wx');
    await handle.writeFile(token);
    await handle.close();
    return true;
  } catch {
    const owner = Number((await readFile(file, 'utf8').catch(() => '')).split(':')[0]);
    if (owner && !alive(owner)) await rm(file, { force: true });
    return false;
  }
}

/** Runs `work` while holding one of the start slots. */
export async function withStartSlot<T>(what: string, work: () => Promise<T>): Promise<T> {
  const dir = slotDir();
  const token = `${process.pid}:${Math.random().toString(36).slice(2)}`;
  const file = await eventually(
    async () => {
      for (let i = 0; i < SLOTS; i++) {
        const candidate = path.join(dir, `slot-${i}.lock`);
        if (await tryTake(candidate, token)) return candidate;
      }
      return null;
    },
    { timeoutMs: 10 * 60_000, intervalMs: 300, what: `a free start slot for ${what}` },
  );
  try {
    return await work();
  } finally {
    if ((await readFile(file, 'utf8').catch(() => '')) === token) await rm(file, { force: true });
  }
}
