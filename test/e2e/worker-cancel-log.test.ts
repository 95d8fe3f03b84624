/**
 * Issue 14: the worker (`db-release worker`, as an operator starts it) logs a release cancelled on
 * request as one INFO line, not a WARN "Workflow failed" with a stack.
 */
import path from 'node:path';
import { statusQuery } from '../../src/workflows/messages';
import { runCli, startCli, type CliRun } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { eventually } from '../support/eventually';

let e2e: E2eStack;
let worker: CliRun | undefined;
beforeAll(async () => {
  e2e = await startE2eStack('cancellog', { environment: 'production' });
});
afterAll(async () => {
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.done;
  }
  await e2e?.close();
});

test('a cancelled release: one INFO line in the worker log, no WARN, no stack', async () => {
  let log = '';
  try {
    const address = e2e.temporalArgs[e2e.temporalArgs.indexOf('--address') + 1] ?? '';
    const queue = `${e2e.taskQueue}-cli-worker`;
    const flags = ['--address', address, '--task-queue', queue];
    worker = startCli(['worker', '--project-root', e2e.stack.backendDir, ...flags]);
    const ready = await Promise.race([
      worker.waitForStderr(/db-release worker ready/).then(() => true),
      worker.done.then((r) => {
        throw new Error(`the worker exited (${r.code}): ${r.stderr}`);
      }),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 60_000)),
    ]);
    expect(ready).toBe(true);

    const release = startCli([
      'release',
      'db',
      '--project-root',
      e2e.stack.backendDir,
      '--environment',
      'production',
      '--non-interactive',
      '--plan',
      'starter=0',
      '--plan',
      'pro=9900',
      '--operator',
      'alice',
      '--summary-path',
      path.join('var', 'reports', `cancellog-${Date.now()}.json`),
      ...flags,
    ]);
    const handle = e2e.ctx.client.workflow.getHandle('db-release-production');
    await eventually(async () => (await handle.query(statusQuery)).waitingForApproval, {
      what: 'the release to wait at the gate',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect((await runCli(['release', 'cancel', 'production', ...flags])).code).toBe(0);
    const done = await release.done;
    expect(done.stderr).toMatch(/Release cancelled/);
    // The worker logs when the workflow task completes: bounded wait for the line, then stop it.
    const logged = await Promise.race([
      worker.waitForStderr(/db-release-production cancelled on request|Workflow failed/).then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000)),
    ]);
    expect(logged).toBe(true);

    worker.child.kill('SIGTERM');
    log = (await worker.done).stderr;
    expect(log).toMatch(/\[INFO\] db-release-production cancelled on request; its compensations ran/);
    expect(log).not.toMatch(/Workflow failed/);
    expect(log).not.toMatch(/\[WARN\]/);
  } finally {
    if (!log && worker)
      process.stderr.write(
        `worker log so far (test failed):\n${await Promise.race([worker.done.then((r) => r.stderr), new Promise<string>((r) => setTimeout(() => r('(still running)'), 100))])}\n`,
      );
  }
}, 240_000);
