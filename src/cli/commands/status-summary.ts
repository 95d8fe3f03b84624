/**
 * `db-release status summary`: release readiness on one screen. The checks and their rendering
 * are src/cli/status-summary.ts; this file binds them to the command line.
 */
import type { Command } from 'commander';
import { action, out, projectRootOption, REPORT_EXIT_HELP, temporalOptions } from '../program';
import { statusSummaryCommand, type StatusFlags } from '../status-summary';

export { statusSummaryCommand };

export function register(status: Command): Command {
  return temporalOptions(
    status
      .command('summary')
      .description(
        'one screen: Temporal reachable, a worker polling the task queue, the database reachable, current and head Alembic revision, ' +
          'billing_plans rows, and the latest release of the environment with its status',
      )
      .addOption(projectRootOption())
      .option(
        '--environment <name>',
        'whose latest release to show (default ENVIRONMENT from the env files, else local)',
      )
      .option('--json', 'print the result as JSON (and nothing else)')
      .addHelpText('after', REPORT_EXIT_HELP),
  ).action(action((flags: StatusFlags) => statusSummaryCommand(flags, { stdout: out })));
}
