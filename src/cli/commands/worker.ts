/**
 * `db-release worker`: polls the task queue for releases of one backend checkout. Registering it
 * loads nothing of the worker: the command's module (src/cli/worker-command.ts, and through it the
 * worker SDK, the activities and the config schema) is imported when the command runs.
 */
import type { Command } from 'commander';
import type { TemporalFlags } from '../connection';
import type { runWorkerCommand as RunWorker } from '../worker-command';
import { action, err, projectRootOption, temporalOptions } from '../program';

export interface WorkerFlags extends TemporalFlags {
  projectRoot?: string;
  /** The environment this worker serves; must agree with ENVIRONMENT/APP_ENV in the backend env files. */
  environment?: string;
  maxConcurrentActivities?: string;
  maxConcurrentWorkflowTasks?: string;
}

/** `worker`: polls the task queue for releases of one backend checkout until SIGINT/SIGTERM. */
export async function workerCommand(flags: WorkerFlags, log: (line: string) => void): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runWorkerCommand } = require('../worker-command') as { runWorkerCommand: typeof RunWorker };
  return runWorkerCommand(flags, log);
}

export function register(program: Command): Command {
  return temporalOptions(
    program
      .command('worker')
      .description('run the worker for one backend checkout (holds its env files and secrets)')
      .addOption(projectRootOption('backend checkout'))
      .option(
        '--environment <name>',
        'environment this worker serves (default ENVIRONMENT/APP_ENV from the env files; must agree with them)',
      )
      .option('--max-concurrent-activities <n>', 'activities run at once (default 20)')
      .option('--max-concurrent-workflow-tasks <n>', 'workflow tasks run at once (default 40)'),
  ).action(action((flags: WorkerFlags) => workerCommand(flags, err)));
}
