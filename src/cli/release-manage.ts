import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import path from 'node:path';
import { approvalPolicyFor } from '../config/release-config';
import { readBackendConfig } from './backend-input';
import { EXIT_CODES } from '../release/summary';
import type { rollbackRelease, RollbackResult } from '../workflows/rollback-release';
import { finishedView, pause } from './live-view';
import type { ApprovalDecision, ApprovalPolicy, ReleaseSummary } from '../release/types';
import {
  decideUpdate,
  gateQuery,
  releaseWorkflowId,
  RELEASE_WORKFLOW_TYPE,
  ROLLBACK_WORKFLOW_TYPE,
  rollbackStatusQuery,
  statusQuery,
  type GateView,
  type ReleaseStatusView,
  type RollbackNote,
  type RollbackStatusView,
} from '../workflows/messages';
import { gateLines } from './status-lines';
import { requireWorker, workerPresence } from './worker-presence';
import { identityFlag } from './identity-flag';
import { summaryOfResult } from './release-db';
import type { releaseDb } from '../workflows';
import { CliError } from './errors';
import { releaseAttributesRegistered, releaseListQuery, startAttributes, type ListFilter } from './search-attributes';
import {
  releaseEnvironmentAttribute,
  releaseGitShaAttribute,
  releaseStartedByAttribute,
  releaseStatusAttribute,
} from '../workflows/search-attributes';

/** Accepts a workflow id or an environment name (whose release id is derived from it). */
export function releaseIdOf(idOrEnvironment: string): string {
  return idOrEnvironment.startsWith('db-release-') ? idOrEnvironment : releaseWorkflowId(idOrEnvironment);
}

export type LatestStatus = { kind: 'release'; view: ReleaseStatusView; running: boolean } | { kind: 'rollback'; view: RollbackStatusView; running: boolean };

/**
 * The status of the environment's latest run: a release (live from the `status` query, or from
 * its summary once it has ended, so no worker is needed) or a rollback.
 */
export async function latestStatus(client: Client, idOrEnvironment: string): Promise<LatestStatus> {
  const id = releaseIdOf(idOrEnvironment);
  const handle = client.workflow.getHandle(id);
  const description = await describeRelease(client, id);
  const running = description.status.name === 'RUNNING';
  // A running workflow's state is read from its worker: with none polling, the query would hang.
  if (running) await requireWorkerToRead(client, description.taskQueue, id);
  if (description.type === ROLLBACK_WORKFLOW_TYPE) {
    if (running) return { kind: 'rollback', view: await queryWorker(client, id, description.taskQueue, () => handle.query(rollbackStatusQuery)), running };
    // A finished rollback (done, refused or failed): the release is what the operator asks about,
    // shown with the rollback beside it, so nobody has to look up --run-id.
    const releaseRunId = rollbackOfRun(description);
    if (releaseRunId) {
      const note = await rollbackNoteOf(client, id, description.runId);
      const view: ReleaseStatusView = { ...finishedView(await summaryOfResult(client.workflow.getHandle<typeof releaseDb>(id, releaseRunId))), rollback: note };
      return { kind: 'release', view, running: false };
    }
    const result = (await handle.result().catch((error: Error & { cause?: { message?: string } }) => {
      throw new CliError(`the latest run of ${id} is a rollback that was refused or failed: ${error.cause?.message ?? error.message}`, EXIT_CODES.failed);
    })) as RollbackResult;
    return {
      kind: 'rollback',
      running,
      view: { ...result, state: result.status },
    };
  }
  if (running) return { kind: 'release', view: await queryWorker(client, id, description.taskQueue, () => handle.query(statusQuery)), running };
  return { kind: 'release', view: finishedView(await summaryOfResult(client.workflow.getHandle<typeof releaseDb>(id, description.runId))), running };
}

/**
 * The run of a workflow id (the latest unless `runId` names one). No such release is bad input,
 * exit 2, for every command: the id or environment is wrong, and nothing was sent.
 */
export async function describeRelease(client: Client, workflowId: string, runId?: string): Promise<WorkflowExecutionDescription> {
  try {
    return await client.workflow.getHandle(workflowId, runId).describe();
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError') {
      throw new CliError(`no release ${workflowId}${runId ? ` run ${runId}` : ''}: check the id or environment (db-release release list)`, EXIT_CODES.badInput);
    }
    throw error;
  }
}

/** `--run-id`: the UUID Temporal gave the run; anything else is refused by the server with a stack. */
export function runIdFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const runId = value.trim();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(runId)) {
    throw new CliError(`--run-id "${value}": a run id is a UUID such as 0193d1c2-7b1e-7c3a-9d55-2b5f0e4c8a10 (db-release release list shows them)`);
  }
  return runId;
}

/** How long a worker may take to answer a query before the CLI says so instead of hanging. */
export const QUERY_TIMEOUT_MS = 10_000;

async function requireWorkerToRead(client: Client, taskQueue: string, id: string): Promise<void> {
  const presence = await workerPresence(client, taskQueue).catch(() => null);
  if (presence && presence.pollers.length === 0) {
    throw new CliError(
      `${id} is running, but no worker polls its task queue ${taskQueue}, so its current state cannot be read (the release waits until a worker comes back). ` +
        `Start the worker on the machine that holds the backend checkout (db-release worker --project-root DIR --task-queue ${taskQueue}), then try again`,
      EXIT_CODES.badInput,
    );
  }
}

/** A query to the worker, bounded: a worker that stopped answering is named, not waited for. */
async function queryWorker<T>(client: Client, id: string, taskQueue: string, query: () => Promise<T>): Promise<T> {
  try {
    return await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, query);
  } catch (error) {
    if ((error as Error).name === 'QueryNotRegisteredError' || (error as Error).name === 'QueryRejectedError') throw error;
    throw new CliError(
      `the worker on task queue ${taskQueue} did not answer for ${id} within ${QUERY_TIMEOUT_MS / 1000} s (${(error as Error).message.split('\n')[0]}); ` +
        'check it is running and not overloaded (db-release status summary), then try again',
      EXIT_CODES.badInput,
    );
  }
}

/** The release run a rollback run undoes, from the memo `release rollback` starts it with. */
export function rollbackOfRun(description: { type: string; memo?: Record<string, unknown> }): string | null {
  if (description.type !== ROLLBACK_WORKFLOW_TYPE) return null;
  const runId = description.memo?.rollbackOf;
  return typeof runId === 'string' && runId ? runId : null;
}

/** How a rollback run ended (or that it runs), read from its result or failure: no worker needed. */
export async function rollbackNoteOf(client: Client, workflowId: string, runId: string): Promise<RollbackNote> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const description = await handle.describe();
  if (description.status.name === 'RUNNING') return { runId, state: 'running', detail: null };
  try {
    const result = (await handle.result()) as RollbackResult;
    const failed = result.compensations.filter((c) => c.status === 'failed').map((c) => c.name);
    return {
      runId,
      state: result.status,
      detail: `requested by ${result.requested_by}, finished ${result.finished_at}${failed.length > 0 ? `; not undone: ${failed.join(', ')}` : ''}`,
    };
  } catch (error) {
    const cause = (error as { cause?: { type?: string | null; message?: string } }).cause;
    const state = cause?.type === 'RollbackRefused' ? 'refused' : cause?.type === 'Rejected' ? 'rejected' : description.status.name.toLowerCase();
    return { runId, state, detail: cause?.message ?? (error as Error).message };
  }
}

/** How long a decision sent by the CLI stays valid: one that reaches the release later is refused. */
export const DECISION_TTL_SECONDS = 60;

export interface DecideOptions {
  /** The plan digest the approver pins (`--digest`); default the digest of the plan shown. */
  digest?: string;
  ttlSeconds?: number;
  /** Where the plan and its digest are shown before the decision is sent. */
  show?: (line: string) => void;
  /** How long to wait for a worker's answer about its presence. */
  presenceTimeoutMs?: number;
  /** `--override-promotion`: the approval acknowledges the plan's promotion override. */
  overridePromotion?: boolean;
}

/** The gate of a running workflow (release, stripe setup or rollback), read through its worker. */
export async function gateOf(client: Client, workflowId: string): Promise<{ gate: GateView; taskQueue: string }> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await describeRelease(client, workflowId);
  if (description.status.name !== 'RUNNING') {
    throw new CliError(`${workflowId} is not running (${description.status.name}): there is nothing to decide`, EXIT_CODES.failed);
  }
  return { gate: await handle.query(gateQuery), taskQueue: description.taskQueue };
}

/**
 * `release approve` / `release reject`: checks a worker polls the workflow's task queue (else says
 * so at once and sends nothing), shows the plan and its digest, and sends the decision for that
 * digest with an expiry, so a decision that cannot be delivered now is never applied later.
 */
export async function decide(
  client: Client,
  idOrEnvironment: string,
  decision: 'approve' | 'reject',
  approver: string,
  comment: string | undefined,
  options: DecideOptions = {},
): Promise<ApprovalDecision> {
  const name = identityFlag('--approver', approver);
  const pinned = options.digest?.trim().toLowerCase();
  if (pinned !== undefined && !/^[0-9a-f]{16}$/.test(pinned)) {
    throw new CliError(`--digest "${options.digest ?? ''}": the 16 hex digits of the plan digest shown by db-release release status`);
  }
  if (comment !== undefined && comment.length > 2000) throw new CliError('--comment/--reason: at most 2000 characters');
  const ttl = options.ttlSeconds ?? DECISION_TTL_SECONDS;
  const id = releaseIdOf(idOrEnvironment);
  const handle = client.workflow.getHandle(id);
  const description = await describeRelease(client, id);
  if (description.status.name !== 'RUNNING') {
    throw new CliError(`${id} is not running (${description.status.name}): there is nothing to ${decision}`, EXIT_CODES.failed);
  }
  const what = decision === 'approve' ? 'the approval' : 'the rejection';
  await requireWorker(client, description.taskQueue, what, { timeoutMs: options.presenceTimeoutMs });
  const gate = await client.withDeadline(Date.now() + 10_000, () => handle.query(gateQuery)).catch((error: Error) => {
    throw new CliError(`could not read the gate of ${id} (${error.message.split('\n')[0]}); nothing was sent`, EXIT_CODES.failed);
  });
  if (gate.decision) {
    throw new CliError(`${decision} refused: already ${gate.decision.decision} by ${gate.decision.approver} at ${gate.decision.at}`, EXIT_CODES.failed);
  }
  if (!gate.open || !gate.planDigest) {
    throw new CliError(
      `${decision} refused: ${id} has no plan to decide on yet (it is still checking); try again when db-release release status shows it waiting for approval`,
      EXIT_CODES.failed,
    );
  }
  if (gate.policy && !gate.policy.required) throw new CliError(`${decision} refused: ${id} does not require approval`, EXIT_CODES.failed);
  for (const line of gateLines(gate, id)) options.show?.(line);
  if (pinned !== undefined && pinned !== gate.planDigest) {
    throw new CliError(
      `${decision} refused: you pinned plan ${pinned}, but ${id} now waits for a decision on plan ${gate.planDigest}; review the plan above and decide again`,
      EXIT_CODES.failed,
    );
  }
  const expiresAt = new Date(Date.now() + ttl * 1000);
  try {
    return await client.withDeadline(expiresAt, () =>
      handle.executeUpdate(decideUpdate, {
        args: [
          {
            decision,
            approver: name,
            comment: comment ?? null,
            digest: pinned ?? gate.planDigest,
            expiresAt: expiresAt.toISOString(),
            ...(options.overridePromotion ? { overridePromotion: true } : {}),
          },
        ],
      }),
    );
  } catch (error) {
    if (Date.now() >= expiresAt.getTime() - 50) {
      throw new CliError(
        `${what} was not taken within ${ttl} s (no worker answered); it expired at ${expiresAt.toISOString()}, so if it reaches ${id} later it is refused, not applied. ` +
          'Check the worker (db-release status summary) and decide again',
        EXIT_CODES.failed,
      );
    }
    const e = error as Error & { cause?: Error };
    throw new CliError(`${decision} refused: ${e.cause?.message ?? e.message}`, EXIT_CODES.failed);
  }
}

export interface CancelRequested {
  workflowId: string;
  runId: string;
  /** The workflow type cancelled: a release, a stripe setup or a rollback. */
  type: string;
  /** False when no worker polls the task queue: the cancel is recorded and runs when one comes back. */
  workerPolling: boolean;
  taskQueue: string;
}

/**
 * `release cancel`: cancels the running run. A release that already ended has nothing to cancel
 * (exit 1, with how it ended); none at all is bad input (exit 2). A cancel is sent even with no
 * worker polling, since it must hold whenever the worker comes back, but the caller says so.
 */
export async function cancelRelease(client: Client, idOrEnvironment: string): Promise<CancelRequested> {
  const workflowId = releaseIdOf(idOrEnvironment);
  const description = await describeRelease(client, workflowId);
  if (description.status.name !== 'RUNNING') {
    const status = await endedReleaseStatus(client, description);
    const ended = description.closeTime ? ` at ${description.closeTime.toISOString()}` : '';
    throw new CliError(
      `${workflowId} already ended (${description.status.name}${status ? `, release ${status}` : ''}${ended}): there is nothing to cancel and nothing was changed` +
        (description.type === RELEASE_WORKFLOW_TYPE && status === 'success' ? `; to undo it: db-release release rollback ${workflowId}` : ''),
      EXIT_CODES.failed,
    );
  }
  const presence = await workerPresence(client, description.taskQueue).catch(() => null);
  await client.workflow.getHandle(workflowId, description.runId).cancel();
  return { workflowId, runId: description.runId, type: description.type, workerPolling: presence?.pollers.length !== 0, taskQueue: description.taskQueue };
}

/** How a release that ended ended, from its index or its summary; null when neither says. */
async function endedReleaseStatus(client: Client, description: WorkflowExecutionDescription): Promise<string | null> {
  const indexed = description.typedSearchAttributes.get(releaseStatusAttribute);
  if (indexed) return indexed;
  if (description.type !== RELEASE_WORKFLOW_TYPE) return null;
  return summaryOfResult(client.workflow.getHandle<typeof releaseDb>(description.workflowId, description.runId)).then(
    (summary) => summary.status,
    () => null,
  );
}

export interface ReleaseListRow {
  workflowId: string;
  runId: string;
  environment: string | null;
  /** The release's own status when indexed (awaiting_approval, rolled_back...), else Temporal's. */
  status: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED... */
  executionStatus: string;
  gitSha: string | null;
  startedBy: string | null;
  startTime: string;
  closeTime: string | null;
  /** A later rollback of this release run, when there is one: its run and outcome. */
  rollback?: RollbackNote | null;
}

export interface ReleaseList {
  rows: ReleaseListRow[];
  /** The query sent to Temporal visibility, for the operator to reuse in the Web UI. */
  query: string;
  /** Whether the DbRelease* search attributes are registered on this namespace. */
  indexed: boolean;
}

export async function listReleases(client: Client, filter: ListFilter = {}, limit = 20): Promise<ReleaseList> {
  const indexed = await releaseAttributesRegistered(client);
  // A release undone by a later rollback is still indexed `success` (a closed run's attributes
  // cannot change): asking for rolled_back / rollback_failed also reads successful releases and
  // keeps those whose rollback says so.
  const undone = filter.status === 'rolled_back' || filter.status === 'rollback_failed' ? filter.status : null;
  const query = undone && indexed
    ? `${releaseListQuery({ ...filter, status: undefined }, indexed)} AND DbReleaseStatus IN ('${undone}', 'success')`
    : releaseListQuery(filter, indexed);
  const fetchLimit = undone ? Math.min(limit * 5, 500) : limit;
  const rows: ReleaseListRow[] = [];
  const executions: AsyncIterable<WorkflowExecutionInfo> = client.workflow.list({ query, pageSize: Math.min(fetchLimit, 100) });
  for await (const info of executions) {
    const attributes = info.typedSearchAttributes;
    rows.push({
      workflowId: info.workflowId,
      runId: info.runId,
      environment: attributes.get(releaseEnvironmentAttribute) ?? (info.memo?.environment as string | undefined) ?? null,
      status: attributes.get(releaseStatusAttribute) ?? info.status.name,
      executionStatus: info.status.name,
      gitSha: attributes.get(releaseGitShaAttribute) ?? ((info.memo?.gitSha as string | undefined) || null),
      startedBy: attributes.get(releaseStartedByAttribute) ?? (info.memo?.startedBy as string | undefined) ?? null,
      startTime: info.startTime.toISOString(),
      closeTime: info.closeTime?.toISOString() ?? null,
    });
    if (rows.length >= fetchLimit) break;
  }
  await noteRollbacks(client, rows);
  return { rows: undone ? rows.filter((r) => r.status === undone).slice(0, limit) : rows, query, indexed };
}

/**
 * A rollback runs under the release's workflow id but cannot change the finished release's search
 * attributes, so the list reads the rollbacks' outcomes: a release undone by a later rollback
 * lists as `rolled_back` (or `rollback_failed`), with the rollback's run beside it.
 */
async function noteRollbacks(client: Client, rows: ReleaseListRow[]): Promise<void> {
  const ids = [...new Set(rows.map((r) => r.workflowId))].filter((id) => /^[A-Za-z0-9_.:-]+$/.test(id));
  if (ids.length === 0) return;
  const query = `WorkflowType = '${ROLLBACK_WORKFLOW_TYPE}' AND (${ids.map((id) => `WorkflowId = '${id}'`).join(' OR ')})`;
  // Newest first: the first rollback seen for a release run is its latest.
  const latest = new Map<string, WorkflowExecutionInfo>();
  try {
    for await (const info of client.workflow.list({ query, pageSize: 100 })) {
      const of = info.memo?.rollbackOf;
      if (typeof of === 'string' && !latest.has(of)) latest.set(of, info);
      if (latest.size >= 100) break;
    }
  } catch {
    return; // the list still shows the releases; only the rollback column is missing
  }
  for (const row of rows) {
    const info = latest.get(row.runId);
    if (!info) continue;
    const note = await rollbackNoteOf(client, info.workflowId, info.runId).catch(() => null);
    if (!note) continue;
    row.rollback = note;
    if (note.state === 'rolled_back' || note.state === 'rollback_failed') row.status = note.state;
  }
}

/** The summary of a release, running or finished, also one that ended while no CLI was watching. */
export async function releaseSummary(client: Client, idOrEnvironment: string, runId?: string): Promise<ReleaseSummary> {
  const id = releaseIdOf(idOrEnvironment);
  const handle = client.workflow.getHandle<typeof releaseDb>(id, runId);
  const description = await describeRelease(client, id, runId);
  if (description.status.name === 'RUNNING') {
    // Read from the worker: said at once when none polls, bounded when it does not answer.
    await requireWorkerToRead(client, description.taskQueue, id);
    return (await queryWorker(client, id, description.taskQueue, () => handle.query(statusQuery))).summary;
  }
  return summaryOfResult(handle);
}

export interface RollbackFlags {
  projectRoot?: string;
  runId?: string;
  window?: string;
  operator?: string;
}

/**
 * `release rollback`: starts the rollbackRelease workflow for a completed release, under the
 * environment's workflow id so it cannot overlap a release of the same environment.
 */
export async function rollbackCommand(
  client: Client,
  idOrEnvironment: string,
  flags: RollbackFlags,
  taskQueue: string,
  show: (line: string) => void = () => undefined,
): Promise<RollbackResult> {
  const workflowId = releaseIdOf(idOrEnvironment);
  let description = await describeRelease(client, workflowId, runIdFlag(flags.runId));
  const undone = flags.runId ? null : rollbackOfRun(description);
  if (undone && description.status.name === 'RUNNING') {
    throw new CliError(`a rollback of ${workflowId} is running (run ${description.runId}); wait for it (db-release release watch ${workflowId})`, EXIT_CODES.alreadyRunning);
  }
  if (undone) {
    // The latest run is an earlier rollback: one that did its work leaves nothing to undo; one that
    // was refused or rejected leaves the release as it was, so this one targets that release.
    const note = await rollbackNoteOf(client, workflowId, description.runId);
    if (note.state === 'rolled_back' || note.state === 'rollback_failed') {
      throw new CliError(
        `release run ${undone} of ${workflowId} was already rolled back by run ${description.runId} (${note.state}${note.detail ? `, ${note.detail}` : ''})` +
          (note.state === 'rollback_failed' ? '; finish it by hand as that rollback says (db-release release status)' : '; there is nothing left to undo'),
        EXIT_CODES.badInput,
      );
    }
    show(`the latest run of ${workflowId} is rollback run ${description.runId} (${note.state}); rolling back release run ${undone} again`);
    description = await client.workflow.getHandle(workflowId, undone).describe();
  }
  if (description.type !== RELEASE_WORKFLOW_TYPE) {
    throw new CliError(`the latest run of ${workflowId} is a ${description.type}, not a release; pass --run-id of the release to roll back`);
  }
  if (description.status.name === 'RUNNING') {
    throw new CliError(`release ${workflowId} is still running: cancel it instead (db-release release cancel ${workflowId})`, EXIT_CODES.alreadyRunning);
  }
  const release = await releaseSummary(client, workflowId, description.runId);
  // A config that is there but broken is bad input, not a reason to fall back to the defaults.
  const config = await readBackendConfig(path.resolve(flags.projectRoot ?? process.env.DB_RELEASE_PROJECT_ROOT ?? '.'));
  const window = flags.window ?? config?.rollbackWindow ?? '24 hours';
  if (!/^\d+(\.\d+)?\s*(ms|s|seconds?|m|minutes?|h|hours?|d|days?)$/i.test(window)) {
    throw new CliError(`--window "${window}": use a duration such as "24 hours" or "30 minutes"`);
  }
  // Checked here too, so a late request starts nothing; the workflow checks again with its own clock.
  if (release.status === 'success' && release.finished_at && Date.now() - Date.parse(release.finished_at) > msToNumber(window as Duration)) {
    throw new CliError(
      `rollback refused: release ${release.run_id} finished ${release.finished_at}, outside the rollback window of ${window}; roll back by hand`,
      EXIT_CODES.failed,
    );
  }
  const requestedBy = identityFlag('--operator', flags.operator ?? process.env.DB_RELEASE_OPERATOR ?? process.env.USER ?? 'operator');
  const environment = release.environment ?? '';
  // A schema downgrade is a production change: the environment's policy gates it like a release.
  const approval: ApprovalPolicy = config
    ? approvalPolicyFor(config, environment)
    : { required: environment === 'production', approvers: [], fourEyes: true, timeout: '24 hours' };
  await requireWorker(client, taskQueue, 'the rollback', { exitCode: EXIT_CODES.badInput });
  let run;
  try {
    run = await client.workflow.start<typeof rollbackRelease>(ROLLBACK_WORKFLOW_TYPE, {
      taskQueue,
      workflowId,
      args: [{ release, requestedBy, window, approval }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      memo: { environment, startedBy: requestedBy, rollbackOf: release.run_id },
      typedSearchAttributes: await startAttributes(client, { environment, startedBy: requestedBy }),
      staticSummary: `rollback of release ${release.run_id}`,
    });
  } catch (error) {
    if ((error as Error).name === 'WorkflowExecutionAlreadyStartedError') {
      throw new CliError(`a release or rollback of ${workflowId} is running; wait for it`, EXIT_CODES.alreadyRunning);
    }
    throw error;
  }
  if (approval.required) {
    const gate = await openGate(client, workflowId, run.result().then(() => undefined, () => undefined));
    if (gate?.planDigest) {
      for (const line of gateLines(gate, workflowId)) show(line);
    }
  }
  try {
    return await run.result();
  } catch (error) {
    const cause = (error as { cause?: { type?: string; message?: string } }).cause;
    if (cause?.type === 'RollbackRefused') throw new CliError(`rollback refused: ${cause.message ?? ''}`, EXIT_CODES.failed);
    if (cause?.type === 'Rejected') throw new CliError(`rollback not run: ${cause.message ?? ''}`, EXIT_CODES.failed);
    throw error;
  }
}

/**
 * Waits (bounded, about a minute) until a gated workflow has computed its plan and opened its
 * gate; null when it ended first or did not open in time.
 */
export async function openGate(client: Client, workflowId: string, ended: Promise<void>, timeoutMs = 60_000): Promise<GateView | null> {
  const handle = client.workflow.getHandle(workflowId);
  let done = false;
  void ended.then(() => (done = true));
  const stop = new AbortController();
  const deadline = Date.now() + timeoutMs;
  while (!done && Date.now() < deadline) {
    const gate = await handle.query(gateQuery).catch(() => null);
    if (gate?.open) return gate;
    await pause(200, stop.signal);
  }
  return null;
}
