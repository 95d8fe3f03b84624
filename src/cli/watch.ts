import type { Client } from '@temporalio/client';
import { setTimeout as delay } from 'node:timers/promises';
import { describeStatus } from './status-lines';
import { releaseIdOf, releaseStatus, releaseSummary } from './release-manage';
import type { ReleaseSummary } from '../release/types';

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
