/**
 * What Alembic's command-line tool prints, parsed: pure, so the CLI (`status summary`) reads it
 * without loading the activities.
 */

/** Alembic prints its own INFO logging to stderr; those lines are never the answer. */
export function meaningfulLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^(INFO|DEBUG|WARNI?N?G?)\s+\[/.test(l));
}

/** `alembic current` output as the original kept it: trimmed stdout, or stderr when stdout is empty. */
export function currentOutput(stdout: string, stderr: string): string | null {
  const out = meaningfulLines(stdout).join('\n') || meaningfulLines(stderr).join('\n');
  return out || null;
}

/** The bare revision id from `20251107_090000 (head)`; null on an empty database. */
export function revisionId(output: string | null): string | null {
  if (!output) return null;
  const first = meaningfulLines(output)[0];
  const id = first?.split(/\s+/)[0];
  return id && /^[A-Za-z0-9_]+$/.test(id) ? id : null;
}

/** `alembic heads` lists one line per head: `<rev> (head)`. */
export function parseHeads(stdout: string): string[] {
  return meaningfulLines(stdout)
    .map((l) => l.split(/\s+/)[0] ?? '')
    .filter((id) => /^[A-Za-z0-9_]+$/.test(id));
}
