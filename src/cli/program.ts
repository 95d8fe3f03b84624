import type { Client } from '@temporalio/client';
import { Command, Option } from 'commander';
import type * as Connection from './connection';
import type { TemporalFlags } from './connection';
import { CliError, isCliError } from './errors';

/** Shared pieces of every command binding: output, exit codes, Temporal flags, error handling. */
export const out = (text: string) => process.stdout.write(`${text}\n`);
export const err = (text: string) => process.stderr.write(`${text}\n`);

/** Prints what a command rendered: notes on stderr first, then the result on stdout. */
export function print(output: { stdout: readonly string[]; stderr: readonly string[] }): void {
  for (const line of output.stderr) err(line);
  for (const line of output.stdout) out(line);
}

export const EXIT_HELP = `
Exit codes:
  0    success
  1    the release did not complete (failed, rejected, cancelled, rolled back), or the request was refused with the reason
  2    bad input, no such release, Temporal unreachable or no worker polling: nothing was started, sent or changed
  3    a release of this environment is already running: nothing was started
  4    rollback_failed: an operator must finish the rollback by hand (see the summary)
  130  detached with Ctrl-C: the release goes on`;

/** The exit codes of the report commands (providers validate, status summary, config dump-schema). */
export const REPORT_EXIT_HELP = `
Exit codes:
  0    everything checked is ok
  1    something is missing, invalid or not reachable (see the report)
  2    bad input: no project root, no env file, invalid flags`;

/** `--project-root` of the commands that read a backend checkout without starting anything. */
export const projectRootOption = (description = 'backend checkout (default .)'): Option =>
  new Option('--project-root <dir>', description).env('DB_RELEASE_PROJECT_ROOT');

/** A repeatable flag's parser: `--plan a=1 --plan b=2` gives ['a=1', 'b=2']. */
export const repeatable = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Where a command redraws its live view, when `stream` is a terminal; undefined in a log or pipe. */
export function liveTerminal(
  stream: NodeJS.WriteStream,
): { write: (text: string) => void; columns: () => number; rows: () => number } | undefined {
  if (!stream.isTTY) return undefined;
  return {
    write: (text) => stream.write(text),
    columns: () => stream.columns || 120,
    rows: () => stream.rows || 0,
  };
}

/**
 * Runs `body` with a promise and a signal that settle on the first Ctrl-C (SIGINT), which then
 * detaches instead of killing the process; the handler is removed when the body ends.
 */
export async function onInterrupt<T>(
  body: (interrupted: Promise<void>, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  const interrupted = new Promise<void>((resolve) =>
    stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  try {
    return await body(interrupted, stop.signal);
  } finally {
    process.removeListener('SIGINT', interrupt);
  }
}

export function temporalOptions(command: Command): Command {
  return command
    .addOption(new Option('--address <host:port>', 'Temporal frontend').env('TEMPORAL_ADDRESS'))
    .addOption(new Option('--namespace <name>', 'Temporal namespace').env('TEMPORAL_NAMESPACE'))
    .addOption(
      new Option('--task-queue <name>', 'task queue of the worker (default db-release)').env(
        'DB_RELEASE_TASK_QUEUE',
      ),
    )
    .addOption(new Option('--ui-url <url>', 'Temporal Web UI base URL, for links').env('TEMPORAL_UI_URL'));
}

const PERSON_FLAGS: ReadonlySet<string> = new Set(['--operator', '--approver']);

/**
 * A flag or argument given empty (`--task-queue ""`, `--reason " "`, `TEMPORAL_NAMESPACE=`) is
 * bad input, named with its fix: left through, it would reach Temporal or a file path as '' and
 * fail far from its cause (a stack for an empty task queue, the current folder for an empty path).
 */
export function requireNoBlankValues(command: Command, positional: readonly unknown[] = []): void {
  for (const option of command.options) {
    // A person's name has its own check (identityFlag), which also catches invisible characters.
    if (PERSON_FLAGS.has(option.long ?? '')) continue;
    const key = option.attributeName();
    const value: unknown = command.getOptionValue(key);
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    if (!values.some((v) => typeof v === 'string' && v.trim() === '')) continue;
    const flag = option.long ?? option.flags;
    if (command.getOptionValueSource(key) === 'env' && option.envVar) {
      throw new CliError(
        `${option.envVar} is set but empty (it stands for ${flag}): give it a value or unset it`,
      );
    }
    const fix = option.mandatory ? 'give a value' : 'give a value or leave the flag out';
    throw new CliError(`${flag} is empty (it takes: ${option.description}): ${fix}`);
  }
  for (const [i, argument] of command.registeredArguments.entries()) {
    const value = positional[i];
    if (typeof value === 'string' && value.trim() === '') {
      throw new CliError(
        `<${argument.name()}> is empty: give ${argument.name().replace(/-or-/g, ' or ').replace(/-/g, ' ')}, e.g. production`,
      );
    }
  }
}

/** The one line an error without a known cause gets; the stack only when asked for. */
export function unexpectedErrorLines(error: unknown, env: NodeJS.ProcessEnv = process.env): string[] {
  const e = error as Error | undefined;
  if (env.DB_RELEASE_DEBUG === '1') return [`db-release: unexpected error: ${e?.stack ?? String(error)}`];
  const first = (e?.message ?? String(error)).split('\n')[0] ?? '';
  return [
    `db-release: unexpected error: ${e?.name && e.name !== 'Error' ? `${e.name}: ` : ''}${first}`,
    'db-release: run with DB_RELEASE_DEBUG=1 for the stack',
  ];
}

/** Runs a command body, turning known errors into one line and an exit code. */
export function action<A extends unknown[]>(body: (...args: A) => Promise<number>) {
  return async (...args: A) => {
    try {
      // Commander passes the positional arguments, the options, then the command itself.
      const command = args.at(-1);
      if (command instanceof Command)
        requireNoBlankValues(command, args.slice(0, command.registeredArguments.length));
      process.exitCode = await body(...args);
    } catch (error) {
      if (isCliError(error)) {
        err(`db-release: ${error.message}`);
        process.exitCode = error.exitCode;
      } else {
        for (const line of unexpectedErrorLines(error)) err(line);
        process.exitCode = 1;
      }
    }
  };
}

/**
 * `db-release … | head -1`: the reader went away, so nothing more can be shown; end quietly with
 * the exit code so far (0 for help) instead of crashing on the unhandled EPIPE.
 */
export function exitQuietlyOnClosedPipe(
  streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr],
): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
  }
}

export async function withClient<T>(flags: TemporalFlags, use: (client: Client) => Promise<T>): Promise<T> {
  // Loaded here, not at the top: `--help` needs no Temporal client library (issue 15).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { connectClient, resolveTemporalTarget } = require('./connection') as typeof Connection;
  const { client, connection } = await connectClient(resolveTemporalTarget(flags));
  try {
    return await use(client);
  } finally {
    await connection.close().catch(() => undefined);
  }
}
