/**
 * Is a worker there to act on what the CLI is about to send? A decision, a start or a rollback
 * sent while no worker polls the task queue is not refused by Temporal: it waits, and takes
 * effect whenever a worker comes back, long after the caller gave up. So commands ask first, and
 * answer within `timeoutMs` (2 s) when nobody polls.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { EXIT_CODES } from '../release/summary';
import { CliError } from './errors';

/** A poller not seen for this long is gone (a live worker re-polls at least every ~70 s). */
export const POLLER_FRESH_MS = 2 * 60_000;

export interface WorkerPresence {
  taskQueue: string;
  /** Identities of the workers that polled recently. */
  pollers: string[];
}

/** The workers polling `taskQueue` for workflow tasks recently, answered within `timeoutMs`. */
export async function workerPresence(
  client: Client,
  taskQueue: string,
  options: { timeoutMs?: number; now?: Date } = {},
): Promise<WorkerPresence> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const now = (options.now ?? new Date()).getTime();
  const response = await client.withDeadline(Date.now() + timeoutMs, () =>
    client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    }),
  );
  const pollers = (response.pollers ?? []).filter((p) => {
    const seconds = p.lastAccessTime?.seconds;
    if (seconds === undefined || seconds === null) return true;
    return now - Number(seconds) * 1000 <= POLLER_FRESH_MS;
  });
  return { taskQueue, pollers: pollers.map((p) => p.identity ?? 'unknown') };
}

/**
 * Fails at once (exit 1 unless told otherwise, nothing sent) when no worker polls the task queue, saying how to start
 * one; `what` names what would have been sent ("the approval", "the rollback").
 */
export async function requireWorker(
  client: Client,
  taskQueue: string,
  what: string,
  options: { timeoutMs?: number; exitCode?: number } = {},
): Promise<WorkerPresence> {
  const exitCode = options.exitCode ?? EXIT_CODES.failed;
  let presence: WorkerPresence;
  try {
    presence = await workerPresence(client, taskQueue, options);
  } catch (error) {
    throw new CliError(
      `could not tell whether a worker polls task queue ${taskQueue} (${(error as Error).message.split('\n')[0]}); ${what} was not sent`,
      exitCode,
    );
  }
  if (presence.pollers.length === 0) {
    throw new CliError(
      `no worker polls task queue ${taskQueue}, so ${what} would wait and take effect whenever one comes back; nothing was sent. ` +
        `Start the worker on the machine that holds the backend checkout (db-release worker --project-root DIR --task-queue ${taskQueue}) and try again`,
      exitCode,
    );
  }
  return presence;
}
