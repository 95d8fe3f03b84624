#!/usr/bin/env node
/**
 * The `db-release` command line: starts, watches, approves and audits releases, and runs the
 * worker. Each command is a plain function in src/cli/; this file only binds them to flags.
 */
import { Command, CommanderError, Option } from 'commander';
import { action, err, exitQuietlyOnClosedPipe, EXIT_HELP, out, temporalOptions, unexpectedErrorLines, withClient } from './cli/program';
import { EXIT_CODES, exitCodeFor } from './release/summary';
import { RELEASE_WORKFLOW_TYPE, ROLLBACK_WORKFLOW_TYPE } from './workflows/messages';
import type { TemporalFlags } from './cli/connection';
import { releaseDbCommand, type ReleaseDbFlags } from './cli/release-db';
import { cancelRelease, decide, latestStatus, listReleases, releaseIdOf, rollbackCommand, type RollbackFlags } from './cli/release-manage';
import { resolveTemporalTarget } from './cli/connection';
import { watchRelease } from './cli/watch';
import { checkListFilter, registerSearchAttributes } from './cli/search-attributes';
import { terminalPrompter } from './cli/prompts';
import { CliError } from './cli/errors';
import { describeRollback, describeStatus, releaseListLines } from './cli/status-lines';
import { statusSqlReviewLines } from './cli/sql-review-view';
// The worker SDK (core bridge, webpack, the activities) loads only for `db-release worker`.
import type { WorkerFlags } from './cli/worker-command';
import { registerRunbookCommands } from './cli/runbook-commands';

export function buildProgram(): Command {
  const program = new Command('db-release')
    .description('Database release runbook as a durable, approvable Temporal workflow')
    .addHelpText('after', EXIT_HELP)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  temporalOptions(
    program
      .command('worker')
      .description('run the worker for one backend checkout (holds its env files and secrets)')
      .addOption(new Option('--project-root <dir>', 'backend checkout').env('DB_RELEASE_PROJECT_ROOT'))
      .option('--environment <name>', 'environment this worker serves (default ENVIRONMENT/APP_ENV from the env files; must agree with them)')
      .option('--max-concurrent-activities <n>', 'activities run at once (default 20)')
      .option('--max-concurrent-workflow-tasks <n>', 'workflow tasks run at once (default 40)'),
  ).action(action(async (flags: WorkerFlags) => (await import('./cli/worker-command.js')).workerCommand(flags, err)));

  const release = program.command('release').description('start, watch, approve and audit releases');

  temporalOptions(
    release
      .command('db')
      .description('run the database release: migrations, alembic revision, Stripe setup, billing plan checks, summary')
      .addOption(new Option('--project-root <dir>', 'backend checkout (for config, env checks and the summary)').env('DB_RELEASE_PROJECT_ROOT'))
      .option('--environment <name>', 'deployment environment; one release per environment at a time (default ENVIRONMENT from the env files, else local)')
      .option('--non-interactive', 'fail instead of prompting; needs a --plan for every catalog plan and both Stripe secrets')
      .option('--skip-stripe', 'skip Stripe provisioning')
      .option('--skip-db-checks', 'skip the billing_plans verification')
      .option('--no-rollback', 'on failure keep the partial state for diagnosis instead of compensating')
      .option('--summary-path <path>', 'summary file (default var/reports/db-release-<UTC>.json under the project root)')
      .option('--json', 'also print the summary JSON to stdout (and nothing else)')
      .option('--plan <code=cents>', 'plan amount in minor units, repeatable: --plan starter=0 --plan pro=9900', (v: string, prev: string[] = []) => [...prev, v])
      .option('--currency <code>', 'price currency (default usd)')
      .option('--trial-days <days>', 'trial days on the prices (default 14)')
      .option('--operator <name>', 'who starts the release (default DB_RELEASE_OPERATOR or the OS user)')
      .addHelpText('after', EXIT_HELP),
  ).action(
    action((flags: ReleaseDbFlags & { rollback?: boolean }) => {
      let interrupt: () => void = () => undefined;
      const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
      process.once('SIGINT', interrupt);
      return releaseDbCommand({ ...flags, noRollback: flags.rollback === false }, { stdout: out, stderr: err, interrupted, prompter: terminalPrompter(), live: process.stderr.isTTY ? { write: (t) => process.stderr.write(t), columns: () => process.stderr.columns || 120, rows: () => process.stderr.rows || 0 } : undefined }).finally(() =>
        process.removeListener('SIGINT', interrupt),
      );
    }),
  );

  temporalOptions(release.command('status <id-or-environment>').description('current step, steps, plan and decision').option('--json', 'print JSON')).action(
    action(async (id: string, flags: TemporalFlags & { json?: boolean }) =>
      withClient(flags, async (client) => {
        const status = await latestStatus(client, id);
        if (flags.json) out(JSON.stringify(status.kind === 'release' ? status.view : { kind: 'rollback', ...status.view }, null, 2));
        else if (status.kind === 'rollback') {
          for (const line of describeRollback(status.view)) out(line);
        } else {
          out(`${releaseIdOf(id)}: ${status.view.summary.status}, current step ${status.view.currentStep ?? 'none'}`);
          for (const line of describeStatus(status.view)) out(`  ${line}`);
          for (const line of statusSqlReviewLines(status.view)) out(`  ${line}`);
        }
        return 0;
      }),
    ),
  );

  temporalOptions(release.command('watch <id-or-environment>').description('follow a release until it ends')).action(
    action(async (id: string, flags: TemporalFlags) =>
      withClient(flags, async (client) => {
        const stop = new AbortController();
        const onInterrupt = () => stop.abort();
        process.once('SIGINT', onInterrupt);
        try {
          const live = process.stdout.isTTY ? { write: (t: string) => process.stdout.write(t), columns: () => process.stdout.columns || 120, rows: () => process.stdout.rows || 0 } : undefined;
          const outcome = await watchRelease(client, id, { print: out, live }, stop.signal);
          if (outcome.kind === 'detached') {
            err(`stopped watching; the release goes on (db-release release status ${releaseIdOf(id)})`);
            return EXIT_CODES.detached;
          }
          if (outcome.kind === 'rollback') return outcome.status === 'rollback_failed' ? EXIT_CODES.rollbackFailed : EXIT_CODES.success;
          return exitCodeFor(outcome.summary.status);
        } finally {
          process.removeListener('SIGINT', onInterrupt);
        }
      }),
    ),
  );

  temporalOptions(
    release
      .command('approve <id-or-environment>')
      .description('approve a release, stripe setup or rollback waiting at the gate: shows the plan and its digest, then approves that plan')
      .requiredOption('--approver <name>', 'who approves')
      .option('--comment <text>', 'why')
      .option('--digest <hex>', 'approve only this plan digest (as shown by release status); refused when the plan differs'),
  ).action(
    action(async (id: string, flags: TemporalFlags & { approver: string; comment?: string; digest?: string }) =>
      withClient(flags, async (client) => {
        const decision = await decide(client, id, 'approve', flags.approver, flags.comment, { digest: flags.digest, show: err });
        err(`approved by ${decision.approver} at ${decision.at}`);
        return 0;
      }),
    ),
  );

  temporalOptions(
    release
      .command('reject <id-or-environment>')
      .description('reject a release, stripe setup or rollback waiting at the gate')
      .requiredOption('--reason <text>', 'why (required)')
      .option('--approver <name>', 'who rejects (default DB_RELEASE_OPERATOR or the OS user)'),
  ).action(
    action(async (id: string, flags: TemporalFlags & { approver?: string; reason: string }) =>
      withClient(flags, async (client) => {
        const decision = await decide(client, id, 'reject', flags.approver ?? process.env.DB_RELEASE_OPERATOR ?? process.env.USER ?? 'operator', flags.reason, { show: err });
        err(`rejected by ${decision.approver} at ${decision.at}`);
        return 0;
      }),
    ),
  );

  temporalOptions(release.command('cancel <id-or-environment>').description('cancel a running release; its compensations run')).action(
    action(async (id: string, flags: TemporalFlags) =>
      withClient(flags, async (client) => {
        const cancel = await cancelRelease(client, id);
        const what = cancel.type === ROLLBACK_WORKFLOW_TYPE ? 'rollback' : cancel.type === RELEASE_WORKFLOW_TYPE ? 'release' : 'run';
        if (!cancel.workerPolling) {
          err(
            `cancellation of ${cancel.workflowId} (run ${cancel.runId}) recorded, but no worker polls task queue ${cancel.taskQueue}: ` +
              `the ${what} ends, and undoes what it changed, when a worker comes back (db-release worker --project-root DIR --task-queue ${cancel.taskQueue})`,
          );
          return 0;
        }
        err(
          `cancellation requested for ${cancel.workflowId} (run ${cancel.runId}): the ${what} undoes what it changed, then ends as cancelled; ` +
            `follow it: db-release release watch ${cancel.workflowId}`,
        );
        return 0;
      }),
    ),
  );

  temporalOptions(
    release
      .command('list')
      .description('recent releases from Temporal visibility: environment, status, git SHA, who, when')
      .option('--environment <name>', 'only this environment')
      .option('--status <status>', 'only this release status: running, awaiting_approval, success, rolled_back, rejected...')
      .option('--limit <n>', 'how many', '20')
      .option('--json', 'print JSON'),
  ).action(
    action(async (flags: TemporalFlags & { limit: string; json?: boolean; environment?: string; status?: string }) => {
      const limit = Number(flags.limit);
      if (!/^\d+$/.test(flags.limit.trim()) || !Number.isInteger(limit) || limit < 1) throw new CliError(`--limit "${flags.limit}": use a whole number of at least 1`);
      checkListFilter({ environment: flags.environment, status: flags.status });
      return withClient(flags, async (client) => {
        const list = await listReleases(client, { environment: flags.environment, status: flags.status }, limit);
        if (flags.json) {
          out(JSON.stringify(list, null, 2));
          return 0;
        }
        if (!list.indexed) err('note: the DbRelease* search attributes are not registered; run `db-release temporal register-search-attributes` to index new releases');
        for (const line of releaseListLines(list.rows)) out(line);
        if (list.rows.length === 0) err(`no releases match ${list.query}`);
        return 0;
      });
    }),
  );
  temporalOptions(
    release
      .command('rollback <id-or-environment>')
      .description('undo a completed release within the rollback window: price ids, Stripe, then the schema; an environment that requires approval waits for it first')
      .addOption(new Option('--project-root <dir>', 'backend checkout (for rollbackWindow in release.config.json)').env('DB_RELEASE_PROJECT_ROOT'))
      .option('--run-id <id>', 'the release run to undo (default the latest)')
      .option('--window <duration>', 'how old a release may be (default rollbackWindow, 24 hours)')
      .option('--operator <name>', 'who asks for the rollback')
      .option('--json', 'print the result JSON'),
  ).action(
    action(async (id: string, flags: TemporalFlags & RollbackFlags & { json?: boolean }) =>
      withClient(flags, async (client) => {
        const result = await rollbackCommand(client, id, flags, resolveTemporalTarget(flags).taskQueue, err);
        if (flags.json) out(JSON.stringify(result, null, 2));
        err(`rollback of ${result.release_run_id}: ${result.status}`);
        for (const c of result.compensations) err(`  ${c.name}: ${c.status}${c.detail ? ` - ${c.detail}` : ''}${c.manual_action ? ` (by hand: ${c.manual_action})` : ''}`);
        return result.status === 'rolled_back' ? EXIT_CODES.success : EXIT_CODES.rollbackFailed;
      }),
    ),
  );

  const temporalCommand = program.command('temporal').description('prepare a Temporal namespace for releases');
  temporalOptions(
    temporalCommand
      .command('register-search-attributes')
      .description('register the DbRelease* Keyword search attributes release list filters on (the embedded dev server has them already)'),
  ).action(
    action((flags: TemporalFlags) =>
      withClient(flags, async (client) => {
        const added = await registerSearchAttributes(client);
        err(added.length > 0 ? `registered ${added.join(', ')} in namespace ${client.options.namespace}` : `all DbRelease* search attributes already registered in ${client.options.namespace}`);
        return 0;
      }),
    ),
  );

  registerRunbookCommands(program, release);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe();
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? 0 : EXIT_CODES.badInput;
      return;
    }
    for (const line of unexpectedErrorLines(error)) err(line);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  void main(process.argv);
}
