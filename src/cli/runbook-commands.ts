import type { Command } from 'commander';

/**
 * The runbook's other commands (stripe setup, providers validate, status summary,
 * config dump-schema, release show). Registered on the program by src/client.ts.
 */
export function registerRunbookCommands(_program: Command, _release: Command): void {
  // filled in by the commands' own modules
}
