/**
 * Old histories must replay (DESIGN rule 9): every history kept under test/histories/ (each
 * folder one workflow version, each file a run in one state: waiting at the gate, mid-migration,
 * compensating, finished, rolled back, cancelled, a rollback, a Stripe setup) replays against
 * the current workflow code without non-determinism. A change that breaks one would break the
 * releases in flight that match it: put the change behind `patched()` instead (README,
 * "Changing the workflows").
 */
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromFile } from '../support/history';
import { temporalTestContext, type TemporalTestContext } from '../support/temporal';

const ROOT = path.join(__dirname, '..', 'histories');
const VERSIONS = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory());
const FILES = VERSIONS.flatMap((d) =>
  readdirSync(path.join(ROOT, d.name))
    .filter((f) => f.endsWith('.json'))
    .map((f) => `${d.name}/${f}`),
);

/** As the `temporal` CLI writes it (proto JSON); the fallback covers two protobufjs copies (see src/cli/evidence.ts). */

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

test('the kept histories cover every state a run can be in when new code is deployed', () => {
  const states = new Set(FILES.map((f) => path.basename(f, '.json')));
  for (const state of [
    'release-waiting-at-gate',
    'release-mid-migration',
    'release-compensating',
    'release-approved-success',
    'release-rolled-back',
    'release-cancelled',
    'rollback-approved',
    'stripe-setup-approved',
  ]) {
    expect(states).toContain(state);
  }
});

test.each(FILES)('%s replays against the current workflow code', async (file) => {
  const json = JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as unknown;
  const history = historyFromFile(json);
  expect(history.events?.length ?? 0).toBeGreaterThan(5);
  await Worker.runReplayHistory({ workflowBundle: ctx.bundle }, history, file);
});
