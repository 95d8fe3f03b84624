import type { ReleaseStatusView, RollbackStatusView } from '../workflows/messages';
import type { ReleaseListRow } from './release-manage';

/** One line per change of state, until the release ends; works the same on a TTY and in a log. */
export function describeStatus(view: ReleaseStatusView): string[] {
  const lines = view.summary.steps.map(
    (s) => `${s.name}: ${s.status}${s.duration_ms !== null ? ` (${s.duration_ms} ms)` : ''}${s.detail ? ` - ${s.detail}` : ''}`,
  );
  if (view.waitingForApproval) lines.push(`approval: waiting (signal "approve"/"reject" with {"approver": "NAME", "comment": "..."})`);
  if (view.summary.approval) lines.push(`approval: ${view.summary.approval.decision} by ${view.summary.approval.approver} via ${view.summary.approval.via}`);
  for (const ignored of view.ignoredDecisions) lines.push(`ignored ${ignored.kind} from ${ignored.approver}: ${ignored.reason}`);
  for (const c of view.summary.compensations) lines.push(`compensation ${c.name}: ${c.status}${c.detail ? ` - ${c.detail}` : ''}`);
  return lines;
}


/** `release list` as an aligned table: newest first, as Temporal visibility returns them. */
export function releaseListLines(rows: ReleaseListRow[]): string[] {
  if (rows.length === 0) return [];
  const header = ['STARTED', 'ENVIRONMENT', 'STATUS', 'GIT SHA', 'STARTED BY', 'WORKFLOW ID'];
  const table = [
    header,
    ...rows.map((r) => [r.startTime.replace(/\.\d+Z$/, 'Z'), r.environment ?? '-', r.status, r.gitSha?.slice(0, 12) ?? '-', r.startedBy ?? '-', r.workflowId]),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

/** A rollback run: what it undoes, its state, and each compensation as it is done. */
export function describeRollback(view: RollbackStatusView): string[] {
  return [
    `${view.release_workflow_id}: rollback of release run ${view.release_run_id}, ${view.state} (requested by ${view.requested_by} at ${view.started_at})`,
    ...view.compensations.map(
      (c) => `  compensation ${c.name}: ${c.status}${c.detail ? ` - ${c.detail}` : ''}${c.manual_action ? ` (by hand: ${c.manual_action})` : ''}`,
    ),
  ];
}
