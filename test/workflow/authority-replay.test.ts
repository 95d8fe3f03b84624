/**
 * Old histories must replay (DESIGN rule 9): releases recorded by the workflow code from before
 * worker authority (commit bd44a10: the gate read the input's policy, no lease) replay against the
 * current code without non-determinism, behind the `worker-authority-and-target-lease` patch. One
 * is cut while it waits at the gate, as a release would across an upgrade.
 */
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { temporalTestContext, type TemporalTestContext } from '../support/temporal';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const HISTORIES = [
  'release-db-pre-authority-approved',
  'release-db-pre-authority-waiting',
  'release-db-pre-authority-no-gate',
];

test.each(HISTORIES)('%s replays against the current workflow code', async (name) => {
  const json: unknown = JSON.parse(
    readFileSync(path.join(__dirname, '..', 'histories', `${name}.json`), 'utf8'),
  );
  const history = temporal.api.history.v1.History.fromObject(json as Record<string, unknown>);
  expect(history.events.length).toBeGreaterThan(10);
  await Worker.runReplayHistory({ workflowBundle: ctx.bundle }, history, name);
});
