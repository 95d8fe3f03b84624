/**
 * `status summary` (the runbook's "Provider sanity ... status summary should return success"):
 * one screen on whether a release can run and what the last one left. Every check runs even when
 * another fails, and a failure is a line of the report, never a crash.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { backendCommandEnv, resolveBackendLayout } from '../config/backend-layout';
import { parseBillingFlag, type EnvScope } from '../config/env-files';
import {
  alembicConfigFile,
  catalogOf,
  loadReleaseConfig,
  type ReleaseConfig,
} from '../config/release-config';
import { redact, redactUrlPassword, secretValuesOf } from '../masking';
import { parseHeads } from '../release/alembic-output';
import { inspectorScript, parseInspection, readRevisionSet } from '../runtime/alembic-inspection';
import { revisionSetText, sameRevisionSet } from '../release/revisions';
import { evaluatePlans, plansAsKept, type PlanRowFields } from '../release/plans';
import type { BillingPlanRow, ReleaseSummary } from '../release/types';
import { runCommand, type CommandRunner } from '../runtime/command-runner';
import { connectDb } from '../runtime/db';
import { RELEASE_WORKFLOW_TYPE, releaseWorkflowId } from '../workflows/messages';
import type { DbClient } from '../activities/deps';
import { connectClient, resolveTemporalTarget, type TemporalFlags, type TemporalTarget } from './connection';
import { environmentName, requireBackendScope } from './input';
import { releaseSummary } from './release-runs';

export interface PollerView {
  identity: string;
  last_access_time: string | null;
}

export interface StatusSummary {
  ok: boolean;
  project_root: string;
  environment: string;
  temporal: { address: string; namespace: string; reachable: boolean; error: string | null };
  worker: { task_queue: string; polling: boolean; pollers: PollerView[]; error: string | null };
  database: { url: string | null; reachable: boolean; version: string | null; error: string | null };
  alembic: {
    /** The version table's revision set (comma separated when several), null at base. */
    current: string | null;
    /** The version table's rows, one a line, as read with pg; null when empty. */
    current_raw: string | null;
    heads: string[];
    at_head: boolean;
    error: string | null;
  };
  billing_plans: { ok: boolean; plans: BillingPlanRow[]; error: string | null };
  latest_release: {
    workflow_id: string;
    run_id: string | null;
    workflow_type: string | null;
    /** Temporal's execution status: RUNNING, COMPLETED, FAILED, ... */
    execution_status: string | null;
    /** The release's own status from its summary: success, rolled_back, ... */
    status: string | null;
    started_by: string | null;
    start_time: string | null;
    close_time: string | null;
    ok: boolean;
    error: string | null;
  };
}

export interface StatusFlags extends TemporalFlags {
  projectRoot?: string;
  environment?: string;
  json?: boolean;
}

export interface StatusDeps {
  run: CommandRunner;
  connectDb: (url: string) => Promise<DbClient>;
}

const REAL_DEPS: StatusDeps = { run: runCommand, connectDb };

function firstLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split('\n')[0] ?? 'unknown error';
}

/** The pollers of the workflow task queue: a worker is up for this queue when there is one. */
export async function workflowPollers(
  client: Client,
  target: Pick<TemporalTarget, 'namespace' | 'taskQueue'>,
): Promise<PollerView[]> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: target.namespace,
    taskQueue: { name: target.taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (response.pollers ?? []).map((p) => {
    const seconds = p.lastAccessTime?.seconds;
    const at =
      seconds === undefined || seconds === null
        ? null
        : new Date(Number(seconds) * 1000 + Math.floor((p.lastAccessTime?.nanos ?? 0) / 1e6));
    return { identity: p.identity ?? 'unknown', last_access_time: at ? at.toISOString() : null };
  });
}

async function databaseChecks(
  deps: StatusDeps,
  scope: EnvScope,
  config: ReleaseConfig | null,
  clean: (t: string) => string,
): Promise<Pick<StatusSummary, 'database' | 'billing_plans'>> {
  const url = scope.values.DATABASE_URL;
  const catalogCodes = config ? catalogOf(config).map((p) => p.code) : [];
  const notChecked = (error: string) => ({ ok: false, plans: evaluatePlans(catalogCodes, []), error });
  const unreachable = (url: string | null, error: string, why: string) => ({
    database: { url, reachable: false, version: null, error },
    billing_plans: notChecked(`not checked: ${why}`),
  });
  if (!url) {
    return unreachable(
      null,
      'DATABASE_URL is not set in the backend env files; add it to .env.local',
      'no database',
    );
  }
  const shownUrl = redactUrlPassword(url);
  let db: DbClient;
  try {
    db = await deps.connectDb(url);
  } catch (error) {
    return unreachable(shownUrl, clean(`cannot connect: ${firstLine(error)}`), 'database not reachable');
  }
  try {
    let version: string | null = null;
    try {
      const { rows } = await db.query<{ version: string }>('select version() as version');
      version = rows[0]?.version ?? null;
    } catch (error) {
      return unreachable(
        shownUrl,
        clean(`select version() failed: ${firstLine(error)}`),
        'database not usable',
      );
    }
    const database = { url: shownUrl, reachable: true, version, error: null };
    try {
      // Every column, since backends differ: price ids in a column or only in the env files.
      const { rows } = await db.query<PlanRowFields>(
        'select code, is_active, to_jsonb(b) as fields from billing_plans b order by code',
      );
      const plans = plansAsKept(catalogCodes, rows, config?.billingPlans.priceIdColumn ?? 'auto', {
        priceMap: scope.values.STRIPE_PRODUCT_PRICE_MAP,
        billingEnabled: parseBillingFlag(scope.values.ENABLE_BILLING) !== false,
      });
      const bad = plans.filter((p) => p.status !== 'ok');
      return {
        database,
        billing_plans: {
          ok: bad.length === 0,
          plans,
          error: bad.length ? `not ready: ${bad.map((p) => `${p.code} (${p.status})`).join(', ')}` : null,
        },
      };
    } catch (error) {
      return {
        database,
        billing_plans: notChecked(
          clean(`billing_plans query failed: ${firstLine(error)} (migrations not applied yet?)`),
        ),
      };
    }
  } finally {
    await db.end().catch(() => undefined);
  }
}

/** The line of a command's output that says what went wrong: the last `SomeError: ...` line of a traceback, else the last line. */
export function errorLine(output: string): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('(Background on this error'));
  const error = [...lines].reverse().find((l) => /^[\w.]*(Error|Exception)\b[^:]*:/.test(l));
  return (error ?? lines.at(-1) ?? 'no output').slice(0, 400);
}

/**
 * The revision set from the version table (pg, no Python, as preflight reads it) and the script
 * heads from ONE run of the Alembic inspector (tools/alembic_inspect.py without --sql: it reads
 * the migration scripts and never runs env.py, so the application is not imported). An
 * interpreter that cannot import alembic falls back to `alembic heads`.
 */
export async function alembicChecks(
  deps: StatusDeps,
  projectRoot: string,
  scope: EnvScope,
  config: ReleaseConfig | null,
  clean: (t: string) => string,
): Promise<StatusSummary['alembic']> {
  const result: StatusSummary['alembic'] = {
    current: null,
    current_raw: null,
    heads: [],
    at_head: false,
    error: null,
  };
  if (!config) return { ...result, error: 'not checked: release.config.json is invalid' };
  // The backend's own virtualenv first on PATH, as the worker runs it (src/config/backend-layout.ts).
  const env = backendCommandEnv(await resolveBackendLayout(projectRoot, config, scope.values), scope.values);
  const run = async (command: string[], configKey: 'alembicCommand' | 'pythonCommand') => {
    const out = await deps.run({ command, cwd: projectRoot, env, timeoutMs: 60_000 });
    if (out.notFound)
      throw new Error(
        `\`${command.join(' ')}\`: "${command[0] ?? ''}" not found on PATH; install it or change ${configKey} in release.config.json`,
      );
    return out;
  };
  const failed = (command: string[], out: { exitCode: number; all: string }) =>
    new Error(`\`${command.join(' ')}\` exited with ${out.exitCode}: ${errorLine(clean(out.all))}`);

  // The revision set first, so the inspector can say when the database holds a revision this checkout lacks.
  let current: string[] | null = null;
  let currentError: string | null = null;
  const url = scope.values.DATABASE_URL;
  if (!url)
    currentError = `cannot read ${config.versionTable}: DATABASE_URL is not set in the backend env files`;
  else {
    try {
      const db = await deps.connectDb(url);
      try {
        current = await readRevisionSet(db, config.versionTable);
      } finally {
        await db.end().catch(() => undefined);
      }
    } catch (error) {
      currentError = clean(`cannot read ${config.versionTable}: ${firstLine(error)}`);
    }
  }

  try {
    const inspector = [
      ...config.pythonCommand,
      inspectorScript(),
      '--config',
      alembicConfigFile(config),
      '--current',
      (current ?? []).join(','),
    ];
    const out = await run(inspector, 'pythonCommand');
    const read = parseInspection(out.stdout);
    if (read.ok && out.exitCode === 0) {
      result.heads = read.inspection.heads;
      if (current && read.inspection.unknown_current.length > 0)
        currentError = `the database's ${config.versionTable} holds ${read.inspection.unknown_current.join(', ')}, which this checkout's migrations do not have`;
    } else if (!read.ok && read.error === 'alembic_not_importable') {
      const heads = [...config.alembicCommand, 'heads'];
      const cli = await run(heads, 'alembicCommand');
      if (cli.exitCode !== 0) throw failed(heads, cli);
      result.heads = parseHeads(cli.stdout);
    } else {
      throw failed(inspector, out);
    }
  } catch (error) {
    return { ...result, error: clean((error as Error).message) };
  }
  if (current === null) return { ...result, error: currentError };
  result.current = revisionSetText(current);
  result.current_raw = current.length > 0 ? current.join('\n') : null;
  if (currentError) return { ...result, error: currentError };
  result.at_head = result.heads.length === 1 && sameRevisionSet(current, result.heads);
  if (result.heads.length !== 1)
    result.error = `${result.heads.length} heads (${result.heads.join(', ') || 'none'}): merge them before releasing`;
  else if (!result.at_head)
    result.error = `database at ${result.current ?? 'base'}, head is ${result.heads[0] ?? '?'}: pending migrations`;
  return result;
}

/** The latest-release line before anything about the release is known. */
function noReleaseSeen(workflowId: string) {
  return {
    workflow_id: workflowId,
    run_id: null,
    workflow_type: null,
    execution_status: null,
    status: null,
    started_by: null,
    start_time: null,
    close_time: null,
  };
}

async function latestRelease(client: Client, environment: string): Promise<StatusSummary['latest_release']> {
  const workflowId = releaseWorkflowId(environment);
  const base = noReleaseSeen(workflowId);
  let description;
  try {
    description = await client.workflow.getHandle(workflowId).describe();
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError' || /not found/i.test(firstLine(error))) {
      return { ...base, ok: true, error: null }; // never released: nothing to report against
    }
    return { ...base, ok: false, error: firstLine(error) };
  }
  const view = {
    ...base,
    run_id: description.runId,
    workflow_type: description.type,
    execution_status: description.status.name,
    started_by: (description.memo?.startedBy as string | undefined) || null,
    start_time: description.startTime.toISOString(),
    close_time: description.closeTime?.toISOString() ?? null,
  };
  if (description.type !== RELEASE_WORKFLOW_TYPE) {
    // e.g. a rollback run under the same id: its execution status is what there is to report.
    const ok = description.status.name === 'COMPLETED' || description.status.name === 'RUNNING';
    return {
      ...view,
      ok,
      error: ok ? null : `latest run (${description.type}) ended ${description.status.name}`,
    };
  }
  let summary: ReleaseSummary;
  try {
    summary = await releaseSummary(client, workflowId, description.runId);
  } catch (error) {
    return { ...view, ok: false, error: firstLine(error) };
  }
  const ok = summary.status === 'success' || summary.status === 'running';
  return {
    ...view,
    status: summary.status,
    ok,
    error: ok
      ? null
      : `latest release ended ${summary.status}${summary.error ? `: ${summary.error.message.split('\n')[0] ?? ''}` : ''}`,
  };
}

/** Collects the whole status; never throws for an unreachable dependency. */
export async function statusSummary(
  flags: StatusFlags,
  deps: StatusDeps = REAL_DEPS,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StatusSummary> {
  const { projectRoot, scope } = await requireBackendScope(flags.projectRoot, env);
  const environment = flags.environment ?? scope.values.ENVIRONMENT ?? scope.values.APP_ENV ?? 'local';
  const target = resolveTemporalTarget(flags, env);
  const secrets = secretValuesOf(scope.values);
  const clean = (text: string) => redact(text, secrets);
  let config: ReleaseConfig | null = null;
  let configError: string | null = null;
  try {
    config = await loadReleaseConfig(projectRoot);
  } catch (error) {
    configError = firstLine(error);
  }

  const temporalPart = (async (): Promise<Pick<StatusSummary, 'temporal' | 'worker' | 'latest_release'>> => {
    const temporalView = {
      address: target.address,
      namespace: target.namespace,
      reachable: false,
      error: null as string | null,
    };
    const worker = {
      task_queue: target.taskQueue,
      polling: false,
      pollers: [] as PollerView[],
      error: null as string | null,
    };
    const latest: StatusSummary['latest_release'] = {
      ...noReleaseSeen(releaseWorkflowId(environment)),
      ok: false,
      error: 'not checked: Temporal not reachable',
    };
    let connected;
    try {
      connected = await connectClient(target);
    } catch (error) {
      temporalView.error = firstLine(error);
      worker.error = 'not checked: Temporal not reachable';
      return { temporal: temporalView, worker, latest_release: latest };
    }
    try {
      temporalView.reachable = true;
      const [pollers, release] = await Promise.all([
        workflowPollers(connected.client, target).then(
          (p) => ({ pollers: p, error: null }),
          (error: unknown) => ({ pollers: [] as PollerView[], error: firstLine(error) }),
        ),
        latestRelease(connected.client, environment),
      ]);
      worker.pollers = pollers.pollers;
      worker.polling = pollers.pollers.length > 0;
      worker.error =
        pollers.error ??
        (worker.polling
          ? null
          : `no worker polls task queue ${target.taskQueue}: start \`db-release worker --project-root ${projectRoot}\``);
      return { temporal: temporalView, worker, latest_release: release };
    } finally {
      await connected.connection.close().catch(() => undefined);
    }
  })();

  const [temporalResult, dbResult, alembic] = await Promise.all([
    temporalPart,
    databaseChecks(deps, scope, config, clean),
    alembicChecks(deps, projectRoot, scope, config, clean),
  ]);
  if (configError) dbResult.billing_plans.error = `not checked: ${configError}`;

  const summary: Omit<StatusSummary, 'ok'> = {
    project_root: projectRoot,
    environment,
    ...temporalResult,
    ...dbResult,
    alembic,
  };
  const ok =
    summary.temporal.reachable &&
    summary.worker.polling &&
    summary.database.reachable &&
    summary.alembic.error === null &&
    summary.billing_plans.ok &&
    summary.latest_release.ok;
  return { ok, ...summary };
}

function mark(ok: boolean): string {
  return ok ? 'ok  ' : 'FAIL';
}

/** One screen: a line per check, the reason on failing ones. */
export function describeStatusSummary(s: StatusSummary): string[] {
  const lines = [`db-release status of ${s.project_root} (environment ${s.environment})`];
  lines.push(
    `  ${mark(s.temporal.reachable)} temporal        ${s.temporal.address} namespace ${s.temporal.namespace}${s.temporal.error ? `: ${s.temporal.error}` : ''}`,
  );
  lines.push(
    `  ${mark(s.worker.polling)} worker          task queue ${s.worker.task_queue}: ` +
      (s.worker.polling
        ? `${s.worker.pollers.length} poller(s) (${s.worker.pollers.map((p) => p.identity).join(', ')})`
        : (s.worker.error ?? 'no poller')),
  );
  lines.push(
    `  ${mark(s.database.reachable)} database        ${s.database.url ?? '(no DATABASE_URL)'}: ${s.database.reachable ? (s.database.version ?? 'reachable') : (s.database.error ?? 'not reachable')}`,
  );
  lines.push(
    `  ${mark(s.alembic.error === null)} alembic         current ${s.alembic.current ?? 'base'}, head ${s.alembic.heads.join(', ') || '?'}${s.alembic.error ? `: ${s.alembic.error}` : ''}`,
  );
  lines.push(
    `  ${mark(s.billing_plans.ok)} billing_plans   ${s.billing_plans.plans.map((p) => `${p.code}=${p.status}`).join(', ') || 'no catalog'}${s.billing_plans.error ? `: ${s.billing_plans.error}` : ''}`,
  );
  const r = s.latest_release;
  const release = r.run_id
    ? `${r.workflow_id} run ${r.run_id}: ${r.status ?? r.execution_status ?? '?'}${r.workflow_type && r.workflow_type !== RELEASE_WORKFLOW_TYPE ? ` (${r.workflow_type})` : ''}, started ${r.start_time ?? '?'} by ${r.started_by ?? '?'}`
    : r.error
      ? r.workflow_id
      : `${r.workflow_id}: never released`;
  lines.push(`  ${mark(r.ok)} latest release  ${release}${r.error ? `: ${r.error}` : ''}`);
  lines.push(s.ok ? 'everything reachable and ok' : 'not ready: see the FAIL lines');
  return lines;
}

/** `status summary`: 0 when everything is reachable and ok, 1 otherwise, 2 on bad input. */
export async function statusSummaryCommand(
  flags: StatusFlags,
  io: { stdout: (t: string) => void },
): Promise<number> {
  if (flags.environment !== undefined) environmentName(flags.environment);
  const summary = await statusSummary(flags);
  if (flags.json) io.stdout(JSON.stringify(summary, null, 2));
  else for (const line of describeStatusSummary(summary)) io.stdout(line);
  return summary.ok ? 0 : 1;
}
