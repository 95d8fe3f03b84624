import { Option, type Command } from 'commander';
import type { TemporalFlags } from './connection';
import { describeSchema, dumpSchema, type FlagOption } from './config-schema';
import { releaseShowCommand, type ShowFlags } from './evidence';
import { runIdFlag } from './release-manage';
import { action, err, out, temporalOptions, withClient } from './program';
import { providersValidateCommand, requireBackendScope, type ProvidersFlags } from './providers';
import { statusSummaryCommand, type StatusFlags } from './status-summary';
import {
  STRIPE_SETUP_DEFAULT_TRIAL_DAYS,
  stripeSetupCommand,
  terminalPrompter,
  type StripeSetupFlags,
} from './stripe-setup';

const projectRootOption = () =>
  new Option('--project-root <dir>', 'backend checkout (default .)').env('DB_RELEASE_PROJECT_ROOT');

const STRIPE_SETUP_EXIT_HELP = `
Exit codes:
  0    provisioned; the summary JSON is on stdout
  1    the stripeSetup workflow failed (the reason on stderr, the run in Temporal)
  2    bad input or Temporal unreachable: nothing was changed or started
  3    a release or stripe setup of this environment is running: nothing was started
  130  interrupted at a prompt: nothing was changed`;

const SHOW_EXIT_HELP = `
Exit codes:
  0    shown / written (whatever the release's own status)
  1    the release ended without a summary (terminated from outside)
  2    bad input, no such release, or Temporal unreachable`;

const REPORT_EXIT_HELP = `
Exit codes:
  0    everything checked is ok
  1    something is missing, invalid or not reachable (see the report)
  2    bad input: no project root, no env file, invalid flags`;

/**
 * The runbook's other commands (stripe setup, providers validate, status summary,
 * config dump-schema, release show). Registered on the program by src/client.ts; each command
 * is a plain function in its own module, bound to its flags here.
 */
export function registerRunbookCommands(program: Command, release: Command): void {
  const stripe = program.command('stripe').description("Stripe plan seeding (the runbook's Option B step 2)");
  temporalOptions(
    stripe
      .command('setup')
      .description(
        "provision the catalog's Stripe products and monthly prices and write the price ids into .env.local and billing_plans. " +
          'Runs the stripeSetup workflow on the release worker: the same provisionStripePlans and syncPriceIds activities as release db, ' +
          'recorded in Temporal. Secrets never enter the workflow: --secret-key/--webhook-secret are written into <project root>/.env.local ' +
          "(other lines kept) before it starts, so run this where the worker's checkout is. Prints the summary JSON (secrets masked) on stdout.",
      )
      .addOption(projectRootOption())
      .option('--non-interactive', 'never prompt; plans without --plan keep their catalog amount')
      .option(
        '--secret-key <key>',
        'STRIPE_SECRET_KEY to write into .env.local (default: the one already there)',
      )
      .option(
        '--webhook-secret <secret>',
        'STRIPE_WEBHOOK_SECRET to write into .env.local (default: the one already there)',
      )
      .option('--currency <code>', 'price currency (default usd, or currency in release.config.json)')
      .option(
        '--trial-days <days>',
        `trial days on the prices (default ${STRIPE_SETUP_DEFAULT_TRIAL_DAYS}, the original's standalone default; release db uses 14)`,
      )
      .option(
        '--plan <code=cents>',
        'plan amount in minor units, repeatable: --plan starter=0 --plan pro=9900',
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option(
        '--environment <name>',
        'environment (default ENVIRONMENT from the env files, else local); the workflow id is db-release-stripe-setup-<environment>',
      )
      .option('--operator <name>', 'who runs it (default DB_RELEASE_OPERATOR or the OS user)')
      .addHelpText('after', STRIPE_SETUP_EXIT_HELP),
  ).action(
    action((flags: StripeSetupFlags) =>
      stripeSetupCommand(flags, {
        stdout: out,
        stderr: err,
        prompter: flags.nonInteractive ? null : terminalPrompter(),
      }),
    ),
  );

  program
    .command('providers')
    .description('provider keys of the backend')
    .command('validate')
    .description(
      'check STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, RESEND_API_KEY and OPENAI_API_KEY in the backend env files: present, well formed, ' +
        'and the Stripe key accepted by Stripe (one authenticated read; honours STRIPE_API_BASE). Keys are shown masked.',
    )
    .addOption(projectRootOption())
    .option('--offline', 'format checks only: do not call Stripe')
    .option('--json', 'print the result as JSON (and nothing else)')
    .addHelpText('after', REPORT_EXIT_HELP)
    .action(action((flags: ProvidersFlags) => providersValidateCommand(flags, { stdout: out, stderr: err })));

  temporalOptions(
    program
      .command('status')
      .description('release readiness')
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

  const releaseDb = release.commands.find((c) => c.name() === 'db');
  program
    .command('config')
    .description('settings of this tool')
    .command('dump-schema')
    .description(
      'every setting db-release reads (env vars, release.config.json keys, release db flags) with its default and whether it is secret, ' +
        'and for the backend where each value was found; secrets masked, URL passwords redacted',
    )
    .addOption(projectRootOption())
    .option('--json', 'print the result as JSON (and nothing else)')
    .addHelpText('after', REPORT_EXIT_HELP)
    .action(
      action(async (flags: { projectRoot?: string; json?: boolean }) => {
        const { projectRoot, scope } = await requireBackendScope(flags.projectRoot);
        const options: FlagOption[] = (releaseDb?.options ?? []).map((o) => ({
          flags: o.flags,
          long: o.long,
          description: o.description,
          envVar: o.envVar,
          defaultValue: o.defaultValue as unknown,
        }));
        const dump = await dumpSchema(projectRoot, scope, options);
        if (flags.json) out(JSON.stringify(dump, null, 2));
        else for (const line of describeSchema(dump)) out(line);
        return 0;
      }),
    );

  temporalOptions(
    release
      .command('show <id-or-environment>')
      .description(
        'the summary of a release, running or finished (also one that ended while no CLI watched); with --evidence DIR writes ' +
          'summary.json, report.md and history.json (the full Temporal history, in the JSON form temporal workflow show and replayers read)',
      )
      .option('--run-id <id>', 'a specific run (default the latest)')
      .option('--evidence <dir>', 'write the evidence files into this folder')
      .addHelpText('after', SHOW_EXIT_HELP),
  ).action(
    action(async (id: string, flags: TemporalFlags & ShowFlags) =>
      withClient(flags, (client) => releaseShowCommand(client, id, { ...flags, runId: runIdFlag(flags.runId) }, { stdout: out, stderr: err })),
    ),
  );
}
