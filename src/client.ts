#!/usr/bin/env node
/**
 * The `db-release` command line. Each command is one file in src/cli/commands/, named after it
 * (`release approve` is commands/release-approve.ts), exporting its handler and `register(parent)`;
 * this file only assembles them under their groups and turns a failed parse into an exit code.
 */
import { Command, CommanderError } from 'commander';
import * as configDumpSchema from './cli/commands/config-dump-schema';
import * as providersValidate from './cli/commands/providers-validate';
import * as releaseApprove from './cli/commands/release-approve';
import * as releaseCancel from './cli/commands/release-cancel';
import * as releaseDb from './cli/commands/release-db';
import * as releaseList from './cli/commands/release-list';
import * as releaseReject from './cli/commands/release-reject';
import * as releaseRollback from './cli/commands/release-rollback';
import * as releaseShow from './cli/commands/release-show';
import * as releaseStatus from './cli/commands/release-status';
import * as releaseWatch from './cli/commands/release-watch';
import * as statusSummary from './cli/commands/status-summary';
import * as stripeSetup from './cli/commands/stripe-setup';
import * as temporalRegisterSearchAttributes from './cli/commands/temporal-register-search-attributes';
// Registers `worker` only: the worker SDK and the activities load when the command runs.
import * as worker from './cli/commands/worker';
import { err, exitQuietlyOnClosedPipe, EXIT_HELP, unexpectedErrorLines } from './cli/program';
import { EXIT_CODES } from './release/summary';

export function buildProgram(): Command {
  const program = new Command('db-release')
    .description('Database release runbook as a durable, approvable Temporal workflow')
    .addHelpText('after', EXIT_HELP)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  worker.register(program);

  const release = program.command('release').description('start, watch, approve and audit releases');
  releaseDb.register(release);
  releaseStatus.register(release);
  releaseWatch.register(release);
  releaseApprove.register(release);
  releaseReject.register(release);
  releaseCancel.register(release);
  releaseList.register(release);
  releaseRollback.register(release);
  releaseShow.register(release);

  temporalRegisterSearchAttributes.register(
    program.command('temporal').description('prepare a Temporal namespace for releases'),
  );
  stripeSetup.register(
    program.command('stripe').description("Stripe plan seeding (the runbook's Option B step 2)"),
  );
  providersValidate.register(program.command('providers').description('provider keys of the backend'));
  statusSummary.register(program.command('status').description('release readiness'));
  configDumpSchema.register(program.command('config').description('settings of this tool'));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe();
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode =
        error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0
          ? 0
          : EXIT_CODES.badInput;
      return;
    }
    for (const line of unexpectedErrorLines(error)) err(line);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  void main(process.argv);
}
