/**
 * CPU accounting, so a number taken on a shared machine says how much of the machine was ours:
 * machine-wide busy time (os.cpus) vs this process, its reaped children, and its live children
 * with theirs (the dev server, the worker process and the commands it ran), from /proc on Linux.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { procCpu } from './worker-child';

export interface CpuSnapshot {
  machineBusySeconds: number;
  machineTotalSeconds: number;
  /** null when /proc is not available. */
  oursSeconds: number | null;
}

async function childPids(parent: number): Promise<number[]> {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export async function cpuSnapshot(): Promise<CpuSnapshot> {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  const self = await procCpu(process.pid);
  let ours: number | null = null;
  if (self) {
    ours = self.selfSeconds + self.childrenSeconds;
    for (const pid of await childPids(process.pid)) {
      const c = await procCpu(pid);
      if (c) ours += c.selfSeconds + c.childrenSeconds;
    }
  }
  return { machineBusySeconds: busy / 1000, machineTotalSeconds: total / 1000, oursSeconds: ours };
}

export interface CpuShare {
  /** Share of the whole machine that was busy, 0..100. */
  machineBusyPct: number;
  /** Share of the whole machine used by processes outside this benchmark, 0..100 (null without /proc). */
  othersPct: number | null;
}

export function cpuShare(before: CpuSnapshot, after: CpuSnapshot): CpuShare {
  const total = after.machineTotalSeconds - before.machineTotalSeconds;
  const busy = after.machineBusySeconds - before.machineBusySeconds;
  if (total <= 0) return { machineBusyPct: Number.NaN, othersPct: null };
  const ours =
    before.oursSeconds !== null && after.oursSeconds !== null ? after.oursSeconds - before.oursSeconds : null;
  return {
    machineBusyPct: (100 * busy) / total,
    othersPct: ours === null ? null : Math.max(0, (100 * (busy - ours)) / total),
  };
}

/** CPU seconds of this process's live children with the given command name (e.g. `temporal`, the dev server). */
export async function childCpuSeconds(comm: string): Promise<number | null> {
  let sum: number | null = null;
  for (const pid of await childPids(process.pid)) {
    try {
      if ((await readFile(`/proc/${pid}/comm`, 'utf8')).trim() !== comm) continue;
    } catch {
      continue;
    }
    const c = await procCpu(pid);
    if (c) sum = (sum ?? 0) + c.selfSeconds + c.childrenSeconds;
  }
  return sum;
}
