/** `db-release temporal register-search-attributes`: the DbRelease* Keyword attributes `release list` filters on. */
import type { Command } from 'commander';
import type { TemporalFlags } from '../connection';
import { action, err, temporalOptions, withClient } from '../program';
import { registerSearchAttributes } from '../search-attributes';

/** 0 registered or already there; 2 the namespace cannot be changed with these credentials. */
export async function registerSearchAttributesCommand(flags: TemporalFlags): Promise<number> {
  return withClient(flags, async (client) => {
    const added = await registerSearchAttributes(client);
    err(
      added.length > 0
        ? `registered ${added.join(', ')} in namespace ${client.options.namespace}`
        : `all DbRelease* search attributes already registered in ${client.options.namespace}`,
    );
    return 0;
  });
}

export function register(temporal: Command): Command {
  return temporalOptions(
    temporal
      .command('register-search-attributes')
      .description(
        'register the DbRelease* Keyword search attributes release list filters on (the embedded dev server has them already)',
      ),
  ).action(action(registerSearchAttributesCommand));
}
