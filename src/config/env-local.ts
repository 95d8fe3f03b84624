/**
 * Rewrites `.env.local` in place: the named keys get new values (or are removed with `null`),
 * every other line stays byte for byte, including comments, blank lines and line endings.
 */
export function rewriteEnvText(text: string, updates: Readonly<Record<string, string | null>>): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const pending = new Map(Object.entries(updates));
  const lines = text === '' ? [] : text.split(/(?<=\n)/); // keep each line's own terminator
  const out: string[] = [];
  for (const line of lines) {
    const match = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_.-]*)(\s*=)/.exec(line);
    const key = match?.[2];
    if (key === undefined || !Object.hasOwn(updates, key)) {
      out.push(line);
      continue;
    }
    const value = updates[key];
    // A repeated key keeps only its first line: the last one would otherwise win when read.
    if (!pending.delete(key)) continue;
    if (value === null || value === undefined) continue; // removed
    const terminator = /\r?\n$/.exec(line)?.[0] ?? '';
    out.push(`${match?.[1] ?? ''}${key}${match?.[3] ?? '='}${formatEnvValue(value)}${terminator}`);
  }
  const additions = [...pending.entries()].filter((entry): entry is [string, string] => entry[1] !== null);
  if (additions.length > 0) {
    if (out.length > 0 && !/\n$/.test(out[out.length - 1] ?? '')) out.push(eol);
    for (const [key, value] of additions) out.push(`${key}=${formatEnvValue(value)}${eol}`);
  }
  return out.join('');
}

/** Values with spaces, quotes or `#` are single-quoted; compact JSON is left bare as the backend expects. */
export function formatEnvValue(value: string): string {
  return /[\s#]/.test(value) || /^['"]/.test(value) ? `'${value}'` : value;
}
