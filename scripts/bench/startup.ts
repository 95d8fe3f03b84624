/** Start-up costs: worker ready-to-poll with and without a prebuilt bundle, and the CLI's time to start a release. */
import type { NativeConnection } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathWithTools, repoRoot } from '../../src/devstack/paths';
import { createReleaseWorker } from '../../src/worker';
import { startWorkerChild } from './worker-child';

export type BundleMode = 'at-start' | 'prebuilt';

/** In this process: time until `Worker.create` (through createReleaseWorker) resolves. The worker is then run and stopped at once. */
export async function timeWorkerCreate(
  connection: NativeConnection,
  projectRoot: string,
  taskQueue: string,
  mode: BundleMode,
  bundleCode: string,
): Promise<number> {
  const started = performance.now();
  const worker = await createReleaseWorker({
    projectRoot,
    taskQueue,
    namespace: 'default',
    connection,
    ...(mode === 'prebuilt' ? { workflowBundle: { code: bundleCode } } : {}),
  });
  const elapsed = performance.now() - started;
  await worker.runUntil(Promise.resolve());
  return elapsed;
}

/** A fresh worker process, as `db-release worker` starts: spawn → ready line, and Worker.create alone inside it. */
export async function timeWorkerProcess(
  address: string,
  projectRoot: string,
  taskQueue: string,
  mode: BundleMode,
  bundlePath: string,
  log: (line: string) => void,
): Promise<{ spawnToReadyMs: number; createMs: number }> {
  const child = await startWorkerChild(
    { projectRoot, address, taskQueue, exitWhenReady: true, ...(mode === 'prebuilt' ? { bundlePath } : {}) },
    log,
  );
  await child.stop();
  return { spawnToReadyMs: child.spawnToReadyMs, createMs: child.ready.createMs };
}

export interface CliTiming {
  /** Spawn → the `Started release` line on stderr. */
  startedMs: number;
  /** Spawn → exit (the release ran to its end). */
  exitMs: number;
  exitCode: number | null;
}

/** `node dist/src/client.js release db …` as an operator runs it; waits for it to finish. */
export async function timeCli(args: string[], timeoutMs = 120_000): Promise<CliTiming> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(repoRoot(), 'dist', 'src', 'client.js'), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PATH: pathWithTools() },
  });
  let startedMs = Number.NaN;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (Number.isNaN(startedMs) && stderr.includes('Started release'))
      startedMs = performance.now() - started;
  });
  const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  clearTimeout(timer);
  if (Number.isNaN(startedMs))
    throw new Error(`the CLI never printed "Started release" (exit ${exitCode}): ${stderr.slice(-1500)}`);
  return { startedMs, exitMs: performance.now() - started, exitCode };
}

export type CliCommandName = 'bare client + 1 RPC' | 'db-release --help' | 'release status';
export const CLI_COMMAND_NAMES: readonly CliCommandName[] = [
  'bare client + 1 RPC',
  'db-release --help',
  'release status',
];

export interface SpawnTiming {
  /** Spawn → exit. */
  ms: number;
  exitCode: number | null;
  /** CommonJS modules the process had loaded when it exited (null if it did not say). */
  modules: number | null;
  stderrTail: string;
}

export function cliScript(): string {
  return path.join(repoRoot(), 'dist', 'src', 'client.js');
}

export function bareClientScript(): string {
  return path.join(__dirname, 'bare-client.js');
}

/** `node --require count-modules <args>`, spawn → exit, with the modules it loaded. */
export async function timeSpawn(args: string[], workDir: string, timeoutMs = 60_000): Promise<SpawnTiming> {
  const countFile = path.join(
    workDir,
    `modules-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`,
  );
  const started = performance.now();
  const child = spawn(process.execPath, ['--require', path.join(__dirname, 'count-modules.js'), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PATH: pathWithTools(), DB_RELEASE_BENCH_MODULES: countFile },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ms = performance.now() - started;
  clearTimeout(timer);
  let modules: number | null = null;
  try {
    modules = Number(await readFile(countFile, 'utf8'));
  } catch {
    modules = null;
  }
  return { ms, exitCode, modules, stderrTail: stderr.trim().slice(-300) };
}
