/**
 * A migration that hangs (sleeps in the migrate process, a grandchild of the worker: just → sh →
 * alembic). Stopping the step must take the whole process tree with it: no process carrying the
 * case's marker may be left. The migrate activity's timeout is 30 minutes, too long for this
 * suite, so the step is stopped the other way it can end: `release cancel`.
 */
import { CASES } from './cases';
import { runCase } from './support/fault-case';
import { eventually } from './support/eventually';
import { processesWithMarker } from './support/processes';

const MINUTE = 60_000;

test.concurrent(CASES.hungMigration.title, () =>
  runCase(CASES.hungMigration, async (c) => {
    const run = c.startRelease();
    await c.waitForMigrationStart('20251201_000001');
    const tree = await eventually(
      async () => {
        const found = await processesWithMarker(c.marker);
        return found.length > 0 ? found : null;
      },
      { timeoutMs: 30_000, what: 'the migrate process tree to be visible' },
    );
    c.expect(
      'the hung migrate command runs as a process tree',
      tree.length >= 2,
      tree,
      '>= 2 processes (the command and alembic)',
    );
    const cancel = await c.runCli(['release', 'cancel', c.environment, ...c.temporalArgs()]);
    c.expect(
      'release cancel exit code',
      cancel.code === 0,
      { code: cancel.code, stderr: cancel.stderr.slice(-800) },
      0,
    );
    const outcome = await c.outcomeOf(run, 8 * MINUTE);
    const state = await c.snapshot();
    c.checkExit(outcome, ['cancelled'], 1);
    c.checkUnchanged(state);
    await c.checkCommon();
    await c.finish(outcome, state);
  }),
);
