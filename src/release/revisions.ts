/**
 * The revision state of a database as a set, pure so the workflows, the CLI and the activities
 * share it. `alembic_version` holds one row per applied branch head: a branched backend has
 * several, and a release and its compensation must name them all.
 */
import type { PendingRevision } from './types';

/**
 * The revision state of a database is a SET: `alembic_version` holds one row per applied branch
 * head. The legacy summary keys (`pre_release_revision`, `alembic_revision`) hold one id, or the
 * ids joined by "," when several; null for an empty set (base).
 */
export function revisionSetText(set: readonly string[]): string | null {
  return set.length > 0 ? [...set].sort().join(',') : null;
}

/** Reads a legacy single-revision text back into a set: "a,b" or "a (head)" or null. */
export function revisionSetOf(text: string | null | undefined): string[] {
  if (!text) return [];
  return text
    .split(',')
    .map((part) => part.trim().split(/\s+/)[0] ?? '')
    .filter((id) => /^[A-Za-z0-9_.-]+$/.test(id))
    .sort();
}

export function sameRevisionSet(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((id, i) => id === y[i]);
}

/**
 * Pending revisions whose downgrade is known to raise: a compensation over them would stop
 * half-way. An `empty` downgrade (`pass` after an upgrade that changes something, typically a
 * data backfill) runs and leaves its change in place: the plan shows it, but it blocks nothing.
 */
export function unready(pending: readonly PendingRevision[]): PendingRevision[] {
  return pending.filter((r) => r.downgrade?.status === 'raises');
}

/**
 * The `alembic downgrade` targets that bring a database from `current` back to exactly `target`:
 * one downgrade per member of the target set not already a row (Alembic's downgrade takes one
 * target and only removes that target's descendants, so the other branches stay), `base` for an
 * empty set. The caller reads the set back after each and compares.
 */
export function downgradeTargets(target: readonly string[], current: readonly string[]): string[] {
  if (sameRevisionSet(target, current)) return [];
  if (target.length === 0) return ['base'];
  const rows = new Set(current);
  return [...new Set(target)].sort().filter((rev) => !rows.has(rev));
}

/** One line about a pending revision for plans and reports: id, message, graph role, downgrade readiness. */
export function describeRevision(r: PendingRevision): string {
  const role = r.isMerge
    ? ` [merge of ${(r.downRevisions ?? []).join(' + ')}]`
    : r.isBranchPoint
      ? ' [branch point]'
      : '';
  const deps = r.dependsOn && r.dependsOn.length > 0 ? ` [depends on ${r.dependsOn.join(', ')}]` : '';
  const down =
    r.downgrade && r.downgrade.status !== 'ok'
      ? ` (downgrade ${r.downgrade.status}${r.downgrade.detail ? `: ${r.downgrade.detail}` : ''})`
      : '';
  return `${r.revision} ${r.message}${role}${deps}${down}`.replace(/\s+$/, '');
}

/**
 * The before/after sets of a summary, also one written before the sets existed (its single ids,
 * `alembic current` text included, read back as sets).
 */
export function summaryRevisionSets(summary: {
  pre_release_revision: string | null;
  alembic_revision: string | null;
  pre_release_revisions?: string[];
  alembic_revisions?: string[];
}): { before: string[]; after: string[] } {
  // An empty set beside a single id is a summary assembled without the sets: the id wins.
  const pick = (set: string[] | undefined, single: string | null) =>
    set && (set.length > 0 || !single) ? set : revisionSetOf(single);
  return {
    before: pick(summary.pre_release_revisions, summary.pre_release_revision),
    after: pick(summary.alembic_revisions, summary.alembic_revision),
  };
}

/** A set as operators read it: `base`, one id, or `{a, b}`. */
export function setText(set: readonly string[]): string {
  if (set.length === 0) return 'base';
  if (set.length === 1) return set[0] as string;
  return `{${[...set].sort().join(', ')}}`;
}

/** The exact commands that bring a database at `current` back to `target`, for manual actions. */
export function downgradeCommands(
  alembicCommand: readonly string[],
  target: readonly string[],
  current: readonly string[],
): string[] {
  return downgradeTargets(target, current).map((t) => [...alembicCommand, 'downgrade', t].join(' '));
}

/**
 * The pending revisions a database at `current` has applied: the members of the set and their
 * ancestors within the pending graph (down revisions and depends_on). A release that failed
 * half-way applied only some; only those have to be undone.
 */
export function appliedOf(
  pending: readonly PendingRevision[],
  current: readonly string[],
): PendingRevision[] {
  const byId = new Map(pending.map((r) => [r.revision, r]));
  const seen = new Set<string>();
  const stack = current.filter((id) => byId.has(id));
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const r = byId.get(id);
    for (const parent of [...(r?.downRevisions ?? []), ...(r?.dependsOn ?? [])])
      if (byId.has(parent)) stack.push(parent);
  }
  return pending.filter((r) => seen.has(r.revision));
}

/** Why a downgrade over these revisions is known to stop half-way, or null when none is known. */
export function downgradeBlocker(revisions: readonly PendingRevision[]): string | null {
  const blockers = unready(revisions);
  if (blockers.length === 0) return null;
  return blockers
    .map((r) => `${r.revision} (downgrade raises: ${r.downgrade?.detail ?? 'an exception'})`)
    .join('; ');
}

/**
 * What a plan line adds after `<revision>  <message>`: the revision's place in the graph and a
 * downgrade that is not ready; empty for a plain revision (and for revisions recorded before).
 */
export function revisionNotes(r: PendingRevision): string {
  const notes = [
    r.isMerge ? `merge of ${(r.downRevisions ?? []).join(' + ')}` : null,
    r.isBranchPoint ? 'branch point' : null,
    r.dependsOn && r.dependsOn.length > 0 ? `depends on ${r.dependsOn.join(', ')}` : null,
    r.downgrade && r.downgrade.status !== 'ok'
      ? `downgrade ${r.downgrade.status}${r.downgrade.detail ? `: ${r.downgrade.detail}` : ''}`
      : null,
  ].filter((n): n is string => n !== null);
  return notes.length > 0 ? `  [${notes.join('; ')}]` : '';
}
