/**
 * Shared plumbing for the workflow tests: a worker per test on its own task queue, a typed
 * `start`, and helpers that unwrap the ReleaseFailed failure and poll the status query.
 */
import {
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { setTimeout as delay } from 'node:timers/promises';
import type { ReleaseActivities } from '../../src/activities';
import type {
  ReleaseInput,
  ReleaseOptions,
  ReleaseSummary,
  StepName,
  StepRecord,
} from '../../src/release/types';
import type { releaseDb } from '../../src/workflows';
import { statusQuery, type ReleaseStatusView } from '../../src/workflows/messages';
import { uniqueName, type TemporalTestContext } from '../support/temporal';

export type ReleaseHandle = WorkflowHandle<typeof releaseDb>;

type InputOverrides = Omit<Partial<ReleaseInput>, 'options'> & { options?: Partial<ReleaseOptions> };

export function releaseInput(overrides: InputOverrides = {}): ReleaseInput {
  const { options, ...rest } = overrides;
  return {
    environment: 'staging',
    plans: [
      { code: 'starter', name: 'Starter', amount: 0 },
      { code: 'pro', name: 'Pro', amount: 9900 },
    ],
    currency: 'usd',
    trialDays: 14,
    startedBy: 'alice',
    approval: { required: false, approvers: [], fourEyes: true, timeout: '1 hour' },
    ...rest,
    options: {
      non_interactive: true,
      skip_stripe: false,
      skip_db_checks: false,
      no_rollback: false,
      ...options,
    },
  };
}

export type StartRelease = (
  input: ReleaseInput,
) => Promise<WorkflowHandleWithFirstExecutionRunId<typeof releaseDb>>;

/** Runs `fn` while a fresh worker with `activities` polls its own task queue. */
export async function withWorker<T>(
  ctx: TemporalTestContext,
  activities: ReleaseActivities,
  fn: (start: StartRelease) => Promise<T>,
): Promise<T> {
  const taskQueue = uniqueName('release-tq');
  const worker = await Worker.create({
    connection: ctx.nativeConnection,
    taskQueue,
    workflowBundle: ctx.bundle,
    activities,
  });
  const start: StartRelease = (input) =>
    ctx.client.workflow.start<typeof releaseDb>('releaseDb', {
      taskQueue,
      workflowId: uniqueName('release-test'),
      args: [input],
    });
  return worker.runUntil(() => fn(start));
}

export function isSummary(value: unknown): value is ReleaseSummary {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.status === 'string' && Array.isArray(v.steps) && Array.isArray(v.compensations);
}

/** Awaits a release that must fail: returns the ReleaseFailed failure and the summary in details[0]. */
export async function releaseFailure(
  handle: ReleaseHandle,
): Promise<{ error: WorkflowFailedError; failure: ApplicationFailure; summary: ReleaseSummary }> {
  let outcome: unknown;
  try {
    outcome = await handle.result();
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const failure = error.cause;
    if (!(failure instanceof ApplicationFailure))
      throw new Error(`workflow failed with a non-application cause: ${String(failure)}`);
    if (failure.type !== 'ReleaseFailed')
      throw new Error(`expected failure type ReleaseFailed, got ${String(failure.type)}: ${failure.message}`);
    const summary: unknown = failure.details?.[0];
    if (!isSummary(summary))
      throw new Error(`ReleaseFailed details[0] is not a release summary: ${JSON.stringify(summary)}`);
    return { error, failure, summary };
  }
  throw new Error(`expected the release to fail, but it returned ${JSON.stringify(outcome)}`);
}

export function stepOf(summary: ReleaseSummary, name: StepName): StepRecord {
  const step = summary.steps.find((s) => s.name === name);
  if (!step)
    throw new Error(
      `step ${name} missing from summary (steps: ${summary.steps.map((s) => s.name).join(', ')})`,
    );
  return step;
}

/** Polls the `status` query until `ready` holds (bounded: about 10 s). */
export async function waitForStatus(
  handle: ReleaseHandle,
  ready: (s: ReleaseStatusView) => boolean,
  what: string,
): Promise<ReleaseStatusView> {
  let last: ReleaseStatusView | undefined;
  for (let i = 0; i < 200; i++) {
    last = await handle.query(statusQuery);
    if (ready(last)) return last;
    await delay(50);
  }
  throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last)}`);
}

/** The validator's reason when an update is refused; fails the test when the update was taken. */
export async function updateRefusal(update: Promise<unknown>): Promise<string> {
  let taken: unknown;
  try {
    taken = await update;
  } catch (error) {
    if (!(error instanceof WorkflowUpdateFailedError)) throw error;
    return error.cause?.message ?? error.message;
  }
  throw new Error(`expected the update to be refused, but it returned ${JSON.stringify(taken)}`);
}
