/** `db-release release status <id-or-environment>`: current step, steps, plan and decision. */
import type { Command } from 'commander';
import type { TemporalFlags } from '../connection';
import { action, print, temporalOptions, withClient } from '../program';
import { statusOutput } from '../release-output';
import { latestStatus, releaseIdOf } from '../release-runs';

/** 0 shown (whatever the release's own status); 2 no such release, or running with no worker to read it. */
export async function releaseStatusCommand(
  id: string,
  flags: TemporalFlags & { json?: boolean },
): Promise<number> {
  return withClient(flags, async (client) => {
    print(statusOutput(releaseIdOf(id), await latestStatus(client, id), Boolean(flags.json)));
    return 0;
  });
}

export function register(release: Command): Command {
  return temporalOptions(
    release
      .command('status <id-or-environment>')
      .description('current step, steps, plan and decision')
      .option('--json', 'print JSON'),
  ).action(action(releaseStatusCommand));
}
