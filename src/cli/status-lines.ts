import type { ReleaseStatusView } from '../workflows/messages';

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

