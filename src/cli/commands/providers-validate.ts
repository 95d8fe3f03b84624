/** `db-release providers validate`: the backend's Stripe/Resend/OpenAI keys, present, well formed, the Stripe key authenticated. */
import type { Command } from 'commander';
import { requireBackendScope } from '../input';
import { action, out, projectRootOption, REPORT_EXIT_HELP } from '../program';
import { describeProviders, validateProviders } from '../providers';

export interface ProvidersFlags {
  projectRoot?: string;
  json?: boolean;
  offline?: boolean;
}

/** 0 when every required provider is ok (optional ones absent are notes), 1 when one is missing or invalid, 2 on bad input. */
export async function providersValidateCommand(
  flags: ProvidersFlags,
  io: { stdout: (t: string) => void } = { stdout: out },
): Promise<number> {
  const { projectRoot, scope } = await requireBackendScope(flags.projectRoot);
  const result = await validateProviders(scope, projectRoot, { offline: flags.offline });
  if (flags.json) io.stdout(JSON.stringify(result, null, 2));
  else for (const line of describeProviders(result)) io.stdout(line);
  return result.ok ? 0 : 1;
}

export function register(providers: Command): Command {
  return providers
    .command('validate')
    .description(
      'check STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, RESEND_API_KEY and OPENAI_API_KEY in the backend env files: present, well formed, ' +
        'and the Stripe key accepted by Stripe (one authenticated read; honours STRIPE_API_BASE). Keys are shown masked.',
    )
    .addOption(projectRootOption())
    .option('--offline', 'format checks only: do not call Stripe')
    .option('--json', 'print the result as JSON (and nothing else)')
    .addHelpText('after', REPORT_EXIT_HELP)
    .action(action((flags: ProvidersFlags) => providersValidateCommand(flags)));
}
