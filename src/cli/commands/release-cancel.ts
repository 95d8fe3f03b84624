/**
 * `db-release release cancel <id-or-environment>`: cancels the running release (or stripe setup,
 * or rollback); its compensations run before it ends.
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { Command } from 'commander';
import { EXIT_CODES } from '../../release/summary';
import { RELEASE_WORKFLOW_TYPE, ROLLBACK_WORKFLOW_TYPE } from '../../workflows/messages';
import { releaseStatusAttribute } from '../../workflows/search-attributes';
import type { releaseDb } from '../../workflows';
import type { TemporalFlags } from '../connection';
import { CliError } from '../errors';
import { action, err, temporalOptions, withClient } from '../program';
import { describeRelease, releaseIdOf, summaryOfResult } from '../release-runs';
import { workerPresence } from '../worker-presence';

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
        (description.type === RELEASE_WORKFLOW_TYPE && status === 'success'
          ? `; to undo it: db-release release rollback ${workflowId}`
          : ''),
      EXIT_CODES.failed,
    );
  }
  const presence = await workerPresence(client, description.taskQueue).catch(() => null);
  await client.workflow.getHandle(workflowId, description.runId).cancel();
  return {
    workflowId,
    runId: description.runId,
    type: description.type,
    workerPolling: presence?.pollers.length !== 0,
    taskQueue: description.taskQueue,
  };
}

/** How a release that ended ended, from its index or its summary; null when neither says. */
async function endedReleaseStatus(
  client: Client,
  description: WorkflowExecutionDescription,
): Promise<string | null> {
  const indexed = description.typedSearchAttributes.get(releaseStatusAttribute);
  if (indexed) return indexed;
  if (description.type !== RELEASE_WORKFLOW_TYPE) return null;
  return summaryOfResult(
    client.workflow.getHandle<typeof releaseDb>(description.workflowId, description.runId),
  ).then(
    (summary) => summary.status,
    () => null,
  );
}

/** 0 cancellation requested (also when no worker polls: said so); 1 it already ended; 2 no such release. */
export async function releaseCancelCommand(id: string, flags: TemporalFlags): Promise<number> {
  return withClient(flags, async (client) => {
    const cancel = await cancelRelease(client, id);
    const what =
      cancel.type === ROLLBACK_WORKFLOW_TYPE
        ? 'rollback'
        : cancel.type === RELEASE_WORKFLOW_TYPE
          ? 'release'
          : 'run';
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
  });
}

export function register(release: Command): Command {
  return temporalOptions(
    release
      .command('cancel <id-or-environment>')
      .description('cancel a running release; its compensations run'),
  ).action(action(releaseCancelCommand));
}
