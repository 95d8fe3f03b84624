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
  const child = spawn(process.execPath, [cliPath(), ...args], {
    env: cliEnv(extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    done,
    waitForStderr(pattern) {
      const line = stderr.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void done.then((r) =>
          reject(new Error(`CLI exited (${r.code}) before printing ${pattern}: ${r.stderr}`)),
        );
      });
    },
  };
}

export function runCli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, extraEnv).done;
}

export interface TerminalRun {
  done: Promise<CliResult>;
  /** Everything the CLI drew on the terminal so far (stdout and stderr together, with escapes). */
  screen(): string;
  /** Resolves when what was drawn matches the pattern; rejects with the screen after the timeout. */
  waitForScreen(pattern: RegExp, timeoutMs?: number): Promise<void>;
  interrupt(): void;
  /** Ends the program at once (SIGKILL), for a test's cleanup. */
  kill(): void;
  /** Types on the terminal's keyboard, e.g. an answer and Enter: `type('0\\r')`. */
  type(text: string): void;
}

/**
 * Runs the CLI on a pseudo-terminal (through test/support/pty-run.py, Python's standard pty
 * module), so it sees a TTY and draws its live display as it would for an operator.
 */
export function startCliOnTerminal(
  args: string[],
  extraEnv: Record<string, string> = {},
  columns = 160,
): TerminalRun {
  return startOnTerminal([process.execPath, cliPath(), ...args], extraEnv, columns);
}

/** Any program on a pseudo-terminal, with the CLI's environment (e.g. a script driving one prompt). */
export function startOnTerminal(
  command: string[],
  extraEnv: Record<string, string> = {},
  columns = 160,
): TerminalRun {
  const helper = path.join(repoRoot(), 'test', 'support', 'pty-run.py');
  const child = spawn('python3', [helper, String(columns), ...command], {
    env: { ...cliEnv(extraEnv), TERM: 'xterm-256color' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let drawn = '';
  let errors = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    drawn += chunk.toString();
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(drawn)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout: drawn, stderr: errors })),
  );
  return {
    done,
    screen: () => drawn,
    waitForScreen(pattern, timeoutMs = 60_000) {
      if (pattern.test(drawn)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        // Bounded, so a test that waits for the wrong thing fails with what was on screen.
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `nothing matching ${pattern} was drawn within ${timeoutMs} ms; the screen:\n${JSON.stringify(drawn)}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
        void done.then(
          (r) => (
            clearTimeout(timer),
            reject(new Error(`CLI exited (${r.code}) before drawing ${pattern}:\n${r.stdout}\n${r.stderr}`))
          ),
        );
      });
    },
    interrupt: () => child.kill('SIGINT'),
    kill: () => child.kill('SIGKILL'),
    type: (text) => child.stdin?.write(text),
  };
}

/** What a test's `release db` needs: the sample's two catalog plans, non-interactive. */
export interface ReleaseDbArgs {
  projectRoot: string;
  environment: string;
  summaryPath: string;
  temporalArgs: readonly string[];
  operator?: string;
  extra?: readonly string[];
}

/** `release db` of the sample catalog (starter=0, pro=9900) without prompts. */
export function releaseDbArgs(a: ReleaseDbArgs): string[] {
  return [
    ...[
      'release',
      'db',
      '--project-root',
      a.projectRoot,
      '--environment',
      a.environment,
      '--non-interactive',
    ],
    ...['--plan', 'starter=0', '--plan', 'pro=9900', '--operator', a.operator ?? 'alice'],
    ...['--summary-path', a.summaryPath, ...a.temporalArgs, ...(a.extra ?? [])],
  ];
}
