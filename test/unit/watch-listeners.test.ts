/**
 * `release watch` in a pipe polls once a second for as long as the release runs (a day at the
 * gate): each poll must leave nothing attached to the long-lived abort signal or to `process`,
 * or Node warns MaxListenersExceededWarning after a few minutes. A fake client answers the polls.
 */
import type { Client } from '@temporalio/client';
import { getEventListeners } from 'node:events';
import { watchRelease } from '../../src/cli/commands/release-watch';
import { initialSummary } from '../../src/release/summary';
import type { ReleaseInput } from '../../src/release/types';
import type { ReleaseStatusView } from '../../src/workflows/messages';

const input: ReleaseInput = {
  environment: 'production',
  options: { non_interactive: true, skip_stripe: false, skip_db_checks: false, no_rollback: false },
  plans: [{ code: 'pro', name: 'Pro', amount: 9900 }],
  currency: 'usd',
  trialDays: 14,
  startedBy: 'alice',
  approval: { required: true, approvers: [], fourEyes: true, timeout: '24 hours' },
};

/** A release that stays running for `polls` status queries, then completes with its summary. */
function fakeClient(polls: number, onPoll: (n: number) => void): Client {
  const summary = initialSummary(
    input,
    { workflowId: 'db-release-production', runId: 'run-1' },
    new Date('2026-11-25T10:00:00Z'),
  );
  let n = 0;
  const view = (): ReleaseStatusView => ({
    currentStep: 'approval',
    waitingForApproval: true,
    policy: input.approval,
    plan: null,
    ignoredDecisions: [],
    summary,
  });
  const handle = {
    workflowId: 'db-release-production',
    describe: () => {
      n += 1;
      onPoll(n);
      return Promise.resolve({
        type: 'releaseDb',
        runId: 'run-1',
        status: { name: n <= polls ? 'RUNNING' : 'COMPLETED' },
        memo: {},
      });
    },
    query: () => Promise.resolve(view()),
    result: () => Promise.resolve({ ...summary, status: 'success' }),
  };
  return {
    workflow: { getHandle: () => handle },
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
  } as unknown as Client;
}

test('200 polls leave no listener on the watch signal or on process, and no MaxListenersExceededWarning', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on('warning', onWarning);
  const stop = new AbortController();
  const processListeners = () =>
    process.eventNames().reduce((sum, name) => sum + process.listenerCount(name), 0);
  const before = processListeners();
  const counts: number[] = [];
  try {
    const lines: string[] = [];
    const outcome = await watchRelease(
      fakeClient(200, () => counts.push(getEventListeners(stop.signal, 'abort').length)),
      'production',
      { print: (line) => lines.push(line) },
      stop.signal,
      0,
    );
    expect(outcome.kind).toBe('ended');
    expect(counts.length).toBeGreaterThan(200);
    // at most the one wait in progress holds a listener, never one per poll
    expect(Math.max(...counts)).toBeLessThanOrEqual(1);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    expect(processListeners()).toBe(before);
    expect(lines.at(-1)).toBe('release success');
  } finally {
    process.removeListener('warning', onWarning);
  }
  // warnings are emitted on the next tick
  await new Promise((resolve) => setImmediate(resolve));
  expect(warnings).not.toContain('MaxListenersExceededWarning');
});
