/**
 * `db-release release db`: validates every flag and the backend's input into the workflow input,
 * starts the release, follows it (live on a terminal) and writes the summary when it ends.
 */
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Command } from 'commander';
import { setMaxListeners } from 'node:events';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { approvalPolicyFor, catalogOf } from '../../config/release-config';
import { renderReleaseReport, reportPathFor } from '../../release/report';
import { plansWithoutFlag, resolvePlans } from '../../release/plans';
import { EXIT_CODES, exitCodeForSummary } from '../../release/summary';
import { approveCommand } from '../../release/approval';
import { ErrorType } from '../../release/errors';
import { overrideReasonProblem } from '../../release/promotion';
import type { ReleaseInput, ReleaseSummary } from '../../release/types';
import {
  RELEASE_WORKFLOW_TYPE,
  releaseWorkflowId,
  statusQuery,
  summaryQuery,
} from '../../workflows/messages';
import type { releaseDb } from '../../workflows';
import {
  connectClient,
  resolveTemporalTarget,
  workflowUrl,
  type TemporalFlags,
  type TemporalTarget,
} from '../connection';
import { CliError } from '../errors';
import {
  billingOf,
  checkStripeSecrets,
  defaultOperator,
  identityFlag,
  loadBackendContext,
  planAmounts,
  priceCurrency,
  trialDaysOf,
} from '../input';
import { finishedView, followLive, LiveDisplay, renderLiveView } from '../live-view';
import {
  action,
  err,
  EXIT_HELP,
  liveTerminal,
  onInterrupt,
  out,
  projectRootOption,
  repeatable,
  temporalOptions,
} from '../program';
import {
  askPlanAmounts,
  askSecret,
  terminalPrompter,
  writeSecretsToEnvLocal,
  type Prompter,
  type SecretUpdates,
} from '../prompts';
import { summaryOfResult } from '../release-runs';
import { startAttributes } from '../search-attributes';
import { startOnePerId } from '../start-run';
import { requireWorker } from '../worker-presence';

export interface ReleaseDbFlags extends TemporalFlags {
  projectRoot?: string;
  environment?: string;
  nonInteractive?: boolean;
  skipStripe?: boolean;
  skipDbChecks?: boolean;
  noRollback?: boolean;
  summaryPath?: string;
  json?: boolean;
  plan?: string[];
  currency?: string;
  trialDays?: string;
  operator?: string;
  /** `--override-promotion "<reason>"` (README: Promotion). */
  overridePromotion?: string;
}

export interface PreparedRelease {
  input: ReleaseInput;
  workflowId: string;
  projectRoot: string;
  summaryPath: string;
  target: TemporalTarget;
  /** Stripe secrets typed at the prompt: written to `.env.local` before the start, never into the input. */
  envUpdates: SecretUpdates;
}

/** `--override-promotion <reason>`: a reason is required and bounded (it goes into history and the summary). */
export function overrideReasonOf(flag: string): string {
  const problem = overrideReasonProblem(flag);
  if (problem) throw new CliError(problem);
  return flag.replace(/\s+/gu, ' ').trim();
}

/** UTC stamp as the original wrote it in report names: %Y%m%dT%H%M%SZ. */
export function utcStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Validates every flag once, into the typed workflow input. Anything wrong is a CliError
 * (exit 2) naming the flag and the fix, and nothing has been started yet.
 */
export async function prepareRelease(
  flags: ReleaseDbFlags,
  env: NodeJS.ProcessEnv = process.env,
  now = new Date(),
  prompter: Prompter | null = null,
): Promise<PreparedRelease> {
  const { projectRoot, config, scope, environment } = await loadBackendContext(flags, env);
  const catalog = catalogOf(config);
  let amounts = planAmounts(flags.plan, catalog);
  const options = {
    non_interactive: Boolean(flags.nonInteractive),
    skip_stripe: Boolean(flags.skipStripe),
    skip_db_checks: Boolean(flags.skipDbChecks),
    no_rollback: Boolean(flags.noRollback),
  };
  const billing = billingOf(scope, projectRoot);
  const stripeWanted = !options.skip_stripe && billing.enabled;
  if (stripeWanted) checkStripeSecrets(scope, projectRoot);
  if (options.non_interactive && stripeWanted) {
    const missing = plansWithoutFlag(catalog, amounts);
    if (missing.length > 0) {
      throw new CliError(
        `--non-interactive needs a --plan for every catalog plan; missing: ${missing.map((c) => `--plan ${c}=CENTS`).join(' ')}`,
      );
    }
    const secrets = ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'].filter((name) => !scope.values[name]);
    if (secrets.length > 0) {
      throw new CliError(
        `${secrets.join(' and ')} not set in ${projectRoot}/.env.local, .env, .env.compose or the environment; ` +
          'add them, or pass --skip-stripe',
      );
    }
  }
  const currency = priceCurrency(flags.currency, config.currency);
  const trialDays = trialDaysOf(flags.trialDays, config.trialDays);
  // Interactive on a terminal, as `stripe setup`: ask what the flags and env files do not give.
  const envUpdates: SecretUpdates = {};
  if (!options.non_interactive && stripeWanted && prompter) {
    const unpriced = plansWithoutFlag(catalog, amounts);
    if (unpriced.length > 0) amounts = await askPlanAmounts(prompter, catalog, amounts, unpriced);
    for (const name of ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'] as const) {
      if (scope.values[name]) continue;
      const answer = await askSecret(prompter, name, undefined);
      if (answer === undefined)
        throw new CliError(
          `${name} is needed for Stripe setup: type it, add it to ${projectRoot}/.env.local, or pass --skip-stripe`,
        );
      envUpdates[name] = answer;
    }
  }

  const summaryStamp = utcStamp(now);
  const summaryPath = path.resolve(
    projectRoot,
    flags.summaryPath ?? path.join('var', 'reports', `db-release-${summaryStamp}.json`),
  );
  await requireWritableSummaryPath(summaryPath, flags.summaryPath !== undefined);
  const target = resolveTemporalTarget(flags, env);
  const startedBy = identityFlag('--operator', flags.operator ?? defaultOperator(env));
  return {
    input: {
      environment,
      options,
      plans: resolvePlans(catalog, amounts),
      currency,
      trialDays,
      startedBy,
      // Claims: the worker checks them against the backend it serves and uses its own policy.
      approval: approvalPolicyFor(config, environment),
      claims: { catalog, billingEnabled: billing.enabled },
      ...(flags.overridePromotion !== undefined
        ? { overridePromotion: overrideReasonOf(flags.overridePromotion) }
        : {}),
    },
    workflowId: releaseWorkflowId(environment),
    projectRoot,
    summaryPath,
    target,
    envUpdates,
  };
}

/**
 * The summary is written when the release ends; a path that cannot take it is refused before
 * anything starts (exit 2), without creating anything: not a directory, and the file or its
 * nearest existing folder writable.
 */
export async function requireWritableSummaryPath(file: string, fromFlag: boolean): Promise<void> {
  const flag = fromFlag ? `--summary-path "${file}"` : `the default summary path "${file}"`;
  const found = await stat(file).catch(() => null);
  if (found?.isDirectory())
    throw new CliError(`${flag} is a directory; give a file path such as ${path.join(file, 'summary.json')}`);
  if (found) {
    if (
      !(await access(file, fsConstants.W_OK).then(
        () => true,
        () => false,
      ))
    )
      throw new CliError(`${flag} is not writable; choose another path`);
    return;
  }
  let dir = path.dirname(file);
  for (;;) {
    const at = await stat(dir).catch(() => null);
    if (at) {
      if (!at.isDirectory())
        throw new CliError(`${flag}: ${dir} is a file, not a folder; choose another path`);
      if (
        !(await access(dir, fsConstants.W_OK).then(
          () => true,
          () => false,
        ))
      ) {
        throw new CliError(`${flag}: the folder ${dir} is not writable; choose another path`);
      }
      return;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** Starts the release; an environment with a running release is refused by Temporal itself. */
export async function startRelease(
  client: Client,
  prepared: PreparedRelease,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof releaseDb>> {
  // Indexed for `release list` and the Web UI when the namespace has the DbRelease* attributes.
  const { environment, startedBy } = prepared.input;
  const typedSearchAttributes = await startAttributes(client, { environment, startedBy, status: 'running' });
  return startOnePerId<typeof releaseDb>(
    client,
    RELEASE_WORKFLOW_TYPE,
    {
      taskQueue: prepared.target.taskQueue,
      workflowId: prepared.workflowId,
      args: [{ ...prepared.input, indexed: typedSearchAttributes !== undefined }],
      typedSearchAttributes,
      memo: { environment: prepared.input.environment, startedBy: prepared.input.startedBy },
      staticSummary: `db release of ${prepared.input.environment} by ${prepared.input.startedBy}`,
    },
    async () => {
      const running = await client.workflow
        .getHandle(prepared.workflowId)
        .describe()
        .catch(() => null);
      const who = (running?.memo?.startedBy as string | undefined) ?? 'someone';
      return new CliError(
        `a release of environment "${prepared.input.environment}" is already running: workflow ${prepared.workflowId}` +
          `${running ? ` (run ${running.runId}, started ${running.startTime.toISOString()} by ${who})` : ''}; ` +
          `watch it with \`db-release release watch ${prepared.workflowId}\` or stop it with \`db-release release cancel ${prepared.workflowId}\``,
        EXIT_CODES.alreadyRunning,
      );
    },
  );
}

export async function writeSummary(file: string, summary: ReleaseSummary): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(summary, null, 2)}\n`);
  // The Markdown report for a PR or change ticket, next to the JSON: var/reports/db-release-X.md
  await writeFile(reportPathFor(file), renderReleaseReport(summary));
}

/** The worker refused the release at preflight: which backend disagreed, or which release holds the target. */
export function refusalLine(summary: ReleaseSummary): string | null {
  const error = summary.error;
  if (error?.type === ErrorType.TargetMismatch)
    return `refused by the worker (${error.type}): ${error.message}`;
  if (error?.type === ErrorType.PromotionRequired)
    return `refused by the worker (${error.type}): ${error.message}`;
  if (error?.type === ErrorType.TargetBusy) {
    const h = error.holder;
    if (!h) return `refused (${error.type}): ${error.message}`;
    return (
      `refused (${error.type}): release ${h.workflowId} (run ${h.runId}, environment ${h.environment}, started by ${h.startedBy} at ${h.acquiredAt}) ` +
      `holds this target's database; nothing was changed. Watch it: db-release release watch ${h.workflowId}; ` +
      `cancel it: db-release release cancel ${h.workflowId}`
    );
  }
  return null;
}

export interface ReleaseDbIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** A person is watching (stderr is a terminal): where to draw live progress unless --non-interactive. */
  live?: { write: (text: string) => void; columns: () => number; rows?: () => number };
  /** Resolves when the operator presses Ctrl-C. */
  interrupted: Promise<void>;
  /** Asks for missing plan amounts and Stripe secrets on a terminal, unless --non-interactive. */
  prompter?: Prompter | null;
}

/** `release db`: start, wait, write the summary. Ctrl-C detaches; the release goes on. */
export async function releaseDbCommand(flags: ReleaseDbFlags, io: ReleaseDbIo): Promise<number> {
  let prepared: PreparedRelease;
  try {
    prepared = await prepareRelease(
      flags,
      process.env,
      new Date(),
      flags.nonInteractive ? null : (io.prompter ?? null),
    );
  } finally {
    io.prompter?.close();
  }
  const { client, connection } = await connectClient(prepared.target);
  try {
    // A release started with no worker would wait unseen and run whenever one comes back.
    await requireWorker(client, prepared.target.taskQueue, 'the release', { exitCode: EXIT_CODES.badInput });
    if (Object.keys(prepared.envUpdates).length > 0) {
      // Nothing is written while another release of the environment runs (it would be refused).
      const running = await client.workflow
        .getHandle(prepared.workflowId)
        .describe()
        .catch(() => null);
      if (
        running?.status.name !== 'RUNNING' &&
        (await writeSecretsToEnvLocal(prepared.projectRoot, prepared.envUpdates))
      ) {
        io.stderr(
          `wrote ${Object.keys(prepared.envUpdates).join(', ')} to ${path.join(prepared.projectRoot, '.env.local')}`,
        );
      }
    }
    const handle = await startRelease(client, prepared);
    const runId = handle.firstExecutionRunId;
    io.stderr(
      `Started release ${prepared.workflowId} (run ${runId}) on task queue ${prepared.target.taskQueue}`,
    );
    const url = workflowUrl(prepared.target, prepared.workflowId, runId);
    if (url) io.stderr(`Web UI: ${url}`);
    if (prepared.input.approval.required || prepared.input.overridePromotion) {
      io.stderr(
        `${prepared.input.approval.required ? 'Approval required' : 'With --override-promotion, approval (acknowledging the override) is required if a promotion is missing'} for ${prepared.input.environment}: ${approveCommand(prepared.workflowId, null)} ` +
          `(it shows the plan and its digest first; from the Web UI send the signal "approve" with the JSON, digest included, shown in the workflow's current details)`,
      );
    }
    // The result is a long poll; on Ctrl-C it is aborted so the CLI exits at once.
    const waiting = new AbortController();
    // The SDK adds an abort listener to this signal for each long poll of the result and keeps it
    // until the signal ends, so a release that waits at the gate for a while passes Node's default
    // of 10 and prints MaxListenersExceededWarning over the live view. They all go when it aborts.
    setMaxListeners(0, waiting.signal);
    let live: Promise<unknown> = Promise.resolve();
    let display: LiveDisplay | null = null;
    if (!prepared.input.options.non_interactive && io.live) {
      // Interactive: the plan, the gate and each step, redrawn in place as they change.
      display = new LiveDisplay(io.live.write, io.live.columns, io.live.rows);
      live = followLive(() => handle.query(statusQuery), display, waiting.signal);
    }
    let outcome;
    try {
      outcome = await Promise.race([
        connection
          .withAbortSignal(waiting.signal, () => summaryOfResult(handle))
          .then((summary) => ({ kind: 'done' as const, summary })),
        io.interrupted.then(() => ({ kind: 'detached' as const })),
      ]);
    } finally {
      // Also when the release ended without a summary (terminated): the live view must stop.
      waiting.abort();
      await live;
    }
    if (outcome.kind === 'detached') {
      const partial = await handle.query(summaryQuery).catch(() => null);
      if (partial) await writeSummary(prepared.summaryPath, partial);
      io.stderr(
        `Detached: the release goes on. Watch: db-release release watch ${prepared.workflowId}; ` +
          `cancel: db-release release cancel ${prepared.workflowId}` +
          (partial ? `; partial summary: ${prepared.summaryPath}` : ''),
      );
      return EXIT_CODES.detached;
    }
    // The last block drawn may predate the end: draw the finished release once more.
    display?.update(renderLiveView(finishedView(outcome.summary), new Date()));
    await writeSummary(prepared.summaryPath, outcome.summary);
    if (flags.json) io.stdout(JSON.stringify(outcome.summary, null, 2));
    io.stderr(`Release ${outcome.summary.status}. Summary: ${prepared.summaryPath}`);
    const refusal = refusalLine(outcome.summary);
    if (refusal) io.stderr(refusal);
    else if (outcome.summary.error)
      io.stderr(`  ${outcome.summary.error.step ?? 'release'}: ${outcome.summary.error.message}`);
    for (const c of outcome.summary.compensations.filter((c) => c.manual_action)) {
      io.stderr(`  by hand (${c.name}): ${c.manual_action}`);
    }
    return exitCodeForSummary(outcome.summary);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export function register(release: Command): Command {
  return temporalOptions(
    release
      .command('db')
      .description(
        'run the database release: migrations, alembic revision, Stripe setup, billing plan checks, summary',
      )
      .addOption(projectRootOption('backend checkout (for config, env checks and the summary)'))
      .option(
        '--environment <name>',
        'deployment environment; one release per environment at a time (default ENVIRONMENT from the env files, else local)',
      )
      .option(
        '--non-interactive',
        'fail instead of prompting; needs a --plan for every catalog plan and both Stripe secrets',
      )
      .option('--skip-stripe', 'skip Stripe provisioning')
      .option('--skip-db-checks', 'skip the billing_plans verification')
      .option('--no-rollback', 'on failure keep the partial state for diagnosis instead of compensating')
      .option(
        '--summary-path <path>',
        'summary file (default var/reports/db-release-<UTC>.json under the project root)',
      )
      .option('--json', 'also print the summary JSON to stdout (and nothing else)')
      .option(
        '--plan <code=cents>',
        'plan amount in minor units, repeatable: --plan starter=0 --plan pro=9900',
        repeatable,
      )
      .option('--currency <code>', 'price currency (default usd)')
      .option('--trial-days <days>', 'trial days on the prices (default 14)')
      .option('--operator <name>', 'who starts the release (default DB_RELEASE_OPERATOR or the OS user)')
      .option(
        '--override-promotion <reason>',
        'go ahead although a required environment has not released this git SHA and revision set (README: Promotion); waits for an approval that acknowledges it',
      )
      .addHelpText('after', EXIT_HELP),
  ).action(
    action((flags: ReleaseDbFlags & { rollback?: boolean }) =>
      onInterrupt((interrupted) =>
        releaseDbCommand(
          { ...flags, noRollback: flags.rollback === false },
          {
            stdout: out,
            stderr: err,
            interrupted,
            prompter: terminalPrompter(),
            live: liveTerminal(process.stderr),
          },
        ),
      ),
    ),
  );
}
