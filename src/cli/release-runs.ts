/**
 * Reading a release's runs, for every command that takes `<id-or-environment>`: the workflow id,
 * the run's description (no such release is exit 2), its summary (live from its worker while it
 * runs, from its result once it ended), its latest status, and the rollbacks run under its id.
 */
import {
  WorkflowFailedError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { ErrorType } from '../release/errors';
import { EXIT_CODES } from '../release/summary';
import type { RollbackResult } from '../workflows/rollback-release';
import { finishedView } from './live-view';
import type { ReleaseSummary } from '../release/types';
import {
  releaseWorkflowId,
  ROLLBACK_WORKFLOW_TYPE,
  rollbackStatusQuery,
  statusQuery,
  type ReleaseStatusView,
  type RollbackNote,
  type RollbackStatusView,
} from '../workflows/messages';
import { workerPresence } from './worker-presence';
import type { releaseDb } from '../workflows';
import { CliError } from './errors';

/** Accepts a workflow id or an environment name (whose release id is derived from it). */
export function releaseIdOf(idOrEnvironment: string): string {
  return idOrEnvironment.startsWith('db-release-') ? idOrEnvironment : releaseWorkflowId(idOrEnvironment);
}

export type LatestStatus =
  | { kind: 'release'; view: ReleaseStatusView; running: boolean }
  | { kind: 'rollback'; view: RollbackStatusView; running: boolean };

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
    if (running)
      return {
        kind: 'rollback',
        view: await queryWorker(client, id, description.taskQueue, () => handle.query(rollbackStatusQuery)),
        running,
      };
    // A finished rollback (done, refused or failed): the release is what the operator asks about,
    // shown with the rollback beside it, so nobody has to look up --run-id.
    const releaseRunId = rollbackOfRun(description);
    if (releaseRunId) {
      const note = await rollbackNoteOf(client, id, description.runId);
      const view: ReleaseStatusView = {
        ...finishedView(await summaryOfResult(client.workflow.getHandle<typeof releaseDb>(id, releaseRunId))),
        rollback: note,
      };
      return { kind: 'release', view, running: false };
    }
    const result = (await handle.result().catch((error: Error & { cause?: { message?: string } }) => {
      throw new CliError(
        `the latest run of ${id} is a rollback that was refused or failed: ${error.cause?.message ?? error.message}`,
        EXIT_CODES.failed,
      );
    })) as RollbackResult;
    return {
      kind: 'rollback',
      running,
      view: { ...result, state: result.status },
    };
  }
  if (running)
    return {
      kind: 'release',
      view: await queryWorker(client, id, description.taskQueue, () => handle.query(statusQuery)),
      running,
    };
  return {
    kind: 'release',
    view: finishedView(
      await summaryOfResult(client.workflow.getHandle<typeof releaseDb>(id, description.runId)),
    ),
    running,
  };
}

/**
 * The run of a workflow id (the latest unless `runId` names one). No such release is bad input,
 * exit 2, for every command: the id or environment is wrong, and nothing was sent.
 */
export async function describeRelease(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<WorkflowExecutionDescription> {
  try {
    return await client.workflow.getHandle(workflowId, runId).describe();
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError') {
      throw new CliError(
        `no release ${workflowId}${runId ? ` run ${runId}` : ''}: check the id or environment (db-release release list)`,
        EXIT_CODES.badInput,
      );
    }
    throw error;
  }
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
async function queryWorker<T>(
  client: Client,
  id: string,
  taskQueue: string,
  query: () => Promise<T>,
): Promise<T> {
  try {
    return await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, query);
  } catch (error) {
    if ((error as Error).name === 'QueryNotRegisteredError' || (error as Error).name === 'QueryRejectedError')
      throw error;
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
export async function rollbackNoteOf(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<RollbackNote> {
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
    const state =
      cause?.type === ErrorType.RollbackRefused
        ? 'refused'
        : cause?.type === ErrorType.Rejected
          ? 'rejected'
          : description.status.name.toLowerCase();
    return { runId, state, detail: cause?.message ?? (error as Error).message };
  }
}

/** The summary of a release, running or finished, also one that ended while no CLI was watching. */
export async function releaseSummary(
  client: Client,
  idOrEnvironment: string,
  runId?: string,
): Promise<ReleaseSummary> {
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

/** The summary from a finished release: its result, or the details of its failure. */
export async function summaryOfResult(handle: WorkflowHandle<typeof releaseDb>): Promise<ReleaseSummary> {
  try {
    return await handle.result();
  } catch (error) {
    const summary = summaryFromFailure(error);
    if (summary) return summary;
    if (error instanceof WorkflowFailedError || (error as Error).name === 'WorkflowFailedError') {
      // Terminated or timed out from outside the workflow: no summary was written.
      const cause = (error as WorkflowFailedError).cause;
      throw new CliError(
        `release ${handle.workflowId} ended without a summary (${cause?.message ?? (error as Error).message}); its history in the Web UI shows why`,
        EXIT_CODES.failed,
      );
    }
    throw error;
  }
}

export function summaryFromFailure(error: unknown): ReleaseSummary | null {
  if (!(error instanceof WorkflowFailedError) && (error as Error)?.name !== 'WorkflowFailedError')
    return null;
  const cause = (error as WorkflowFailedError).cause as { details?: unknown[] } | undefined;
  const details = cause?.details?.[0];
  return details && typeof details === 'object' && 'steps' in details ? (details as ReleaseSummary) : null;
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
