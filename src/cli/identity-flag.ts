import { displayIdentity, normalizeIdentity } from '../release/identity';
import { CliError } from './errors';

/**
 * A person's name from a flag: cleaned (NFKC, invisible characters removed, trimmed) and never
 * empty or invisible, which would switch four-eyes off. Bad input: exit 2.
 */
export function identityFlag(flag: string, value: string | undefined): string {
  const name = displayIdentity(value ?? '');
  if (!normalizeIdentity(name)) {
    throw new CliError(`${flag} "${value ?? ''}": give a person's name (it is empty or only invisible characters); four-eyes compares it with the approver`);
  }
  if (name.length > 100) throw new CliError(`${flag}: a name of at most 100 characters`);
  return name;
}
