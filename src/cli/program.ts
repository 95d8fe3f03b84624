import type { Client } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { connectClient, resolveTemporalTarget, type TemporalFlags } from './connection';
import { isCliError } from './errors';

/** Shared pieces of every command binding: output, exit codes, Temporal flags, error handling. */
export const out = (text: string) => process.stdout.write(`${text}\n`);
export const err = (text: string) => process.stderr.write(`${text}\n`);

export const EXIT_HELP = `
Exit codes:
  0    success
  1    the release did not complete (failed, rejected, cancelled, rolled back)
  2    bad input or Temporal unreachable: nothing was started
  3    a release of this environment is already running: nothing was started
  4    rollback_failed: an operator must finish the rollback by hand (see the summary)
  130  detached with Ctrl-C: the release goes on`;

export function temporalOptions(command: Command): Command {
  return command
    .addOption(new Option('--address <host:port>', 'Temporal frontend').env('TEMPORAL_ADDRESS'))
    .addOption(new Option('--namespace <name>', 'Temporal namespace').env('TEMPORAL_NAMESPACE'))
    .addOption(new Option('--task-queue <name>', 'task queue of the worker (default db-release)').env('DB_RELEASE_TASK_QUEUE'))
    .addOption(new Option('--ui-url <url>', 'Temporal Web UI base URL, for links').env('TEMPORAL_UI_URL'));
}

/** Runs a command body, turning known errors into one line and an exit code. */
export function action<A extends unknown[]>(body: (...args: A) => Promise<number>) {
  return async (...args: A) => {
    try {
      process.exitCode = await body(...args);
    } catch (error) {
      if (isCliError(error)) {
        err(`db-release: ${error.message}`);
        process.exitCode = error.exitCode;
      } else {
        err(`db-release: unexpected error: ${(error as Error).stack ?? String(error)}`);
        process.exitCode = 1;
      }
    }
  };
}

export async function withClient<T>(flags: TemporalFlags, use: (client: Client) => Promise<T>): Promise<T> {
  const { client, connection } = await connectClient(resolveTemporalTarget(flags));
  try {
    return await use(client);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

