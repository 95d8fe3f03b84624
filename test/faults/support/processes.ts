/**
 * OS processes the fault cases kill for real: the release worker (the compiled CLI's `worker`
 * command), a Temporal dev server of the case's own, and the processes a case's migrate
 * command left behind (found by a marker in their environment).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { repoRoot, temporalExecutable } from '../../../src/devstack/paths';
import { RELEASE_SEARCH_ATTRIBUTES } from '../../../src/workflows/search-attributes';
import { cliEnv } from '../../support/cli';
import { eventually } from './eventually';
import { withStartSlot } from './slots';

/** A child process whose output goes to a log file (appended across restarts). */
class LoggedProcess {
  protected child: ChildProcess | null = null;
  protected exited: Promise<void> = Promise.resolve();
  protected output = '';
  private readonly log: WriteStream;
  starts = 0;
  kills = 0;

  constructor(readonly logFile: string) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  protected spawnLogged(file: string, args: string[], env: NodeJS.ProcessEnv, note: string): void {
    this.starts += 1;
    this.output = '';
    this.log.write(`\n===== ${new Date().toISOString()} start #${this.starts}: ${note}\n`);
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output += text;
      this.log.write(text);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        this.log.write(
          `\n===== ${new Date().toISOString()} exited (code ${String(code)}, signal ${String(signal)})\n`,
        );
        resolve();
      }),
    );
  }

  /** SIGKILL, as a crash or the OOM killer would: no cleanup, no graceful shutdown. */
  async kill9(): Promise<void> {
    if (!this.alive || !this.child) return;
    this.kills += 1;
    this.log.write(`\n===== ${new Date().toISOString()} SIGKILL from the fault suite\n`);
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.alive || !this.child) return;
    const child = this.child;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  tail(chars = 3000): string {
    return this.output.slice(-chars);
  }
}

export interface WorkerOptions {
  backendDir: string;
  address: string;
  taskQueue: string;
  logFile: string;
}

/** `node bin/db-release.js worker …` with the project's tools first on PATH, as an operator runs it. */
export class WorkerProcess extends LoggedProcess {
  constructor(readonly options: WorkerOptions) {
    super(options.logFile);
  }

  /** Starts the worker and waits until it polls; one of a few machine-wide start slots is held meanwhile. */
  async start(): Promise<void> {
    await withStartSlot(`worker ${this.options.taskQueue}`, () => this.startNow());
  }

  private async startNow(): Promise<void> {
    const { backendDir, address, taskQueue } = this.options;
    this.spawnLogged(
      process.execPath,
      [
        path.join(repoRoot(), 'bin', 'db-release.js'),
        'worker',
        '--project-root',
        backendDir,
        '--address',
        address,
        '--task-queue',
        taskQueue,
      ],
      cliEnv(),
      `worker on ${taskQueue} at ${address}`,
    );
    await eventually(
      () =>
        /worker ready/.test(this.output)
          ? true
          : this.alive
            ? null
            : Promise.reject(new Error('worker exited')),
      {
        timeoutMs: 5 * 60_000,
        intervalMs: 200,
        what: `the worker on ${taskQueue} (start #${this.starts}) to print "worker ready"`,
        describe: () => this.tail(),
      },
    );
  }

  async restart(): Promise<void> {
    await this.kill9();
    await this.start();
  }
}

/**
 * A Temporal dev server of the case's own (same db file and port across restarts), so a case can
 * SIGKILL it without touching the server the other cases share.
 */
export class TemporalServerProcess extends LoggedProcess {
  constructor(
    readonly port: number,
    readonly dbFile: string,
    logFile: string,
  ) {
    super(logFile);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = [
      'server',
      'start-dev',
      '--db-filename',
      this.dbFile,
      '--port',
      String(this.port),
      '--ip',
      '127.0.0.1',
      '--headless',
      '--log-level',
      'error',
    ];
    for (const attribute of RELEASE_SEARCH_ATTRIBUTES)
      args.push('--search-attribute', `${attribute.name}=Keyword`);
    this.spawnLogged(
      temporalExecutable(),
      args,
      cliEnv(),
      `temporal dev server on ${this.address}, db ${this.dbFile}`,
    );
    await eventually(
      async () => {
        if (!this.alive) throw new Error('the dev server exited');
        const connection = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
        try {
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          return true;
        } finally {
          await connection.close();
        }
      },
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: `the Temporal dev server on ${this.address} to answer`,
        describe: () => this.tail(),
      },
    );
  }
}

/** Pids of live processes whose environment holds `marker` (e.g. FAULTS_CASE_MARKER=abc), read from /proc. */
export async function processesWithMarker(marker: string): Promise<Array<{ pid: number; command: string }>> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = await readFile(`/proc/${entry}/environ`, 'utf8');
      if (!environ.split('\0').includes(marker)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z /.test(stat)) continue; // a zombie is dead, only not yet reaped
      const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ').trim();
      found.push({ pid: Number(entry), command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
