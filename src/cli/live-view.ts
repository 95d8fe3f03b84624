/**
 * The live display on a terminal: one block (release, steps with their state and timing, the
 * plan, the gate, compensations) redrawn in place as the `status` query changes. In a log or a
 * pipe the CLI prints plain lines instead (status-lines.ts).
 */
import type { ReleaseStatusView } from '../workflows/messages';
import { FIRST_GATED_STEP } from '../release/steps';
import { STEP_ORDER } from '../release/summary';
import { approvalInstructions, policyLines } from '../release/approval';
import { planPriceLine } from '../release/money';
import { rollbackNoteLine } from './status-lines';
import type { ReleaseSummary, StepRecord } from '../release/types';
import { revisionNotes } from '../release/revisions';

const MARK: Record<StepRecord['status'], string> = {
  pending: '  ',
  running: '..',
  success: 'ok',
  failed: '!!',
  skipped: '--',
};

function seconds(ms: number): string {
  return ms < 1_000
    ? `${ms} ms`
    : ms < 120_000
      ? `${(ms / 1_000).toFixed(1)} s`
      : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** The block for one status view; `now` makes the running step's clock tick between queries. */
export function renderLiveView(view: ReleaseStatusView, now: Date): string[] {
  const s = view.summary;
  const elapsed = now.getTime() - Date.parse(s.executed_at);
  const lines = [
    `release ${s.workflow_id} of ${s.environment ?? '?'} by ${s.started_by}: ${view.currentStep === 'done' ? s.status : view.waitingForApproval ? 'waiting for approval' : 'running'} (${seconds(Math.max(0, elapsed))})`,
  ];
  const byName = new Map(s.steps.map((step) => [step.name, step]));
  const row = (mark: string, name: string, timing: string, detail: string) =>
    `  [${mark}] ${name.padEnd(26)} ${timing.padEnd(12)} ${detail}`.trimEnd();
  for (const name of STEP_ORDER) {
    const step = byName.get(name);
    if (name === FIRST_GATED_STEP && view.policy.required) lines.push(approvalRow(view, now, row));
    if (!step) {
      lines.push(row(MARK.pending, name, '', ''));
      continue;
    }
    const timing =
      step.duration_ms !== null
        ? seconds(step.duration_ms)
        : step.status === 'running' && step.started_at
          ? seconds(now.getTime() - Date.parse(step.started_at))
          : '';
    lines.push(row(MARK[step.status], name, timing, step.detail ?? ''));
  }
  if (view.plan && (view.waitingForApproval || !s.approval)) {
    lines.push(
      `plan: ${view.plan.pendingRevisions.length} pending revision(s)${view.planDigest ? `, digest ${view.planDigest}` : ''}`,
    );
    for (const r of view.plan.pendingRevisions)
      lines.push(`  ${r.revision}  ${r.message}${revisionNotes(r)}`);
    if (view.plan.skipStripe) lines.push('  stripe: skipped');
    else
      for (const p of view.plan.plans)
        lines.push(
          `  stripe ${planPriceLine(
            p,
            view.plan.stripeChanges?.find((c) => c.code === p.code),
          )}`,
        );
  }
  if (view.waitingForApproval) {
    const digest = view.planDigest;
    lines.push(...policyLines(view.policy, s.started_by, view.approvalDeadline));
    lines.push(...approvalInstructions(s.workflow_id, digest ?? null, 'terminal'));
  }
  const ignoredCount = view.ignoredCount ?? view.ignoredDecisions.length;
  if (ignoredCount > view.ignoredDecisions.length)
    lines.push(`ignored decisions: ${ignoredCount} in all, the last ${view.ignoredDecisions.length} listed`);
  for (const ignored of view.ignoredDecisions)
    lines.push(`ignored ${ignored.kind} from ${ignored.approver}: ${ignored.reason}`);
  for (const c of s.compensations)
    lines.push(`compensation ${c.name}: ${c.status}${c.detail ? ` - ${c.detail}` : ''}`);
  if (view.currentStep === 'compensation')
    lines.push('compensating: undoing what the release changed, newest first');
  if (view.rollback) lines.push(rollbackNoteLine(s.run_id, view.rollback));
  return lines;
}

function approvalRow(
  view: ReleaseStatusView,
  now: Date,
  row: (mark: string, name: string, timing: string, detail: string) => string,
): string {
  const approval = view.summary.approval;
  if (approval) {
    return row(
      approval.decision === 'approved' ? 'ok' : '!!',
      'approval',
      '',
      `${approval.decision} by ${approval.approver} via ${approval.via}${approval.comment ? `: ${approval.comment}` : ''}`,
    );
  }
  if (view.waitingForApproval) {
    const since = view.summary.steps.find((s) => s.name === 'preflight')?.ended_at;
    return row(
      '..',
      'approval',
      since ? seconds(now.getTime() - Date.parse(since)) : '',
      `waiting (timeout ${view.policy.timeout})`,
    );
  }
  return row(MARK.pending, 'approval', '', '');
}

/** The view of a release that has ended, drawn from its summary (no status query answers any more). */
export function finishedView(summary: ReleaseSummary): ReleaseStatusView {
  return {
    currentStep: 'done',
    waitingForApproval: false,
    policy: { required: summary.approval !== null, approvers: [], fourEyes: false, timeout: '0s' },
    plan: null,
    ignoredDecisions: [],
    summary,
  };
}

/** Columns a code point takes on a terminal: 0 for combining and zero-width marks, 2 for wide ones. */
function charWidth(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfe0f) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** How many terminal columns `text` takes. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += charWidth(ch.codePointAt(0) ?? 0);
  return width;
}

/** Cuts `text` to at most `width` columns; `rest` is what did not fit. */
function cut(text: string, width: number): { head: string; rest: string } {
  let used = 0;
  let index = 0;
  for (const ch of text) {
    const w = charWidth(ch.codePointAt(0) ?? 0);
    if (used + w > width) break;
    used += w;
    index += ch.length;
  }
  return { head: text.slice(0, index), rest: text.slice(index) };
}

/** Continuation rows of a wrapped line start with this, so they read as part of the line above. */
const CONTINUATION = '    ';
/** A line wraps onto at most this many rows; the last is cut with an ellipsis. */
const MAX_ROWS_PER_LINE = 3;

/**
 * Fits one logical line into rows of at most `width` columns: wrapped at spaces (a command stays
 * whole and copyable), at most MAX_ROWS_PER_LINE rows. Control characters (a newline in a step's
 * detail) would move the cursor behind the display's back, so they become spaces.
 */
export function wrapLine(line: string, width: number): string[] {
  let rest = line.replace(/[\u0000-\u001f\u007f]+/g, ' ').trimEnd();
  const rows: string[] = [];
  while (rows.length < MAX_ROWS_PER_LINE) {
    const prefix = rows.length === 0 ? '' : CONTINUATION;
    const room = width - prefix.length;
    if (displayWidth(rest) <= room) {
      rows.push(prefix + rest);
      return rows;
    }
    if (rows.length === MAX_ROWS_PER_LINE - 1) break;
    const { head } = cut(rest, room);
    const space = head.lastIndexOf(' ');
    // Break at the last space that leaves something on the row; a long word is split.
    const take = space > room / 3 ? space : head.length;
    rows.push(prefix + rest.slice(0, take).trimEnd());
    rest = rest.slice(take).trimStart();
  }
  const prefix = rows.length === 0 ? '' : CONTINUATION;
  rows.push(`${prefix}${cut(rest, width - prefix.length - 1).head}…`);
  return rows;
}

/**
 * Redraws a block of lines in place: moves the cursor back over the rows drawn last time and
 * clears to the end of the screen. The count of rows must be exact, or the previous frame stays
 * half visible above the new one: so every row is fitted to the width here (wrapped, never left to
 * the terminal to wrap), and a block taller than the terminal is cut to its height, since the
 * cursor cannot move back above the top of the screen.
 */
export class LiveDisplay {
  private drawn = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly columns: () => number = () => 120,
    /** Terminal height; 0 or less when unknown (no cut). */
    private readonly rows: () => number = () => 0,
  ) {}

  /** The rows `lines` take on the terminal as it is now. */
  fit(lines: string[]): string[] {
    // One column short of the width: writing the last column leaves the cursor in a state
    // terminals treat differently, and the row count would drift.
    const width = Math.max(20, this.columns() - 1);
    const fitted = lines.flatMap((line) => line.split('\n')).flatMap((line) => wrapLine(line, width));
    const height = this.rows();
    if (height > 3 && fitted.length > height - 1) {
      // The first row says which release; the end of the block says what to do now (the gate's
      // hints, compensations): the rows between give way.
      const tail = fitted.slice(fitted.length - (height - 3));
      const hidden = fitted.length - tail.length - 1;
      return [
        fitted[0] ?? '',
        `  … ${hidden} row(s) not shown: make the terminal taller, or db-release release status`.slice(
          0,
          width,
        ),
        ...tail,
      ];
    }
    return fitted;
  }

  update(lines: string[]): void {
    const fitted = this.fit(lines);
    const rewind = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '';
    this.write(`${rewind}${fitted.join('\n')}\n`);
    this.drawn = fitted.length;
  }
}

/**
 * Queries the status and redraws until the release is done or the signal aborts; returns the
 * last view seen. A query that fails (worker briefly gone) keeps the last block on screen.
 */
export async function followLive(
  query: () => Promise<ReleaseStatusView | null>,
  display: LiveDisplay,
  signal: AbortSignal,
  intervalMs = 500,
): Promise<ReleaseStatusView | null> {
  let last: ReleaseStatusView | null = null;
  while (!signal.aborted) {
    last = (await query().catch(() => null)) ?? last;
    if (last) display.update(renderLiveView(last, new Date()));
    if (last?.currentStep === 'done') break;
    await pause(intervalMs, signal);
  }
  return last;
}

/** Waits between two polls; an abort (Ctrl-C, the release ended) ends the wait at once. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    // The listener goes when the wait ends either way: one left per poll on a signal that lives
    // as long as `release watch` piles up (MaxListenersExceededWarning after a few minutes).
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
