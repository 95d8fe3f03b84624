/** `db-release config dump-schema`: every setting the tool reads, its default, whether it is secret, and where this backend has it. */
import type { Command } from 'commander';
import { describeSchema, dumpSchema, type FlagOption } from '../config-schema';
import { requireBackendScope } from '../input';
import { action, out, projectRootOption, REPORT_EXIT_HELP } from '../program';

/** The flags of `release db`, read from the program the command belongs to (no import of that command). */
export function releaseDbFlags(command: Command): FlagOption[] {
  let root = command;
  while (root.parent) root = root.parent;
  const releaseDb = root.commands
    .find((c) => c.name() === 'release')
    ?.commands.find((c) => c.name() === 'db');
  return (releaseDb?.options ?? []).map((o) => ({
    flags: o.flags,
    long: o.long,
    description: o.description,
    envVar: o.envVar,
    defaultValue: o.defaultValue as unknown,
  }));
}

/** 0 dumped; 2 no project root or env file. Secrets masked, URL passwords redacted. */
export async function configDumpSchemaCommand(
  flags: { projectRoot?: string; json?: boolean },
  command: Command,
): Promise<number> {
  const { projectRoot, scope } = await requireBackendScope(flags.projectRoot);
  const dump = await dumpSchema(projectRoot, scope, releaseDbFlags(command));
  if (flags.json) out(JSON.stringify(dump, null, 2));
  else for (const line of describeSchema(dump)) out(line);
  return 0;
}

export function register(config: Command): Command {
  return config
    .command('dump-schema')
    .description(
      'every setting db-release reads (env vars, release.config.json keys, release db flags) with its default and whether it is secret, ' +
        'and for the backend where each value was found; secrets masked, URL passwords redacted',
    )
    .addOption(projectRootOption())
    .option('--json', 'print the result as JSON (and nothing else)')
    .addHelpText('after', REPORT_EXIT_HELP)
    .action(action(configDumpSchemaCommand));
}
