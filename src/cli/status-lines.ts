import { approvalInstructions, approveCommand, policyLines } from '../release/approval';
import { promotionLines } from '../release/promotion';
import { planPriceLine } from '../release/money';
import type { GateView, ReleaseStatusView, RollbackNote, RollbackStatusView } from '../workflows/messages';
import type { ReleaseListRow } from './release-runs';
import { revisionNotes } from '../release/revisions';
import { gateSqlReviewLines } from './sql-review-view';

/** One line per change of state, until the release ends; works the same on a TTY and in a log. */
export function describeStatus(view: ReleaseStatusView): string[] {
  const lines = view.summary.steps.map(
    (s) =>
      `${s.name}: ${s.status}${s.duration_ms !== null ? ` (${s.duration_ms} ms)` : ''}${s.detail ? ` - ${s.detail}` : ''}`,
  );
  if (view.waitingForApproval) {
    const digest = view.planDigest ?? 'DIGEST';
    lines.push(
      `approval: waiting for a decision on plan ${digest} (signal "approve" with {"approver": "NAME", "comment": "...", "digest": "${digest}"}, or "reject" with {"approver": "NAME", "comment": "reason"})`,
    );
    for (const line of policyLines(view.policy, view.summary.started_by, view.approvalDeadline))
      lines.push(`approval: ${line}`);
    if (view.plan && !view.plan.skipStripe) {
      for (const p of view.plan.plans)
        lines.push(
          `approval: plan ${planPriceLine(
            p,
            view.plan.stripeChanges?.find((c) => c.code === p.code),
          )}`,
        );
    }
  }
  if (view.summary.promotion) lines.push(...promotionLines(view.summary.promotion));
  if (view.summary.approval)
    lines.push(
      `approval: ${view.summary.approval.decision} by ${view.summary.approval.approver} via ${view.summary.approval.via}`,
    );
  const ignoredCount = view.ignoredCount ?? view.ignoredDecisions.length;
  if (ignoredCount > view.ignoredDecisions.length)
    lines.push(`ignored decisions: ${ignoredCount} in all, the last ${view.ignoredDecisions.length} listed`);
  for (const ignored of view.ignoredDecisions)
    lines.push(`ignored ${ignored.kind} from ${ignored.approver}: ${ignored.reason}`);
  for (const c of view.summary.compensations)
    lines.push(`compensation ${c.name}: ${c.status}${c.detail ? ` - ${c.detail}` : ''}`);
  if (view.rollback) lines.push(rollbackNoteLine(view.summary.run_id, view.rollback));
  return lines;
}

/** The rollback beside the release it undid: `rollback run R: rolled_back (requested by dave, ...)`. */
export function rollbackNoteLine(releaseRunId: string, note: RollbackNote): string {
  const undone =
    note.state === 'rolled_back'
      ? `release run ${releaseRunId} is rolled back`
      : note.state === 'rollback_failed'
        ? `release run ${releaseRunId} is partly rolled back`
        : note.state === 'running'
          ? `rolling back release run ${releaseRunId}`
          : `release run ${releaseRunId} is unchanged`;
  return `rollback run ${note.runId}: ${note.state}${note.detail ? ` (${note.detail})` : ''}; ${undone}`;
}

/** `release list` as an aligned table: newest first, as Temporal visibility returns them. */
export function releaseListLines(rows: ReleaseListRow[]): string[] {
  if (rows.length === 0) return [];
  // The run id tells apart the runs that share an environment's workflow id (releases, rollbacks):
  // it is what --run-id of `release show` and `release rollback` takes.
  const header = [
    'STARTED',
    'ENVIRONMENT',
    'STATUS',
    'GIT SHA',
    'STARTED BY',
    'WORKFLOW ID',
    'RUN ID',
    'ROLLBACK',
  ];
  const table = [
    header,
    ...rows.map((r) => [
      r.startTime.replace(/\.\d+Z$/, 'Z'),
      r.environment ?? '-',
      r.status,
      r.gitSha?.slice(0, 12) ?? '-',
      r.startedBy ?? '-',
      r.workflowId,
      r.runId,
      r.rollback ? `${r.rollback.state} by run ${r.rollback.runId}` : '-',
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  return table.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** A rollback run: what it undoes, its state, and each compensation as it is done. */
export function describeRollback(view: RollbackStatusView): string[] {
  return [
    `${view.release_workflow_id}: rollback of release run ${view.release_run_id}, ${view.state} (requested by ${view.requested_by} at ${view.started_at})`,
    ...(view.state === 'awaiting_approval' && view.planDigest
      ? [
          `  waiting for approval of plan ${view.planDigest}: ${approveCommand(view.release_workflow_id, view.planDigest)}`,
        ]
      : []),
    ...(view.approval
      ? [`  ${view.approval.decision} by ${view.approval.approver} via ${view.approval.via}`]
      : []),
    ...view.compensations.map(
      (c) =>
        `  compensation ${c.name}: ${c.status}${c.detail ? ` - ${c.detail}` : ''}${c.manual_action ? ` (by hand: ${c.manual_action})` : ''}`,
    ),
  ];
}

const GATE_ACTION: Record<GateView['action'], string> = {
  release: 'release',
  stripe_setup: 'stripe setup',
  rollback: 'rollback',
};

/** A gate waiting for a decision: what is to be approved, its digest, and how to decide. */
export function gateLines(gate: GateView, workflowId: string): string[] {
  const plan = gate.plan;
  const digest = gate.planDigest ?? 'DIGEST';
  const lines = [
    `${GATE_ACTION[gate.action]} of ${gate.environment} by ${gate.startedBy}: ${gate.decision ? `${gate.decision.decision} by ${gate.decision.approver}` : gate.waitingForApproval ? 'waiting for approval' : 'not waiting'}`,
  ];
  lines.push(
    `plan digest: ${digest}${plan?.gitSha ? ` (git ${plan.gitSha.slice(0, 12)})` : ''}${plan?.rollbackOf ? ` (undoes release run ${plan.rollbackOf})` : ''}`,
  );
  if (plan) {
    if (plan.action === 'rollback') {
      lines.push(
        plan.pendingRevisions.length > 0
          ? `  schema back to ${plan.downgradeTo ?? 'base'}, undoing:`
          : '  schema: unchanged',
      );
    } else if (plan.action === 'release') {
      lines.push(`  ${plan.pendingRevisions.length} pending revision(s)`);
    }
    for (const r of plan.pendingRevisions) lines.push(`    ${r.revision}  ${r.message}${revisionNotes(r)}`);
    for (const line of gateSqlReviewLines(plan.sqlReview, workflowId)) lines.push(`  ${line}`);
    if (plan.skipStripe) lines.push('  stripe: no change');
    else {
      for (const p of plan.plans)
        lines.push(
          `  stripe ${planPriceLine(
            p,
            plan.stripeChanges?.find((c) => c.code === p.code),
          )}`,
        );
    }
  }
  if (plan?.promotion) {
    // The override an approval must acknowledge (README: Promotion).
    lines.push(
      `  promotion overridden by ${plan.promotion.requestedBy}: "${plan.promotion.overrideReason}"; approving needs --override-promotion`,
    );
    for (const m of plan.promotion.missing) lines.push(`    missing ${m.environment}: ${m.found}`);
  }
  if (gate.policy)
    for (const line of policyLines(gate.policy, gate.startedBy, gate.deadline)) lines.push(`  ${line}`);
  const ignoredCount = gate.ignoredCount ?? gate.ignoredDecisions.length;
  if (ignoredCount > 0)
    lines.push(
      `  ignored decisions: ${ignoredCount}${ignoredCount > gate.ignoredDecisions.length ? `, the last ${gate.ignoredDecisions.length} listed` : ''}`,
    );
  for (const ignored of gate.ignoredDecisions.slice(-5))
    lines.push(`    ${ignored.at} ${ignored.kind} from ${ignored.approver}: ${ignored.reason}`);
  if (gate.waitingForApproval) {
    lines.push(...approvalInstructions(workflowId, digest, 'terminal', Boolean(plan?.promotion)));
  }
  return lines;
}
