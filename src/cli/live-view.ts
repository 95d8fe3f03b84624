/**
 * The live display on a terminal: one block (release, steps with their state and timing, the
 * plan, the gate, compensations) redrawn in place as the `status` query changes. In a log or a
 * pipe the CLI prints plain lines instead (status-lines.ts).
 */
import type { ReleaseStatusView } from '../workflows/messages';
import { STEP_ORDER } from '../release/summary';
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
  return ms < 1_000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1_000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** The block for one status view; `now` makes the running step's clock tick between queries. */
export function renderLiveView(view: ReleaseStatusView, now: Date): string[] {
  const s = view.summary;
  const elapsed = now.getTime() - Date.parse(s.executed_at);
  const lines = [`release ${s.workflow_id} of ${s.environment ?? '?'} by ${s.started_by}: ${view.currentStep === 'done' ? s.status : view.waitingForApproval ? 'waiting for approval' : 'running'} (${seconds(Math.max(0, elapsed))})`];
  const byName = new Map(s.steps.map((step) => [step.name, step]));
  const row = (mark: string, name: string, timing: string, detail: string) =>
    `  [${mark}] ${name.padEnd(26)} ${timing.padEnd(12)} ${detail}`.trimEnd();
  for (const name of STEP_ORDER) {
    const step = byName.get(name);
    if (name === 'migrations' && view.policy.required) lines.push(approvalRow(view, now, row));
    if (!step) {
      lines.push(row(MARK.pending, name, '', ''));
      continue;
    }
    const timing =
      step.duration_ms !== null ? seconds(step.duration_ms) : step.status === 'running' && step.started_at ? seconds(now.getTime() - Date.parse(step.started_at)) : '';
    lines.push(row(MARK[step.status], name, timing, step.detail ?? ''));
  }
  if (view.plan && (view.waitingForApproval || !s.approval)) {
    lines.push(`plan: ${view.plan.pendingRevisions.length} pending revision(s)${view.planDigest ? `, digest ${view.planDigest}` : ''}`);
    for (const r of view.plan.pendingRevisions) lines.push(`  ${r.revision}  ${r.message}${revisionNotes(r)}`);
    if (view.plan.skipStripe) lines.push('  stripe: skipped');
    for (const c of view.plan.stripeChanges ?? []) {
      lines.push(`  stripe ${c.code}: product ${c.product}, price ${c.price}${c.movesLookupKeyFrom ? `, lookup key moves from ${c.movesLookupKeyFrom}` : ''}`);
    }
  }
  if (view.waitingForApproval) {
    const digest = view.planDigest;
    lines.push(`approve: db-release release approve ${s.workflow_id} --approver NAME ${digest ? `--digest ${digest} ` : ''}[--comment TEXT]`);
    lines.push(`reject:  db-release release reject ${s.workflow_id} --approver NAME --reason TEXT`);
    lines.push(`Web UI:  Send a Signal "approve" with {"approver": "NAME", "comment": "..."${digest ? `, "digest": "${digest}"` : ''}}`);
  }
  const ignoredCount = view.ignoredCount ?? view.ignoredDecisions.length;
  if (ignoredCount > view.ignoredDecisions.length) lines.push(`ignored decisions: ${ignoredCount} in all, the last ${view.ignoredDecisions.length} listed`);
  for (const ignored of view.ignoredDecisions) lines.push(`ignored ${ignored.kind} from ${ignored.approver}: ${ignored.reason}`);
  for (const c of s.compensations) lines.push(`compensation ${c.name}: ${c.status}${c.detail ? ` - ${c.detail}` : ''}`);
  if (view.currentStep === 'compensation') lines.push('compensating: undoing what the release changed, newest first');
  return lines;
}

function approvalRow(view: ReleaseStatusView, now: Date, row: (mark: string, name: string, timing: string, detail: string) => string): string {
  const approval = view.summary.approval;
  if (approval) {
    return row(approval.decision === 'approved' ? 'ok' : '!!', 'approval', '', `${approval.decision} by ${approval.approver} via ${approval.via}${approval.comment ? `: ${approval.comment}` : ''}`);
  }
  if (view.waitingForApproval) {
    const since = view.summary.steps.find((s) => s.name === 'preflight')?.ended_at;
    return row('..', 'approval', since ? seconds(now.getTime() - Date.parse(since)) : '', `waiting (timeout ${view.policy.timeout})`);
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

/** Redraws a block of lines in place: moves the cursor back over the last block and clears it. */
export class LiveDisplay {
  private drawn = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly columns: () => number = () => 120,
  ) {}

  update(lines: string[]): void {
    // Lines longer than the terminal would wrap and break the count of lines to move back over.
    const width = Math.max(20, this.columns() - 1);
    const fitted = lines.map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line));
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
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
