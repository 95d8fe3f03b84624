import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import path from 'node:path';
import { loadReleaseConfig } from '../config/release-config';
import { EXIT_CODES } from '../release/summary';
import type { rollbackRelease, RollbackResult } from '../workflows/rollback-release';
import { finishedView } from './live-view';
import type { ReleaseSummary } from '../release/types';
import { decideUpdate, releaseWorkflowId, RELEASE_WORKFLOW_TYPE, ROLLBACK_WORKFLOW_TYPE, rollbackStatusQuery, statusQuery, type ReleaseStatusView, type RollbackStatusView } from '../workflows/messages';
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
  const description = await handle.describe().catch((error: Error) => {
    if (/not found/i.test(error.message)) throw new CliError(`no release ${id}: check the id or environment (db-release release list)`, EXIT_CODES.failed);
    throw error;
  });
  const running = description.status.name === 'RUNNING';
  if (description.type === ROLLBACK_WORKFLOW_TYPE) {
    if (running) return { kind: 'rollback', view: await handle.query(rollbackStatusQuery), running };
    const result = (await handle.result().catch((error: Error & { cause?: { message?: string } }) => {
      throw new CliError(`the latest run of ${id} is a rollback that was refused or failed: ${error.cause?.message ?? error.message}`, EXIT_CODES.failed);
    })) as RollbackResult;
    return {
      kind: 'rollback',
      running,
      view: { ...result, state: result.status },
    };
  }
  if (running) return { kind: 'release', view: await handle.query(statusQuery), running };
  return { kind: 'release', view: finishedView(await summaryOfResult(client.workflow.getHandle<typeof releaseDb>(id, description.runId))), running };
}

export async function decide(
  client: Client,
  idOrEnvironment: string,
  decision: 'approve' | 'reject',
  approver: string,
  comment: string | undefined,
) {
  const handle = client.workflow.getHandle(releaseIdOf(idOrEnvironment));
  try {
    return await handle.executeUpdate(decideUpdate, { args: [{ decision, approver, comment: comment ?? null }] });
  } catch (error) {
    const e = error as Error & { cause?: Error };
    throw new CliError(`${decision} refused: ${e.cause?.message ?? e.message}`, 1);
  }
}

export async function cancelRelease(client: Client, idOrEnvironment: string): Promise<void> {
  await client.workflow.getHandle(releaseIdOf(idOrEnvironment)).cancel();
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
  const query = releaseListQuery(filter, indexed);
  const rows: ReleaseListRow[] = [];
  const executions: AsyncIterable<WorkflowExecutionInfo> = client.workflow.list({ query, pageSize: Math.min(limit, 100) });
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
    if (rows.length >= limit) break;
  }
  return { rows, query, indexed };
}

/** The summary of a release, running or finished, also one that ended while no CLI was watching. */
export async function releaseSummary(client: Client, idOrEnvironment: string, runId?: string): Promise<ReleaseSummary> {
  const handle = client.workflow.getHandle<typeof releaseDb>(releaseIdOf(idOrEnvironment), runId);
  const description = await handle.describe();
  if (description.status.name === 'RUNNING') return (await handle.query(statusQuery)).summary;
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
export async function rollbackCommand(client: Client, idOrEnvironment: string, flags: RollbackFlags, taskQueue: string): Promise<RollbackResult> {
  const workflowId = releaseIdOf(idOrEnvironment);
  const handle = client.workflow.getHandle(workflowId, flags.runId);
  const description = await handle.describe().catch(() => null);
  if (!description) throw new CliError(`no release ${workflowId}: check the id or environment`, EXIT_CODES.badInput);
  if (description.type !== RELEASE_WORKFLOW_TYPE) {
    throw new CliError(`the latest run of ${workflowId} is a ${description.type}, not a release; pass --run-id of the release to roll back`);
  }
  if (description.status.name === 'RUNNING') {
    throw new CliError(`release ${workflowId} is still running: cancel it instead (db-release release cancel ${workflowId})`, EXIT_CODES.alreadyRunning);
  }
  const release = await releaseSummary(client, workflowId, description.runId);
  const config = await loadReleaseConfig(path.resolve(flags.projectRoot ?? process.env.DB_RELEASE_PROJECT_ROOT ?? '.')).catch(() => null);
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
  const requestedBy = flags.operator ?? process.env.DB_RELEASE_OPERATOR ?? process.env.USER ?? 'operator';
  try {
    return await client.workflow.execute<typeof rollbackRelease>(ROLLBACK_WORKFLOW_TYPE, {
      taskQueue,
      workflowId,
      args: [{ release, requestedBy, window }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      memo: { environment: release.environment ?? '', startedBy: flags.operator ?? '', rollbackOf: release.run_id },
      typedSearchAttributes: await startAttributes(client, { environment: release.environment ?? '', startedBy: requestedBy }),
      staticSummary: `rollback of release ${release.run_id}`,
    });
  } catch (error) {
    if ((error as Error).name === 'WorkflowExecutionAlreadyStartedError') {
      throw new CliError(`a release or rollback of ${workflowId} is running; wait for it`, EXIT_CODES.alreadyRunning);
    }
    const cause = (error as { cause?: { type?: string; message?: string } }).cause;
    if (cause?.type === 'RollbackRefused') throw new CliError(`rollback refused: ${cause.message ?? ''}`, EXIT_CODES.failed);
    throw error;
  }
}
