/**
 * What an operator sees: the live block redrawn on a terminal, the `release list` table and the
 * visibility query behind it.
 */
import { getEventListeners } from 'node:events';
import { LiveDisplay, displayWidth, followLive, pause, renderLiveView } from '../../src/cli/live-view';
import type { ReleaseListRow } from '../../src/cli/release-runs';
import { releaseListQuery } from '../../src/cli/search-attributes';
import { releaseListLines } from '../../src/cli/status-lines';
import { endStep, initialSummary, startStep } from '../../src/release/summary';
import type { ReleaseInput } from '../../src/release/types';
import type { ReleaseStatusView } from '../../src/workflows/messages';

const STARTED = new Date('2026-11-25T10:00:00.000Z');
const at = (seconds: number) => new Date(STARTED.getTime() + seconds * 1_000);

const input: ReleaseInput = {
  environment: 'production',
  options: { non_interactive: true, skip_stripe: false, skip_db_checks: false, no_rollback: false },
  plans: [{ code: 'pro', name: 'Pro', amount: 9900 }],
  currency: 'usd',
  trialDays: 14,
  startedBy: 'alice',
  approval: { required: true, approvers: [], fourEyes: true, timeout: '24 hours' },
};

function waitingView(): ReleaseStatusView {
  const summary = initialSummary(input, { workflowId: 'db-release-production', runId: 'run-1' }, STARTED);
  summary.steps.push(
    endStep(
      startStep('preflight', at(0)),
      'success',
      at(2),
      'git 0123abcd, database at base, 1 pending revision(s)',
    ),
  );
  return {
    currentStep: 'approval',
    waitingForApproval: true,
    policy: input.approval,
    plan: {
      pendingRevisions: [{ revision: '20251107_090000', message: 'add stripe price id' }],
      plans: [{ code: 'pro', amount: 9900, currency: 'usd' }],
      skipStripe: false,
      stripeChanges: [
        {
          code: 'pro',
          product: 'reuse',
          price: 'create',
          lookupKey: 'pro_usd_monthly',
          movesLookupKeyFrom: 'price_old',
          previousAmount: 7900,
        },
      ],
    },
    ignoredDecisions: [
      {
        kind: 'approve',
        approver: 'alice',
        reason: 'four-eyes: alice started this release',
        at: at(5).toISOString(),
      },
    ],
    summary,
  };
}

describe('renderLiveView', () => {
  test('at the gate: every step in order, the gate ticking since preflight ended, the plan and how to decide', () => {
    const lines = renderLiveView(waitingView(), at(12));
    expect(lines[0]).toBe(
      'release db-release-production of production by alice: waiting for approval (12.0 s)',
    );
    const stepRows = lines.slice(1, 7).map((l) => l.replace(/\s+/g, ' ').trim());
    expect(stepRows).toEqual([
      '[ok] preflight 2.0 s git 0123abcd, database at base, 1 pending revision(s)',
      '[..] approval 10.0 s waiting (timeout 24 hours)',
      '[ ] migrations',
      '[ ] alembic_revision',
      '[ ] stripe_setup',
      '[ ] billing_plan_verification',
    ]);
    expect(lines).toContain('plan: 1 pending revision(s)');
    expect(lines).toContain('  20251107_090000  add stripe price id');
    expect(lines).toContain(
      '  stripe pro: 99.00 USD/month, was 79.00 (product reuse, price create, lookup key moves from price_old)',
    );
    // who may approve, before how to
    expect(lines).toContain('who may approve: anyone');
    expect(lines).toContain('four-eyes: alice started it and cannot approve it');
    expect(lines).toContain(
      'approve: db-release release approve db-release-production --approver NAME [--comment TEXT]',
    );
    expect(lines).toContain('ignored approve from alice: four-eyes: alice started this release');
  });

  test('after approval: the decision replaces the plan, the running step shows its own clock', () => {
    const view = waitingView();
    view.waitingForApproval = false;
    view.currentStep = 'migrations';
    view.summary.approval = {
      decision: 'approved',
      approver: 'bob',
      comment: 'lgtm',
      via: 'signal',
      at: at(20).toISOString(),
    };
    view.summary.steps.push(startStep('migrations', at(20)));
    const lines = renderLiveView(view, at(23.5)).map((l) => l.replace(/\s+/g, ' ').trim());
    expect(lines).toContain('[ok] approval approved by bob via signal: lgtm');
    expect(lines).toContain('[..] migrations 3.5 s');
    expect(lines.some((l) => l.startsWith('plan:'))).toBe(false);
    expect(lines.some((l) => l.startsWith('approve:'))).toBe(false);
    expect(lines[0]).toMatch(/: running \(23\.5 s\)$/);
  });

  test('an ungated release has no approval row; a finished one shows its status and compensations', () => {
    const view = waitingView();
    view.policy = { ...view.policy, required: false };
    view.waitingForApproval = false;
    view.plan = null;
    view.currentStep = 'done';
    view.summary.status = 'rolled_back';
    view.summary.steps.push(endStep(startStep('migrations', at(3)), 'failed', at(4), 'exit 1'));
    view.summary.compensations.push({
      name: 'migrations',
      status: 'success',
      detail: 'downgraded to base',
      manual_action: null,
    });
    const lines = renderLiveView(view, at(9)).map((l) => l.replace(/\s+/g, ' ').trim());
    expect(lines[0]).toMatch(/: rolled_back \(9\.0 s\)$/);
    expect(lines.some((l) => l.includes('approval'))).toBe(false);
    expect(lines).toContain('[!!] migrations 1.0 s exit 1');
    expect(lines).toContain('compensation migrations: success - downgraded to base');
  });
});

describe('LiveDisplay', () => {
  test('the first draw writes the block; each later draw moves back over the last block and clears it', () => {
    const writes: string[] = [];
    const display = new LiveDisplay(
      (t) => writes.push(t),
      () => 80,
    );
    display.update(['a', 'b', 'c']);
    display.update(['a', 'b']);
    display.update(['x']);
    expect(writes).toEqual(['a\nb\nc\n', '\x1b[3F\x1b[Ja\nb\n', '\x1b[2F\x1b[Jx\n']);
  });

  test('lines wider than the terminal are wrapped by the display (never by the terminal), at most three rows, then cut', () => {
    const writes: string[] = [];
    const display = new LiveDisplay(
      (t) => writes.push(t),
      () => 30,
    );
    display.update(['x'.repeat(200)]);
    const rows = (writes[0] ?? '').trimEnd().split('\n');
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(29);
    expect(rows[2]?.endsWith('…')).toBe(true);
    // the next draw moves back over every row drawn, not over the one logical line
    display.update(['short']);
    expect(writes[1]).toBe('\x1b[3F\x1b[Jshort\n');
  });

  test('the approve hint is wrapped whole at 80 columns: every word of the command is on screen', () => {
    const display = new LiveDisplay(
      () => undefined,
      () => 80,
    );
    const lines = renderLiveView({ ...waitingView(), planDigest: '3f2a9c0d11b4e567' }, at(12));
    const fitted = display.fit(lines);
    for (const row of fitted) expect(displayWidth(row)).toBeLessThanOrEqual(79);
    const hint = lines.find((l) => l.startsWith('approve:')) ?? '';
    expect(hint.length).toBeGreaterThan(80);
    const start = fitted.findIndex((row) => row.startsWith('approve:'));
    const joined = [fitted[start], fitted[start + 1]].map((row) => row?.trim()).join(' ');
    expect(joined).toBe(hint);
    expect(fitted.some((row) => row.includes('…'))).toBe(false);
  });

  test('a block taller than the terminal is cut to its height, so the rewind reaches its first row', () => {
    const writes: string[] = [];
    const display = new LiveDisplay(
      (t) => writes.push(t),
      () => 80,
      () => 10,
    );
    display.update(Array.from({ length: 25 }, (_, i) => `line ${i}`));
    const rows = (writes[0] ?? '').trimEnd().split('\n');
    expect(rows).toHaveLength(9);
    // the first row (which release) and the last ones (what to do now) stay
    expect(rows[0]).toBe('line 0');
    expect(rows[1]).toMatch(/^  … 17 row\(s\) not shown/);
    expect(rows.slice(2)).toEqual([
      'line 18',
      'line 19',
      'line 20',
      'line 21',
      'line 22',
      'line 23',
      'line 24',
    ]);
    display.update(['a', 'b']);
    expect(writes[1]).toBe('\x1b[9F\x1b[Ja\nb\n');
  });

  test('newlines and control characters inside a line cannot move the cursor; wide characters count double', () => {
    const display = new LiveDisplay(
      () => undefined,
      () => 21,
    );
    expect(display.fit(['a\nb', 'tab\there'])).toEqual(['a', 'b', 'tab here']);
    expect(displayWidth('ＡＢ')).toBe(4);
    const wide = display.fit(['ＡＢＣＤＥＦＧＨＩＪＫ']);
    for (const row of wide) expect(displayWidth(row)).toBeLessThanOrEqual(20);
    expect(wide.length).toBe(2);
  });

  test('followLive redraws until the release is done, and keeps the last view when a query fails', async () => {
    const done = { ...waitingView(), currentStep: 'done' as const, waitingForApproval: false };
    const answers: Array<ReleaseStatusView | Error> = [waitingView(), new Error('worker restarting'), done];
    const writes: string[] = [];
    const last = await followLive(
      () => {
        const next = answers.shift();
        return !next || next instanceof Error
          ? Promise.reject(next ?? new Error('asked after done'))
          : Promise.resolve(next);
      },
      new LiveDisplay((t) => writes.push(t)),
      new AbortController().signal,
      1,
    );
    expect(last?.currentStep).toBe('done');
    expect(answers).toHaveLength(0);
    expect(writes).toHaveLength(3);
    expect(writes[1]).toMatch(/^\x1b\[\d+F\x1b\[J/);
  });
});

describe('release list', () => {
  test('the query filters on the search attributes when they are registered', () => {
    expect(releaseListQuery({}, true)).toBe("WorkflowType = 'releaseDb'");
    expect(releaseListQuery({ environment: 'production', status: 'awaiting_approval' }, true)).toBe(
      "WorkflowType = 'releaseDb' AND DbReleaseEnvironment = 'production' AND DbReleaseStatus = 'awaiting_approval'",
    );
  });

  test('without them, an environment falls back to its workflow id and a status filter is refused with the fix', () => {
    expect(releaseListQuery({ environment: 'staging' }, false)).toBe(
      "WorkflowType = 'releaseDb' AND WorkflowId = 'db-release-staging'",
    );
    expect(() => releaseListQuery({ status: 'success' }, false)).toThrow(
      /--status needs the DbRelease\* search attributes.*register-search-attributes/,
    );
  });

  test('a value that could break out of the query is refused, naming the flag', () => {
    expect(() => releaseListQuery({ environment: "prod' OR WorkflowType != '" }, true)).toThrow(
      /^--environment "prod' OR/,
    );
    expect(() => releaseListQuery({ status: 'a b' }, true)).toThrow(/^--status "a b": use letters/);
  });

  test('the table aligns its columns and shortens the git SHA', () => {
    const row = (overrides: Partial<ReleaseListRow>): ReleaseListRow => ({
      workflowId: 'db-release-production',
      runId: 'r1',
      environment: 'production',
      status: 'success',
      executionStatus: 'COMPLETED',
      gitSha: '0123456789abcdef0123456789abcdef01234567',
      startedBy: 'alice',
      startTime: '2026-11-25T10:00:00.123Z',
      closeTime: null,
      ...overrides,
    });
    const lines = releaseListLines([
      row({ status: 'rolled_back', rollback: { runId: 'r2', state: 'rolled_back', detail: null } }),
      row({
        environment: 'dev',
        status: 'awaiting_approval',
        gitSha: null,
        workflowId: 'db-release-dev',
        runId: 'r3',
      }),
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^STARTED\s+ENVIRONMENT\s+STATUS\s+GIT SHA\s+STARTED BY\s+WORKFLOW ID\s+RUN ID\s+ROLLBACK$/,
    );
    expect(lines[1]).toMatch(
      /^2026-11-25T10:00:00Z\s+production\s+rolled_back\s+0123456789ab\s+alice\s+db-release-production\s+r1\s+rolled_back by run r2$/,
    );
    expect(lines[2]).toMatch(
      /^2026-11-25T10:00:00Z\s+dev\s+awaiting_approval\s+-\s+alice\s+db-release-dev\s+r3\s+-$/,
    );
    // aligned: every column starts at the same offset on each line
    const statusColumn = (lines[0] ?? '').indexOf('STATUS');
    expect((lines[2] ?? '').indexOf('awaiting_approval')).toBe(statusColumn);
    expect(releaseListLines([])).toEqual([]);
  });
});

describe('pause', () => {
  test('leaves no abort listener behind once its wait is over, however many polls share the signal', async () => {
    const stop = new AbortController();
    for (let i = 0; i < 50; i++) await pause(0, stop.signal);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    // and an abort still ends a wait at once
    const waiting = pause(60_000, stop.signal);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    stop.abort();
    await waiting;
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });
});
