/**
 * Old histories must replay (DESIGN rule 9). These two were recorded with the gate as it was
 * before decisions named a plan digest (test/workflow/histories/gate-legacy-*.json): one where
 * an approval sent during preflight was kept, one approved at the gate by a signal without a
 * digest. Replayed against today's workflow code, they must run the same commands: the gate
 * applies the old rule to histories without the `approval-gate-digest` patch marker.
 */
import { Worker } from '@temporalio/worker';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromFile } from '../support/history';
import { temporalTestContext, type TemporalTestContext } from '../support/temporal';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

/** As a replayer reads the file; the fallback covers two protobufjs copies (see src/cli/evidence.ts). */

test.each(['gate-legacy-early-approval', 'gate-legacy-gate-approval'])(
  '%s replays against the current gate without nondeterminism',
  async (name) => {
    const json = JSON.parse(await readFile(path.join(__dirname, 'histories', `${name}.json`), 'utf8')) as {
      events: Array<{ eventType: string }>;
    };
    expect(json.events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(json.events.some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED')).toBe(true);
    await expect(
      Worker.runReplayHistory({ workflowBundle: ctx.bundle }, historyFromFile(json), name),
    ).resolves.toBeUndefined();
  },
);
