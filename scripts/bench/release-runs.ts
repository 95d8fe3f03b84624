/**
 * One full release of the sample backend, three ways, each from the same starting state (a fresh
 * database, a fresh Stripe peer, a fresh backend copy):
 *
 * - `workflow`: through Temporal, `client.workflow.execute('releaseDb', …)` with the input the CLI
 *   builds (`prepareRelease`), served by a worker;
 * - `manual`:   the runbook by hand, in sequence: the migrate command, `alembic current`, the Stripe
 *   calls through the same `StripeGateway` (list products, list prices by lookup key, create what
 *   is missing), and the `billing_plans` query with pg;
 * - `direct`:   the very activity functions the worker runs (preflight … evidence), called in
 *   sequence in this process with no Temporal at all, so `workflow − direct` is the orchestration
 *   cost alone and `direct − manual` is the extra work the workflow's activities do (pre-flight
 *   checks, price-id sync, evidence).
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createActivities } from '../../src/activities';
import { createStripeGateway } from '../../src/activities/stripe-gateway';
import { prepareRelease, type PreparedRelease } from '../../src/cli/commands/release-db';
import { loadEnvScope } from '../../src/config/env-files';
import { loadReleaseConfig } from '../../src/config/release-config';
import { adminUrl, createDatabase, dropDatabase } from '../../src/devstack/postgres';
import { prepareSampleBackend } from '../../src/devstack/sample-backend';
import { prepareStarterBackend, STARTER_BACKEND_SUBDIR } from '../../src/devstack/starter-monorepo';
import type { PythonCounter } from './proc-count';
import { PEER_SECRET_KEY, PEER_WEBHOOK_SECRET } from '../../src/devstack/stack';
import type { StripePeer } from '../../dev/stripe-peer';
import { lookupKeyFor, PLAN_CODE_METADATA_KEY } from '../../src/release/plans';
import type { ReleaseSummary } from '../../src/release/types';
import { runCommand } from '../../src/runtime/command-runner';
import { workTracker } from '../../src/runtime/warm-process';
import { RELEASE_WORKFLOW_TYPE } from '../../src/workflows/messages';
import type { releaseDb } from '../../src/workflows';
import { realActivityDeps } from '../../src/worker';

export type Variant = 'workflow' | 'manual' | 'direct';
/** `real`: fresh empty database, real Alembic migrations. `noop`: database migrated beforehand, migrate command `true`. */
export type MigrateMode = 'real' | 'noop';
/**
 * `saas`: examples/saas-backend. `starter`: examples/starter-monorepo (backend in apps/api-service,
 * its own venv, billing on), with STARTER_IMPORT_DELAY_S=1 so every import of its application (its
 * env.py imports it) costs about 1 s, like a real backend's.
 */
export type Sample = 'saas' | 'starter';

/** Activity calls the `direct` variant makes, as the workflow does without an approval gate (preflight, runMigrations, captureAlembicRevision, provisionStripePlans, syncPriceIds, verifyBillingPlans, readReleaseEvidence, releaseTargetLease). */
export const DIRECT_ACTIVITIES = 8;

/** The project root (where release.config.json is) of a sample copied to `dir`. */
export function projectRootOf(sample: Sample, dir: string): string {
  return sample === 'starter' ? path.join(dir, STARTER_BACKEND_SUBDIR) : dir;
}

/**
 * Activities a finished workflow ran, counted in its history (so the per-activity figures follow
 * the workflow as it changes): scheduled activities plus local ones (each a marker the SDK records).
 */
export async function countScheduledActivities(client: Client, workflowId: string): Promise<number> {
  return (await historyFacts(client, workflowId)).activities;
}

/**
 * What a run's history shows: the activities it ran (scheduled plus local ones, each a marker the
 * SDK records) and its timeline, one `offset ms  event` line per event from the workflow's start,
 * so the report shows where a release's time went (waiting for a workflow task, an activity, …).
 */
export async function historyFacts(
  client: Client,
  workflowId: string,
): Promise<{ activities: number; timeline: string[] }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const msOf = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0;
  const start = msOf(events[0]?.eventTime);
  const timeline = events.map((e) => {
    const type =
      e.eventType !== null && e.eventType !== undefined
        ? String(temporal.api.enums.v1.EventType[e.eventType] ?? e.eventType)
        : '?';
    const what =
      e.activityTaskScheduledEventAttributes?.activityType?.name ??
      (e.markerRecordedEventAttributes ? e.markerRecordedEventAttributes.markerName : undefined);
    return `${(msOf(e.eventTime) - start).toFixed(1).padStart(7)} ${type.replace(/^EVENT_TYPE_/, '')}${what ? ` ${what}` : ''}`;
  });
  const activities = events.filter(
    (e) =>
      e.activityTaskScheduledEventAttributes ||
      e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
  ).length;
  return { activities, timeline };
}

export interface RunContext {
  client: Client;
  address: string;
  taskQueue: string;
  peer: StripePeer;
  sample: Sample;
  /** Where the sample is copied (the monorepo's root for `starter`); rebuilt before every run. */
  backendDir: string;
  /** Counts Python interpreter starts (installed into `env` and process.env). */
  python: PythonCounter;
  /** The counter's line count when the previous run's window closed (set by timedRelease). */
  pythonCountedUpTo?: number;
  /** Processes started ahead between runs, not yet counted in a run that uses them. */
  startedAheadPending?: string[];
  /** Unique per benchmark process, part of every database name. */
  tag: string;
  /** Databases still to drop (the caller drops leftovers on failure). */
  databases: Set<string>;
  env: NodeJS.ProcessEnv;
}

export interface RunResult {
  variant: Variant;
  mode: MigrateMode;
  seq: number;
  warmup: boolean;
  ms: number;
  ok: boolean;
  detail: string;
  /** Objects the Stripe peer holds after the run: all created by it, since the peer was reset before. */
  productsCreated: number;
  pricesCreated: number;
  /** alembic_version after the run (checked outside the timed window). */
  revisionAfter: string | null;
  /** Activities the run executed: from the workflow's history, or the direct variant's calls; null by hand. */
  activities: number | null;
  sample: Sample;
  /** Python interpreters started during the timed window (every variant). */
  pythonProcesses: number;
  /** The Python command lines, for the JSON report. */
  pythonCommands: string[];
  /** Commands the activities started through deps.run (direct variant only; null otherwise). */
  commands: number | null;
  /** The workflow variant: its history as `offset ms  event` lines (see historyFacts). */
  timeline?: string[];
}

const PLAN_FLAGS = ['starter=0', 'pro=9900'];

/** The untimed part: fresh database, fresh backend copy, fresh peer; the release input the CLI would build. */
async function prepareRun(
  ctx: RunContext,
  variant: Variant,
  mode: MigrateMode,
  seq: number,
): Promise<{ prepared: PreparedRelease; database: string }> {
  const database = `dbr_bench_${ctx.tag}_r${seq}`;
  ctx.databases.add(database);
  await createDatabase(database);
  ctx.peer.reset();
  const common = {
    dir: ctx.backendDir,
    databaseName: database,
    serverUrl: adminUrl(),
    stripeApiBase: ctx.peer.url,
    stripeSecretKey: PEER_SECRET_KEY,
    stripeWebhookSecret: PEER_WEBHOOK_SECRET,
    // The worker refuses a release naming another environment than its backend's: name them alike.
    environment: `bench-${variant}-${seq}`,
  };
  if (ctx.sample === 'starter')
    await prepareStarterBackend({ ...common, billing: true, extraEnv: { STARTER_IMPORT_DELAY_S: '1' } });
  else await prepareSampleBackend(common);
  const root = projectRootOf(ctx.sample, ctx.backendDir);
  if (mode === 'noop') {
    await setMigrateCommand(root, ['true']);
    // Bring the database to head beforehand, so the no-op release finds what a real one leaves.
    const env = (await loadEnvScope(root, ctx.env)).values;
    const migrated = await runCommand({ command: ['just', 'migrate'], cwd: root, env });
    if (migrated.exitCode !== 0) throw new Error(`just migrate (setup) failed: ${migrated.all.slice(-1000)}`);
  }
  const prepared = await prepareRelease(
    {
      projectRoot: root,
      environment: `bench-${variant}-${seq}`,
      nonInteractive: true,
      // The starter: every plan of its catalog at the catalog's price.
      plan: ctx.sample === 'saas' ? PLAN_FLAGS : await catalogFlags(root),
      address: ctx.address,
      taskQueue: ctx.taskQueue,
    },
    ctx.env,
  );
  return { prepared, database };
}

async function catalogFlags(projectRoot: string): Promise<string[]> {
  const config = JSON.parse(await readFile(path.join(projectRoot, 'release.config.json'), 'utf8')) as {
    catalog?: Array<{ code: string; amount: number }>;
  };
  return (config.catalog ?? []).map((p) => `${p.code}=${p.amount}`);
}

export async function setMigrateCommand(backendDir: string, command: string[]): Promise<void> {
  const file = path.join(backendDir, 'release.config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  config.migrateCommand = command;
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
}

async function runWorkflow(
  ctx: RunContext,
  prepared: PreparedRelease,
): Promise<{ ok: boolean; detail: string }> {
  const summary: ReleaseSummary = await ctx.client.workflow.execute<typeof releaseDb>(RELEASE_WORKFLOW_TYPE, {
    taskQueue: ctx.taskQueue,
    workflowId: prepared.workflowId,
    args: [prepared.input],
  });
  return {
    ok: summary.status === 'success',
    detail: `${summary.status}: ${summary.steps.map((s) => `${s.name}=${s.status}`).join(' ')}`,
  };
}

async function runManual(
  ctx: RunContext,
  prepared: PreparedRelease,
): Promise<{ ok: boolean; detail: string }> {
  const root = prepared.projectRoot;
  const config = await loadReleaseConfig(root);
  const scope = await loadEnvScope(root, ctx.env);
  const env = scope.values;
  const migrate = await runCommand({ command: config.migrateCommand, cwd: root, env });
  if (migrate.exitCode !== 0)
    throw new Error(
      `${config.migrateCommand.join(' ')} exited ${migrate.exitCode}: ${migrate.all.slice(-800)}`,
    );
  const current = await runCommand({ command: [...config.alembicCommand, 'current'], cwd: root, env });
  if (current.exitCode !== 0)
    throw new Error(`alembic current exited ${current.exitCode}: ${current.all.slice(-800)}`);

  const key = env.STRIPE_SECRET_KEY;
  if (!key) throw new Error('STRIPE_SECRET_KEY missing');
  const stripe = createStripeGateway(key, scope);
  const idem = (what: string) => `bench-manual-${ctx.tag}-${prepared.input.environment}-${what}`;
  const products = await stripe.listProducts();
  const priceIds: string[] = [];
  for (const plan of prepared.input.plans) {
    const product =
      products.find((p) => p.active && p.metadata[PLAN_CODE_METADATA_KEY] === plan.code) ??
      (await stripe.createProduct(
        { name: plan.name, metadata: { [PLAN_CODE_METADATA_KEY]: plan.code } },
        idem(`product-${plan.code}`),
      ));
    const lookupKey = lookupKeyFor(plan.code);
    const holders = await stripe.listPricesByLookupKey(lookupKey);
    const match = holders.find(
      (p) =>
        p.active &&
        p.product === product.id &&
        p.unit_amount === plan.amount &&
        p.currency === prepared.input.currency &&
        p.trial_period_days === prepared.input.trialDays,
    );
    const price =
      match ??
      (await stripe.createPrice(
        {
          product: product.id,
          currency: prepared.input.currency,
          unit_amount: plan.amount,
          interval: 'month',
          trial_period_days: prepared.input.trialDays,
          nickname: `${plan.name} Monthly`,
          lookup_key: lookupKey,
          metadata: { [PLAN_CODE_METADATA_KEY]: plan.code, trial_days: String(prepared.input.trialDays) },
        },
        idem(`price-${plan.code}`),
      ));
    priceIds.push(price.id);
  }

  const url = env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL missing');
  const db = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await db.connect();
  try {
    // Every column: the saas sample keeps price ids in a column, the starter in its env files.
    const { rows } = await db.query<{ code: string }>('select * from billing_plans order by code');
    return {
      ok: rows.length >= prepared.input.plans.length,
      detail: `${current.stdout.trim()}; prices ${priceIds.join(',')}; ${rows.length} plan rows`,
    };
  } finally {
    await db.end();
  }
}

async function runDirect(
  ctx: RunContext,
  prepared: PreparedRelease,
): Promise<{ ok: boolean; detail: string; commands: number }> {
  const deps = realActivityDeps(prepared.projectRoot);
  let commands = 0;
  const acts = createActivities({
    ...deps,
    run: (request) => {
      commands++;
      return deps.run(request);
    },
  });
  const workflowExecution = {
    workflowId: `bench-direct-${ctx.tag}-${prepared.input.environment}`,
    runId: randomUUID(),
  };
  let n = 0;
  const steps: string[] = [];
  const inActivity = async <R>(fn: () => Promise<R>, endsRelease = false): Promise<R> => {
    const started = performance.now();
    // As the worker's interceptor does: processes started ahead wait for the release to end.
    workTracker.started();
    // The workflow's longest step limit (migrate: 30 minutes); the mock's default is 1 s.
    const result = await new MockActivityEnvironment({
      workflowExecution,
      activityId: String(++n),
      startToCloseTimeoutMs: 30 * 60_000,
    })
      .run<[], R, () => Promise<R>>(fn)
      .finally(() => workTracker.ended(endsRelease));
    steps.push(`${Math.round(performance.now() - started)}`);
    return result;
  };
  const input = prepared.input;
  await inActivity(() =>
    acts.preflight({
      skipStripe: input.options.skip_stripe,
      claims: {
        environment: input.environment,
        plans: input.plans,
        approval: input.approval,
        ...input.claims,
      },
      lease: { startedBy: input.startedBy, ttlMs: 5 * 60_000 },
    }),
  );
  await inActivity(() => acts.runMigrations());
  const revision = await inActivity(() => acts.captureAlembicRevision());
  const provisioned = await inActivity(() =>
    acts.provisionStripePlans({ plans: input.plans, currency: input.currency, trialDays: input.trialDays }),
  );
  await inActivity(() => acts.syncPriceIds({ priceMap: provisioned.priceMap }));
  const plans = await inActivity(() => acts.verifyBillingPlans({ codes: input.plans.map((p) => p.code) }));
  await inActivity(() => acts.readReleaseEvidence());
  await inActivity(() => acts.releaseTargetLease(), true);
  const ok = plans.every((p) => p.status === 'ok');
  return {
    ok,
    commands,
    // The eight calls' durations in ms, in the order above.
    detail: `${revision.revision ?? 'no revision'}; ${plans.map((p) => `${p.code}=${p.status}`).join(' ')}; ms ${steps.join(' ')}`,
  };
}

async function revisionOf(database: string): Promise<string | null> {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  try {
    const { rows } = await db.query<{ version_num: string }>('select version_num from alembic_version');
    return rows[0]?.version_num ?? null;
  } catch {
    return null;
  } finally {
    await db.end();
  }
}

/** One release, timed from start to result; setup, checks and the database drop are outside the window. */
export async function timedRelease(
  ctx: RunContext,
  variant: Variant,
  mode: MigrateMode,
  seq: number,
  warmup: boolean,
): Promise<RunResult> {
  const { prepared, database } = await prepareRun(ctx, variant, mode, seq);
  const run = variant === 'workflow' ? runWorkflow : variant === 'manual' ? runManual : runDirect;
  const pythonBefore = ctx.python.count();
  // A process the worker started ahead after the previous run ended (it starts the next ones once a
  // release is done) serves the next run that uses the worker's processes (not the by-hand one,
  // which starts its own): counted there, like one started ahead during a run.
  const mark = ctx.pythonCountedUpTo ?? pythonBefore;
  ctx.startedAheadPending = [
    ...(ctx.startedAheadPending ?? []),
    ...ctx.python
      .linesFrom(mark)
      .slice(0, pythonBefore - mark)
      .filter((line) => line.includes('--serve-once')),
  ];
  const startedAheadBetween = variant === 'manual' ? [] : ctx.startedAheadPending;
  if (variant !== 'manual') ctx.startedAheadPending = [];
  const started = performance.now();
  let outcome: { ok: boolean; detail: string; commands?: number };
  try {
    outcome = await run(ctx, prepared);
  } catch (error) {
    outcome = { ok: false, detail: `error: ${error instanceof Error ? error.message : String(error)}` };
  }
  const elapsed = performance.now() - started;
  const pythonCommands = [...startedAheadBetween, ...ctx.python.linesFrom(pythonBefore)];
  ctx.pythonCountedUpTo = ctx.python.count();
  const facts =
    variant === 'workflow' ? await historyFacts(ctx.client, prepared.workflowId).catch(() => null) : null;
  const activities = variant === 'direct' ? DIRECT_ACTIVITIES : (facts?.activities ?? null);
  const state = ctx.peer.state();
  const revisionAfter = await revisionOf(database);
  await dropDatabase(database);
  ctx.databases.delete(database);
  const createdEverything =
    state.products.length >= prepared.input.plans.length &&
    state.prices.length >= prepared.input.plans.length;
  return {
    variant,
    mode,
    seq,
    warmup,
    ms: elapsed,
    ok: outcome.ok && createdEverything && revisionAfter !== null,
    detail: outcome.detail,
    productsCreated: state.products.length,
    pricesCreated: state.prices.length,
    revisionAfter,
    activities,
    sample: ctx.sample,
    pythonProcesses: pythonCommands.length,
    pythonCommands,
    commands: outcome.commands ?? null,
    ...(facts ? { timeline: facts.timeline } : {}),
  };
}
