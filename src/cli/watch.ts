import type { Client } from '@temporalio/client';
import { setTimeout as delay } from 'node:timers/promises';
import type { ReleaseStatusView } from '../workflows/messages';
import { releaseIdOf, releaseStatus, releaseSummary } from './release-manage';
import type { ReleaseSummary } from '../release/types';

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

export async function watchRelease(
  client: Client,
  idOrEnvironment: string,
  print: (line: string) => void,
  stop: { stopped: boolean },
  pollMs = 1_000,
): Promise<ReleaseSummary> {
  const id = releaseIdOf(idOrEnvironment);
  const seen = new Set<string>();
  for (;;) {
    const description = await client.workflow.getHandle(id).describe();
    if (description.status.name !== 'RUNNING') break;
    const view = await releaseStatus(client, id).catch(() => null);
    for (const line of view ? describeStatus(view) : []) {
      if (!seen.has(line)) {
        seen.add(line);
        print(line);
      }
    }
    if (stop.stopped) break;
    await delay(pollMs);
  }
  const summary = await releaseSummary(client, id);
  for (const line of describeStatus({ currentStep: 'done', waitingForApproval: false, policy: { required: false, approvers: [], fourEyes: false, timeout: '0s' }, plan: null, ignoredDecisions: [], summary })) {
    if (!seen.has(line)) print(line);
  }
  print(`release ${summary.status}`);
  return summary;
}
