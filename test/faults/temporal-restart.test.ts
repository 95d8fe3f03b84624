/**
 * The Temporal dev server is SIGKILLed and started again on the same port and database file
 * (a server of the case's own, so the other cases keep theirs). The worker and the waiting CLI
 * reconnect by themselves; the release ends as if the server had never gone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CASES } from './cases';
import { runCase, type CaseSpec, type FaultCase } from './support/fault-case';
import { freePort } from './support/eventually';
import { TemporalServerProcess } from './support/processes';

const MINUTE = 60_000;

/** Runs a case against a dev server of its own, persisted to a file so a restart keeps the history. */
async function withOwnServer(
  spec: CaseSpec,
  body: (c: FaultCase, server: TemporalServerProcess) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `db-release-faults-temporal-${spec.id}-`));
  const server = new TemporalServerProcess(
    await freePort(),
    path.join(dir, 'temporal.db'),
    path.join(dir, 'temporal.log'),
  );
  try {
    await server.start();
    await runCase({ ...spec, temporalAddress: server.address }, (c) => body(c, server));
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function expectReleased(c: FaultCase, run: ReturnType<FaultCase['startRelease']>): Promise<void> {
  const outcome = await c.outcomeOf(run, 10 * MINUTE);
  const state = await c.snapshot();
  c.checkExit(outcome, ['success'], 0);
  c.checkReleased(state, outcome);
  c.expect(
    'the worker process rode out the server restart (never restarted by the suite)',
    c.worker.alive && c.worker.starts === 1,
    { alive: c.worker.alive, starts: c.worker.starts },
    { alive: true, starts: 1 },
  );
  await c.checkCommon();
  await c.finish(outcome, state);
}

test.concurrent(CASES.temporalAtGate.title, () =>
  withOwnServer(CASES.temporalAtGate, async (c, server) => {
    const run = c.startRelease();
    await run.waitForStderr(/Approval required/);
    await c.waitAtGate();
    await server.kill9();
    await server.start();
    // the release is still at the gate after the restart, answered by the same worker
    await c.waitAtGate(3 * MINUTE);
    const approve = await c.runCli([
      'release',
      'approve',
      c.environment,
      '--approver',
      'bob',
      '--comment',
      'fault suite',
      ...c.temporalArgs(),
    ]);
    c.expect(
      'release approve exit code',
      approve.code === 0,
      { code: approve.code, stderr: approve.stderr.slice(-800) },
      0,
    );
    await expectReleased(c, run);
  }),
);

test.concurrent(CASES.temporalMidMigration.title, () =>
  withOwnServer(CASES.temporalMidMigration, async (c, server) => {
    const run = c.startRelease();
    await c.waitForMigrationStart('20251201_000001');
    await server.kill9();
    await server.start();
    await expectReleased(c, run);
  }),
);
