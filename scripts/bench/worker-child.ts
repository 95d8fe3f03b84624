/** Parent-side control of scripts/bench/worker-main: start, wait until ready, read memory, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pathWithTools } from '../../src/devstack/paths';

export interface WorkerChildOptions {
  /** One backend (projectRoot + taskQueue), or a JSON file listing many (`backendsFile`). */
  projectRoot?: string;
  taskQueue?: string;
  backendsFile?: string;
  /** Activities of the whole process running at once (scripts/bench/admission.ts); absent: no limit. */
  admission?: number;
  address: string;
  bundlePath?: string;
  maxConcurrentActivities?: number;
  maxConcurrentWorkflowTasks?: number;
  exitWhenReady?: boolean;
}

export interface ReadyEvent {
  event: 'ready';
  createMs: number;
  sinceProcessStartMs: number;
  rss: number;
}

export interface MemoryEvent {
  event: 'memory';
  rss: number;
  peakRss: number;
  heapUsed: number;
  admission: { admitted: number; peakWaiting: number; abandoned: number; retries: number } | null;
}

type WorkerEvent = ReadyEvent | MemoryEvent | { event: 'stopped' };

export interface WorkerChild {
  pid: number;
  ready: ReadyEvent;
  /** Wall time from spawn to the ready line, as the parent saw it. */
  spawnToReadyMs: number;
  /** Current RSS and the peak since the last reset; `reset` starts a new peak window. */
  memory(reset?: boolean): Promise<MemoryEvent>;
  /** CPU seconds of the worker itself and of the commands it ran (reaped children), from /proc. */
  cpu(): Promise<{ selfSeconds: number; childrenSeconds: number } | null>;
  stop(): Promise<void>;
}

const workerMain = path.join(__dirname, 'worker-main.js');

export async function startWorkerChild(
  options: WorkerChildOptions,
  log: (line: string) => void,
): Promise<WorkerChild> {
  const args = [
    workerMain,
    ...(options.projectRoot ? ['--project-root', options.projectRoot] : []),
    ...(options.taskQueue ? ['--task-queue', options.taskQueue] : []),
    ...(options.backendsFile ? ['--backends', options.backendsFile] : []),
    ...(options.admission ? ['--admission', String(options.admission)] : []),
    '--address',
    options.address,
    ...(options.bundlePath ? ['--bundle', options.bundlePath] : []),
    ...(options.maxConcurrentActivities
      ? ['--max-concurrent-activities', String(options.maxConcurrentActivities)]
      : []),
    ...(options.maxConcurrentWorkflowTasks
      ? ['--max-concurrent-workflow-tasks', String(options.maxConcurrentWorkflowTasks)]
      : []),
    ...(options.exitWhenReady ? ['--exit-when-ready'] : []),
  ];
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PATH: pathWithTools() },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('worker-main did not start');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
  });
  const waiters: Array<{ kind: WorkerEvent['event']; resolve: (e: WorkerEvent) => void }> = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on('line', (line) => {
    let event: WorkerEvent;
    try {
      event = JSON.parse(line) as WorkerEvent;
    } catch {
      return;
    }
    const index = waiters.findIndex((w) => w.kind === event.event);
    if (index >= 0) waiters.splice(index, 1)[0]?.resolve(event);
  });
  const next = <E extends WorkerEvent>(kind: E['event']): Promise<E> =>
    Promise.race([
      new Promise<E>((resolve) => waiters.push({ kind, resolve: (e) => resolve(e as E) })),
      exited.then((code) => {
        throw new Error(`worker-main exited (${code}) before "${kind}": ${stderrTail.trim().slice(-1500)}`);
      }),
    ]);

  let ready: ReadyEvent;
  try {
    ready = await next<ReadyEvent>('ready');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const spawnToReadyMs = performance.now() - started;
  let stopped = false;
  return {
    pid,
    ready,
    spawnToReadyMs,
    async memory(reset = false) {
      const reply = next<MemoryEvent>('memory');
      child.stdin?.write(reset ? 'reset\n' : 'memory\n');
      return reply;
    },
    async cpu() {
      return procCpu(pid);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.write('shutdown\n');
      const timer = setTimeout(() => {
        log(`worker-main ${pid} did not stop in 20 s; killing it`);
        child.kill('SIGKILL');
      }, 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** utime+stime and cutime+cstime of a process, in seconds (Linux /proc; null elsewhere). */
export async function procCpu(pid: number): Promise<{ selfSeconds: number; childrenSeconds: number } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = 100; // USER_HZ on Linux
    const num = (i: number) => Number(fields[i] ?? 0) / tick;
    // fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17 → indexes 11..14.
    return { selfSeconds: num(11) + num(12), childrenSeconds: num(13) + num(14) };
  } catch {
    return null;
  }
}
