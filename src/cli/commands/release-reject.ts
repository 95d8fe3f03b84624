/** `db-release release reject <id-or-environment>`: rejects what waits at the gate, with a reason. */
import type { Command } from 'commander';
import type { TemporalFlags } from '../connection';
import { decide } from '../gate';
import { action, err, temporalOptions, withClient } from '../program';

export interface RejectFlags extends TemporalFlags {
  approver?: string;
  reason: string;
}

/** 0 rejected; 1 refused with the reason (already decided, no worker); 2 bad input. */
export async function releaseRejectCommand(id: string, flags: RejectFlags): Promise<number> {
  return withClient(flags, async (client) => {
    const approver = flags.approver ?? process.env.DB_RELEASE_OPERATOR ?? process.env.USER ?? 'operator';
    const decision = await decide(client, id, 'reject', approver, flags.reason, { show: err });
    err(`rejected by ${decision.approver} at ${decision.at}`);
    return 0;
  });
}

export function register(release: Command): Command {
  return temporalOptions(
    release
      .command('reject <id-or-environment>')
      .description('reject a release, stripe setup or rollback waiting at the gate')
      .requiredOption('--reason <text>', 'why (required)')
      .option('--approver <name>', 'who rejects (default DB_RELEASE_OPERATOR or the OS user)'),
  ).action(action(releaseRejectCommand));
}
