import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathWithTools, repoRoot } from '../../src/devstack/paths';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** Resolves when stderr has printed a line matching the pattern. */
  waitForStderr(pattern: RegExp): Promise<string>;
}

/** The compiled CLI, exactly as an operator runs it (npm test builds it first). */
export function cliPath(): string {
  const file = path.join(repoRoot(), 'dist', 'src', 'client.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build (npm test does it)`);
  return file;
}

/** The environment of a CLI run: the project's tools on PATH and no Temporal settings leaking in. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(TEMPORAL_|DB_RELEASE_|DATABASE_URL|STRIPE_)/.test(key)) env[key] = value;
  }
  return { ...env, PATH: pathWithTools(), ...extra };
}

export function startCli(args: string[], extraEnv: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [cliPath(), ...args], { env: cliEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const waiter of [...waiters]) {
      const line = stderr.split('\n').find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return {
    child,
    done,
    waitForStderr(pattern) {
      const line = stderr.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void done.then((r) => reject(new Error(`CLI exited (${r.code}) before printing ${pattern}: ${r.stderr}`)));
      });
    },
  };
}

export function runCli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, extraEnv).done;
}
