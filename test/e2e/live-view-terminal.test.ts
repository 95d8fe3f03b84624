/**
 * Issue 14, the live view on a real (pseudo-)terminal of 80 columns: `release watch` redraws its
 * block in place while a release waits at the gate and after it is approved. Read back through a
 * small terminal model (scrollback included): no earlier frame is left above the block, even when
 * the block is taller than the screen and when it shrinks, and the approve hint is whole.
 */
import path from 'node:path';
import { statusQuery } from '../../src/workflows/messages';
import { runCli, startCli, startCliOnTerminal, type TerminalRun } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { eventually } from '../support/eventually';
import { TerminalScreen } from '../support/terminal-screen';

const COLUMNS = 80;
/** Shorter than the block at the gate, so the cut for a too-tall block is exercised too. */
const ROWS = 12;
const HEADER = /^release db-release-production of production by alice: /;

let e2e: E2eStack;
const terminals: TerminalRun[] = [];
beforeAll(async () => {
  e2e = await startE2eStack('liveterm', { environment: 'production' });
});
afterEach(() => {
  for (const t of terminals.splice(0)) t.interrupt();
});
afterAll(async () => {
  await e2e?.close();
});

function readBack(drawn: string): TerminalScreen {
  const screen = new TerminalScreen(COLUMNS, ROWS);
  screen.write(drawn);
  return screen;
}

test('release watch at 80 columns: one block, redrawn in place, the approve hint whole', async () => {
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
    path.join('var', 'reports', `liveterm-${Date.now()}.json`),
    ...e2e.temporalArgs,
  ]);
  const handle = e2e.ctx.client.workflow.getHandle('db-release-production');
  const digest = await eventually(
    async () => {
      const view = await handle.query(statusQuery);
      return view.waitingForApproval ? view.planDigest : null;
    },
    { what: 'the release to wait at the gate with its plan digest', timeoutMs: 60_000, intervalMs: 100 },
  );
  expect(digest).toMatch(/^[0-9a-f]{16}$/);

  const watch = startCliOnTerminal(
    ['release', 'watch', 'production', ...e2e.temporalArgs],
    { PTY_ROWS: String(ROWS) },
    COLUMNS,
  );
  terminals.push(watch);
  // several redraws at the gate (each moves back over the block: ESC[nF)
  await watch.waitForScreen(/(\x1b\[\d+F[\s\S]*){3}/);
  const waiting = readBack(watch.screen());
  const rows = waiting.transcript();
  expect(rows.filter((r) => HEADER.test(r))).toHaveLength(1);
  for (const row of rows) expect(row.length).toBeLessThanOrEqual(COLUMNS - 1);
  // the hint is wrapped, not cut: its rows joined are the whole command
  const start = waiting.screen().findIndex((r) => r.startsWith('approve: '));
  expect(start).toBeGreaterThan(0);
  const hint = [waiting.screen()[start], waiting.screen()[start + 1]].map((r) => (r ?? '').trim()).join(' ');
  expect(hint).toBe(
    `approve: db-release release approve db-release-production --approver NAME --digest ${digest} [--comment TEXT]`,
  );
  expect(waiting.screen().join('\n')).not.toMatch(/approve.*…/);

  const approve = await runCli([
    'release',
    'approve',
    'production',
    '--approver',
    'bob',
    '--comment',
    'pty test',
    ...e2e.temporalArgs,
  ]);
  expect(approve.code).toBe(0);
  const done = await watch.done;
  expect(done.code).toBe(0);
  expect((await release.done).code).toBe(0);
  // the block shrank (no plan, no hints) and the final frame replaced it: still one block
  const final = readBack(done.stdout);
  expect(final.transcript().filter((r) => HEADER.test(r))).toHaveLength(1);
  expect(final.transcript().find((r) => HEADER.test(r))).toMatch(/: success \(/);
  expect(final.transcript().some((r) => r.startsWith('approve: '))).toBe(false);
  expect(final.transcript().at(-1)).toBe('release success');
});
