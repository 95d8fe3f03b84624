/**
 * `db-release release show <id-or-environment>`: the summary of a release, running or finished,
 * and with `--evidence DIR` its summary.json, report.md and replayable history.json.
 */
import type { Command } from 'commander';
import path from 'node:path';
import type { TemporalFlags } from '../connection';
import { findRelease, writeEvidence } from '../evidence';
import { runIdFlag } from '../input';
import { action, print, temporalOptions, withClient } from '../program';
import { showOutput } from '../release-output';

const SHOW_EXIT_HELP = `
Exit codes:
  0    shown / written (whatever the release's own status)
  1    the release ended without a summary (terminated from outside)
  2    bad input, no such release, or Temporal unreachable`;

export interface ShowFlags extends TemporalFlags {
  runId?: string;
  evidence?: string;
}

/** The summary JSON on stdout, or with --evidence the paths of the files written. */
export async function releaseShowCommand(id: string, flags: ShowFlags): Promise<number> {
  const runId = runIdFlag(flags.runId);
  return withClient(flags, async (client) => {
    const shown = await findRelease(client, id, runId);
    const files = flags.evidence
      ? await writeEvidence(client, shown, path.resolve(flags.evidence))
      : undefined;
    print(showOutput(shown, files));
    return 0;
  });
}

export function register(release: Command): Command {
  return temporalOptions(
    release
      .command('show <id-or-environment>')
      .description(
        'the summary of a release, running or finished (also one that ended while no CLI watched); with --evidence DIR writes ' +
          'summary.json, report.md and history.json (the full Temporal history, in the JSON form temporal workflow show and replayers read)',
      )
      .option('--run-id <id>', 'a specific run (default the latest)')
      .option('--evidence <dir>', 'write the evidence files into this folder')
      .addHelpText('after', SHOW_EXIT_HELP),
  ).action(action(releaseShowCommand));
}
