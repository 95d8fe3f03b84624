/** `db-release release approve <id-or-environment>`: shows the plan and its digest, then approves that plan. */
import type { Command } from 'commander';
import type { TemporalFlags } from '../connection';
import { decide } from '../gate';
import { action, err, temporalOptions, withClient } from '../program';

export interface ApproveFlags extends TemporalFlags {
  approver: string;
  comment?: string;
  digest?: string;
  overridePromotion?: boolean;
}

/** 0 approved; 1 refused with the reason (already decided, not an allowed approver, four-eyes, no worker); 2 bad input. */
export async function releaseApproveCommand(id: string, flags: ApproveFlags): Promise<number> {
  return withClient(flags, async (client) => {
    const decision = await decide(client, id, 'approve', flags.approver, flags.comment, {
      digest: flags.digest,
      show: err,
      ...(flags.overridePromotion ? { overridePromotion: true } : {}),
    });
    err(`approved by ${decision.approver} at ${decision.at}`);
    return 0;
  });
}

export function register(release: Command): Command {
  return temporalOptions(
    release
      .command('approve <id-or-environment>')
      .description(
        'approve a release, stripe setup or rollback waiting at the gate: shows the plan and its digest, then approves that plan',
      )
      .requiredOption('--approver <name>', 'who approves')
      .option('--comment <text>', 'why')
      .option(
        '--digest <hex>',
        'approve only this plan digest (as shown by release status); refused when the plan differs',
      )
      .option(
        '--override-promotion',
        'acknowledge the promotion override the plan shows (required to approve such a plan)',
      ),
  ).action(action(releaseApproveCommand));
}
