/**
 * `stripe setup` (the runbook's Option B step 2, "Stripe plan seeding"): provisions the catalog's
 * products and monthly prices and writes the price ids where the backend reads them.
 *
 * It runs the `stripeSetup` workflow on the release worker, so it executes exactly the release's
 * own `provisionStripePlans` and `syncPriceIds` activities (same lookup keys, idempotency keys,
 * journal and retry policy) and is recorded in Temporal like a release. Secrets never enter the
 * workflow input: `--secret-key` / `--webhook-secret` are written into the backend's `.env.local`
 * (every other line kept) before the workflow starts, and the worker reads them from there, as the
 * original tool read them. So give secrets on the machine that holds the worker's checkout.
 */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import path from 'node:path';
import { loadEnvScope, parseBillingFlag, type EnvScope } from '../../config/env-files';
import { approvalPolicyFor, catalogOf, configuredEnvFiles } from '../../config/release-config';
import { maskSecret } from '../../masking';
import { parsePriceMap, resolvePlans } from '../../release/plans';
import { EXIT_CODES } from '../../release/summary';
import type { ProvisionedPlan } from '../../release/types';
import type { stripeSetup } from '../../workflows';
import type { StripeSetupInput, StripeSetupResult } from '../../workflows/stripe-setup';
import { releaseWorkflowId } from '../../workflows/messages';
import {
  connectClient,
  resolveTemporalTarget,
  workflowUrl,
  type TemporalFlags,
  type TemporalTarget,
} from '../connection';
import { CliError } from '../errors';
import { openGate } from '../gate';
import {
  billingOf,
  defaultOperator,
  identityFlag,
  loadBackendContext,
  planAmounts,
  priceCurrency,
  trialDaysOf,
} from '../input';
import { action, err, out, projectRootOption, repeatable, temporalOptions } from '../program';
import {
  askPlanAmounts,
  askSecret,
  terminalPrompter,
  writeSecretsToEnvLocal,
  type Prompter,
  type SecretUpdates,
} from '../prompts';
import { classifyKey, type ProviderKeyName } from '../providers';
import { startAttributes } from '../search-attributes';
import { startOnePerId } from '../start-run';
import { gateLines } from '../status-lines';
import { requireWorker } from '../worker-presence';

export const STRIPE_SETUP_WORKFLOW_TYPE = 'stripeSetup';
/** The original's standalone default; `release db` uses 14 (release.config.json trialDays). */
export const STRIPE_SETUP_DEFAULT_TRIAL_DAYS = 7;

export function stripeSetupWorkflowId(environment: string): string {
  return `db-release-stripe-setup-${environment}`;
}

export interface StripeSetupFlags extends TemporalFlags {
  projectRoot?: string;
  environment?: string;
  nonInteractive?: boolean;
  secretKey?: string;
  webhookSecret?: string;
  currency?: string;
  trialDays?: string;
  plan?: string[];
  operator?: string;
}

export interface PreparedStripeSetup {
  projectRoot: string;
  environment: string;
  workflowId: string;
  input: StripeSetupInput;
  /** Secrets to write into `.env.local` before starting (only those given now and different). */
  envUpdates: SecretUpdates;
  target: TemporalTarget;
}

function checkSecret(name: ProviderKeyName, value: string, origin: string): void {
  const verdict = classifyKey(name, value);
  if (verdict.status !== 'ok') throw new CliError(`${origin}: ${verdict.reason}`);
}

/**
 * Validates every flag (and, on a terminal, the answers) into the workflow input and the secret
 * lines to write. Anything wrong is a CliError (exit 2) naming the flag, and nothing has changed.
 */
export async function prepareStripeSetup(
  flags: StripeSetupFlags,
  prompter: Prompter | null,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PreparedStripeSetup> {
  const { projectRoot, config, scope, environment } = await loadBackendContext(flags, env);
  // Setup turns billing on, but a value that means neither is a typo to fix first, not to overwrite.
  billingOf(scope, projectRoot);
  const catalog = catalogOf(config);
  let amounts = planAmounts(flags.plan, catalog);
  const currency = priceCurrency(flags.currency, config.currency);
  const trialDays = trialDaysOf(flags.trialDays, STRIPE_SETUP_DEFAULT_TRIAL_DAYS);

  let secretKey = flags.secretKey;
  let webhookSecret = flags.webhookSecret;
  if (secretKey !== undefined) checkSecret('STRIPE_SECRET_KEY', secretKey, '--secret-key');
  if (webhookSecret !== undefined) checkSecret('STRIPE_WEBHOOK_SECRET', webhookSecret, '--webhook-secret');
  if (prompter) {
    secretKey ??= await askSecret(prompter, 'STRIPE_SECRET_KEY', scope.values.STRIPE_SECRET_KEY);
    webhookSecret ??= await askSecret(prompter, 'STRIPE_WEBHOOK_SECRET', scope.values.STRIPE_WEBHOOK_SECRET);
    amounts = await askPlanAmounts(prompter, catalog, amounts);
  }
  for (const [name, given, flag] of [
    ['STRIPE_SECRET_KEY', secretKey, '--secret-key'],
    ['STRIPE_WEBHOOK_SECRET', webhookSecret, '--webhook-secret'],
  ] as const) {
    if (given !== undefined) continue;
    const existing = scope.values[name];
    if (!existing) {
      throw new CliError(
        `${name} is not set in ${projectRoot}/.env.local, .env, .env.compose or the environment; pass ${flag}`,
      );
    }
    checkSecret(name, existing, `${name} (from ${scope.sources[name] ?? 'the env files'})`);
  }
  const envUpdates: PreparedStripeSetup['envUpdates'] = {};
  if (secretKey !== undefined && secretKey !== scope.values.STRIPE_SECRET_KEY)
    envUpdates.STRIPE_SECRET_KEY = secretKey;
  if (webhookSecret !== undefined && webhookSecret !== scope.values.STRIPE_WEBHOOK_SECRET)
    envUpdates.STRIPE_WEBHOOK_SECRET = webhookSecret;
  const approval = approvalPolicyFor(config, environment);
  const startedBy = identityFlag('--operator', flags.operator ?? defaultOperator(env));
  if (approval.required && Object.keys(envUpdates).length > 0) {
    // Writing keys is a change too, and it would happen before anyone approved the setup.
    throw new CliError(
      `stripe setup of ${environment} needs approval, so it writes no secrets before it is approved: ` +
        `put ${Object.keys(envUpdates).join(' and ')} into ${projectRoot}/.env.local on the worker's machine, then run it without --secret-key/--webhook-secret`,
    );
  }

  return {
    projectRoot,
    environment,
    workflowId: stripeSetupWorkflowId(environment),
    input: {
      plans: resolvePlans(catalog, amounts),
      currency,
      trialDays,
      startedBy,
      environment,
      approval,
    },
    envUpdates,
    target: resolveTemporalTarget(flags, env),
  };
}

/** The deepest message of a workflow failure (workflow → activity → application failure), with its type. */
export function failureOf(error: unknown): { type: string | null; message: string } {
  let current = error as { message?: string; type?: string; cause?: unknown } | undefined;
  let type: string | null = null;
  let message = (error as Error)?.message ?? String(error);
  while (current) {
    if (current.message) message = current.message;
    if (typeof current.type === 'string') type = current.type;
    current = current.cause as typeof current;
  }
  return { type, message };
}

export interface StripeSetupSummary {
  stripe_secret_key: string | null;
  stripe_webhook_secret: string | null;
  stripe_product_price_map: Record<string, unknown> | null;
  enable_billing: boolean;
  plans: Array<{
    code: string;
    amount: number;
    currency: string;
    trial_days: number;
    product_id: string;
    product_action: ProvisionedPlan['productAction'];
    price_id: string;
    price_action: ProvisionedPlan['priceAction'];
    lookup_key: string;
    previous_price_id: string | null;
  }>;
  workflow_id: string;
  run_id: string;
  env_file_changed: boolean;
  billing_plans_rows_updated: number;
}

/** The original's printed summary (the four `.env.local` keys, secrets masked), plus what was done per plan. */
export function setupSummary(
  env: EnvScope,
  result: StripeSetupResult,
  ids: { workflowId: string; runId: string },
  secretsWritten: boolean,
): StripeSetupSummary {
  const p = result.provisioned;
  return {
    stripe_secret_key: maskSecret(env.values.STRIPE_SECRET_KEY),
    stripe_webhook_secret: maskSecret(env.values.STRIPE_WEBHOOK_SECRET),
    stripe_product_price_map: parsePriceMap(env.values.STRIPE_PRODUCT_PRICE_MAP),
    enable_billing: parseBillingFlag(env.values.ENABLE_BILLING) === true,
    plans: p.plans.map((plan) => ({
      code: plan.code,
      amount: plan.amount,
      currency: p.currency,
      trial_days: p.trialDays,
      product_id: plan.productId,
      product_action: plan.productAction,
      price_id: plan.priceId,
      price_action: plan.priceAction,
      lookup_key: plan.lookupKey,
      previous_price_id: plan.previousPriceId,
    })),
    workflow_id: ids.workflowId,
    run_id: ids.runId,
    env_file_changed: secretsWritten || result.sync.envFileChanged,
    billing_plans_rows_updated: result.sync.rowsUpdated,
  };
}

async function refuseWhileReleaseRuns(client: Client, environment: string): Promise<void> {
  const release = releaseWorkflowId(environment);
  const description = await client.workflow
    .getHandle(release)
    .describe()
    .catch(() => null);
  if (description?.status.name === 'RUNNING') {
    throw new CliError(
      `${release} (run ${description.runId}, a ${description.type}) is running and changes Stripe itself; wait for it (db-release release watch ${release})`,
      EXIT_CODES.alreadyRunning,
    );
  }
}

export interface StripeSetupIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  prompter: Prompter | null;
}

/** `stripe setup`: 0 provisioned, 1 the workflow failed (its prices rolled back), 2 bad input, 3 already running. */
export async function stripeSetupCommand(flags: StripeSetupFlags, io: StripeSetupIo): Promise<number> {
  let prepared: PreparedStripeSetup;
  try {
    prepared = await prepareStripeSetup(flags, flags.nonInteractive ? null : io.prompter);
  } finally {
    io.prompter?.close();
  }
  const { client, connection } = await connectClient(prepared.target);
  try {
    await refuseWhileReleaseRuns(client, prepared.environment);
    // As release db: a setup started with no worker would run unseen whenever one comes back, and
    // its secrets would already be written; refuse before either (exit 2).
    await requireWorker(client, prepared.target.taskQueue, 'the stripe setup', {
      exitCode: EXIT_CODES.badInput,
    });
    const secretsWritten = await writeSecretsToEnvLocal(prepared.projectRoot, prepared.envUpdates);
    if (secretsWritten)
      io.stderr(
        `wrote ${Object.keys(prepared.envUpdates).join(', ')} to ${path.join(prepared.projectRoot, '.env.local')}`,
      );

    const handle = await startOnePerId<typeof stripeSetup>(
      client,
      STRIPE_SETUP_WORKFLOW_TYPE,
      {
        taskQueue: prepared.target.taskQueue,
        workflowId: prepared.workflowId,
        args: [prepared.input],
        memo: { environment: prepared.environment, startedBy: prepared.input.startedBy },
        typedSearchAttributes: await startAttributes(client, {
          environment: prepared.environment,
          startedBy: prepared.input.startedBy,
        }),
        staticSummary: `stripe setup of ${prepared.environment} by ${prepared.input.startedBy}`,
      },
      () =>
        new CliError(
          `a stripe setup of environment "${prepared.environment}" is already running: workflow ${prepared.workflowId}; wait for it`,
          EXIT_CODES.alreadyRunning,
        ),
    );
    const runId = handle.firstExecutionRunId;
    io.stderr(
      `Started stripe setup ${prepared.workflowId} (run ${runId}) on task queue ${prepared.target.taskQueue}; Ctrl-C detaches, the setup goes on`,
    );
    const url = workflowUrl(prepared.target, prepared.workflowId, runId);
    if (url) io.stderr(`Web UI: ${url}`);
    if (prepared.input.approval?.required) {
      io.stderr(
        `Approval required for ${prepared.environment}: nothing changes until the plan below is approved`,
      );
      const gate = await openGate(
        client,
        prepared.workflowId,
        handle.result().then(
          () => undefined,
          () => undefined,
        ),
      );
      if (gate) for (const line of gateLines(gate, prepared.workflowId)) io.stderr(line);
    }
    let result: StripeSetupResult;
    try {
      result = await handle.result();
    } catch (error) {
      const failure = failureOf(error);
      io.stderr(`stripe setup failed${failure.type ? ` (${failure.type})` : ''}: ${failure.message}`);
      io.stderr(
        `fix the cause and run it again: products and prices are found again by metadata and lookup key, so a re-run creates nothing twice; ` +
          `what this run changed is in its history (${prepared.workflowId}, run ${runId})`,
      );
      return EXIT_CODES.failed;
    }
    const after = await loadEnvScope(
      prepared.projectRoot,
      process.env,
      await configuredEnvFiles(prepared.projectRoot),
    );
    io.stdout(
      JSON.stringify(
        setupSummary(after, result, { workflowId: prepared.workflowId, runId }, secretsWritten),
        null,
        2,
      ),
    );
    io.stderr(
      `stripe setup done: ${result.provisioned.plans.map((p) => `${p.code} ${p.priceId} (${p.priceAction})`).join(', ')}`,
    );
    return EXIT_CODES.success;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const STRIPE_SETUP_EXIT_HELP = `
Exit codes:
  0    provisioned; the summary JSON is on stdout
  1    the stripeSetup workflow failed (the reason on stderr, the run in Temporal)
  2    bad input or Temporal unreachable: nothing was changed or started
  3    a release or stripe setup of this environment is running: nothing was started
  130  interrupted at a prompt: nothing was changed`;

export function register(stripe: Command): Command {
  return temporalOptions(
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
        repeatable,
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
}
