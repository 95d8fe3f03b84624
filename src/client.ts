#!/usr/bin/env node
/**
 * The `db-release` command line. Each command is one file in src/cli/commands/, named after it
 * (`release approve` is commands/release-approve.ts), exporting its handler and `register(parent)`;
 * this file only assembles them under their groups and turns a failed parse into an exit code.
 */
import { Command, CommanderError } from 'commander';
import { err, exitQuietlyOnClosedPipe, EXIT_HELP, unexpectedErrorLines } from './cli/program';
import { EXIT_CODES } from './release/summary';

interface CommandModule {
  register(parent: Command): Command;
}

/*
 * Each command's module, loaded only when it is registered: `release status` then loads what
 * status needs and not, say, the config schema (zod) and pg that `release db` brings (issue 15).
 * `require` keeps buildProgram synchronous; the paths are the command files, one per command.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const load = (file: string) => (): CommandModule => require(`./cli/commands/${file}`) as CommandModule;
const RELEASE_COMMANDS: Readonly<Record<string, () => CommandModule>> = {
  db: load('release-db'),
  status: load('release-status'),
  watch: load('release-watch'),
  approve: load('release-approve'),
  reject: load('release-reject'),
  cancel: load('release-cancel'),
  list: load('release-list'),
  rollback: load('release-rollback'),
  show: load('release-show'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Top-level groups: a group's description and the commands under it (or the command itself). */
const GROUPS: ReadonlyArray<{ name: string; description?: string; commands: () => CommandModule[] }> = [
  // `worker` registers only: the worker SDK and the activities load when the command runs.
  { name: 'worker', commands: () => [load('worker')()] },
  {
    name: 'release',
    description: 'start, watch, approve and audit releases',
    commands: () => Object.values(RELEASE_COMMANDS).map((l) => l()),
  },
  {
    name: 'temporal',
    description: 'prepare a Temporal namespace for releases',
    commands: () => [load('temporal-register-search-attributes')()],
  },
  {
    name: 'stripe',
    description: "Stripe plan seeding (the runbook's Option B step 2)",
    commands: () => [load('stripe-setup')()],
  },
  {
    name: 'providers',
    description: 'provider keys of the backend',
    commands: () => [load('providers-validate')()],
  },
  { name: 'status', description: 'release readiness', commands: () => [load('status-summary')()] },
  { name: 'config', description: 'settings of this tool', commands: () => [load('config-dump-schema')()] },
];

/**
 * The program with every command, or, given the words of a command line, with only the command
 * it names when that is unambiguous (`release status ...`, `worker ...`): the rest is not loaded.
 * Words naming no command (`--help`, nothing) give the groups by name and description only.
 * `config dump-schema` reads the `release db` flags from the program tree, so it gets them all.
 */
export function buildProgram(words?: readonly string[]): Command {
  const program = new Command('db-release')
    .description('Database release runbook as a durable, approvable Temporal workflow')
    .addHelpText('after', EXIT_HELP)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  const [first, second] = words ?? [];
  if (words !== undefined && (first === undefined || first.startsWith('-'))) {
    // The top-level help lists the groups by name and description only: none of their commands loads.
    for (const g of GROUPS) {
      if (g.name === 'worker') for (const m of g.commands()) m.register(program);
      else program.command(g.name).description(g.description ?? '');
    }
    return program;
  }
  const group = GROUPS.find((g) => g.name === first && first !== 'config');
  const releaseCommand = first === 'release' && second !== undefined ? RELEASE_COMMANDS[second] : undefined;
  const chosen = group ? [group] : GROUPS;
  for (const g of chosen) {
    if (g.name === 'worker') {
      for (const m of g.commands()) m.register(program);
      continue;
    }
    const parent = program.command(g.name);
    if (g.description) parent.description(g.description);
    const modules = g.name === 'release' && releaseCommand && group ? [releaseCommand()] : g.commands();
    for (const m of modules) m.register(parent);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe();
  try {
    await buildProgram(argv.slice(2)).parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode =
        error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0
          ? 0
          : EXIT_CODES.badInput;
      return;
    }
    for (const line of unexpectedErrorLines(error)) err(line);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  void main(process.argv);
}
