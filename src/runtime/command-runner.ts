import { execa } from 'execa';

export interface RunRequest {
  /** Program and arguments; never a shell string, so nothing is re-parsed. */
  command: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Interleaved as the program wrote it. */
  all: string;
  durationMs: number;
  /** The program was not found on PATH (ENOENT). */
  notFound: boolean;
  /** Stopped by the abort signal or the timeout. */
  interrupted: boolean;
}

export type CommandRunner = (request: RunRequest) => Promise<RunResult>;

/** Runs a program with execa; never throws for a non-zero exit, the caller classifies the outcome. */
export const runCommand: CommandRunner = async (request) => {
  const [file, ...args] = request.command;
  if (!file) throw new Error('empty command');
  const started = Date.now();
  const result = await execa(file, args, {
    cwd: request.cwd,
    env: { ...request.env },
    extendEnv: false,
    reject: false,
    all: true,
    stdin: 'ignore',
    cancelSignal: request.signal,
    timeout: request.timeoutMs,
    forceKillAfterDelay: 5_000,
    maxBuffer: 20_000_000,
  });
  const code = (result as { code?: string }).code;
  return {
    exitCode: result.exitCode ?? (result.signal ? 128 : 1),
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    all: String(result.all ?? ''),
    durationMs: Date.now() - started,
    notFound: code === 'ENOENT',
    interrupted: Boolean(result.isCanceled || result.timedOut),
  };
};

/** Keeps the tail of long output: the end of a migration log is where the error is. */
export function tail(text: string, maxChars = 4_000): string {
  if (text.length <= maxChars) return text;
  return `…(${text.length - maxChars} characters cut)…\n${text.slice(-maxChars)}`;
}
