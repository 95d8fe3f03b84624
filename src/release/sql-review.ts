/**
 * The SQL under review (issue 17): each pending revision's upgrade and downgrade SQL, rendered by
 * Alembic's own offline mode in preflight, linted with Squawk, and the risk flags the approver must
 * see, with the environment's policy for them. Pure: no I/O here, so workflow code may import it.
 */

/** The risks the review names; each maps one or more Squawk rules. */
export const SQL_FLAG_KINDS = [
  'drop',
  'type-change',
  'not-null-without-default',
  'non-concurrent-index',
  'table-lock-constraint',
  'rename',
] as const;
export type SqlFlagKind = (typeof SQL_FLAG_KINDS)[number];

export const SQL_FLAG_LABELS: Record<SqlFlagKind, string> = {
  drop: 'table or column drop',
  'type-change': 'column type change',
  'not-null-without-default': 'NOT NULL without a default on an existing table',
  'non-concurrent-index': 'index build or drop that is not concurrent',
  'table-lock-constraint': 'constraint that locks or validates the whole table',
  rename: 'table or column rename',
};

/** Squawk (2.x) rule name -> flag. Rules not listed (robustness, timeouts, style) are not risk flags. */
export const SQUAWK_RULES: Readonly<Record<string, SqlFlagKind>> = {
  'ban-drop-column': 'drop',
  'ban-drop-table': 'drop',
  'ban-drop-database': 'drop',
  'ban-truncate-cascade': 'drop',
  'changing-column-type': 'type-change',
  'adding-required-field': 'not-null-without-default',
  'require-concurrent-index-creation': 'non-concurrent-index',
  'require-concurrent-index-deletion': 'non-concurrent-index',
  'constraint-missing-not-valid': 'table-lock-constraint',
  'adding-foreign-key-constraint': 'table-lock-constraint',
  'disallowed-unique-constraint': 'table-lock-constraint',
  'adding-not-nullable-field': 'table-lock-constraint',
  'adding-serial-primary-key-field': 'table-lock-constraint',
  'adding-primary-key-constraint': 'table-lock-constraint',
  'renaming-column': 'rename',
  'renaming-table': 'rename',
};

export interface SqlFlag {
  revision: string;
  kind: SqlFlagKind;
  /** The Squawk rule that fired. */
  rule: string;
  /** The statement it fired on, as rendered (bounded). */
  statement: string;
  /** Squawk's own message. */
  message: string;
}

export interface RevisionSql {
  revision: string;
  /** The SQL `alembic upgrade --sql` renders for this revision; null when unavailable (see why). */
  upgrade: string | null;
  upgradeUnavailable: string | null;
  downgrade: string | null;
  downgradeUnavailable: string | null;
}

export type SqlReviewAction = 'allow' | 'require-approval' | 'refuse';

export interface SqlReviewPolicy {
  /** What any flag does, unless its kind has its own entry in `rules`. */
  flags: SqlReviewAction;
  rules: Partial<Record<SqlFlagKind, SqlReviewAction>>;
}

export interface SqlReview {
  revisions: RevisionSql[];
  /** Why no SQL could be rendered at all (no offline mode, timed out, CLI fallback); null otherwise. */
  unavailable: string | null;
  flags: SqlFlag[];
  /** Squawk: its version, or why it did not lint (then flags is empty and says nothing). */
  lint: { tool: 'squawk'; version: string | null; unavailable: string | null };
  policy: SqlReviewPolicy;
  /** The policy applied to the flags: what this release must do. */
  decision: { action: SqlReviewAction; reason: string | null };
}

export const DEFAULT_SQL_REVIEW_POLICY = (environment: string): SqlReviewPolicy => ({
  flags: environment === 'production' ? 'require-approval' : 'allow',
  rules: {},
});

/** One row of `squawk --reporter json` (0-based lines). */
export interface SquawkViolation {
  file: string;
  line: number;
  line_end?: number;
  column?: number;
  column_end?: number;
  level?: string;
  message: string;
  help?: string | null;
  rule_name: string;
}

const STATEMENT_CHARS = 400;

/** The statement text at Squawk's 0-based lines [line, line_end] of `sql`, one line, bounded. */
export function statementAt(sql: string, line: number, lineEnd: number | undefined): string {
  const lines = sql.split(/\r?\n/);
  const text = lines
    .slice(line, (lineEnd ?? line) + 1)
    .map((l) => l.trim())
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > STATEMENT_CHARS ? `${text.slice(0, STATEMENT_CHARS - 1)}…` : text;
}

/**
 * Squawk's JSON (run over one file per revision, `fileToRevision` naming them) -> flags in revision
 * order, one per (revision, statement, rule). Throws on output that is not Squawk's JSON array.
 */
export function flagsFromSquawk(
  stdout: string,
  fileToRevision: ReadonlyMap<string, { revision: string; sql: string }>,
  order: readonly string[],
): SqlFlag[] {
  const parsed: unknown = JSON.parse(stdout.trim() || '[]');
  if (!Array.isArray(parsed)) throw new Error('squawk printed JSON that is not a list of violations');
  const flags: SqlFlag[] = [];
  const seen = new Set<string>();
  for (const raw of parsed as SquawkViolation[]) {
    if (typeof raw?.rule_name !== 'string' || typeof raw.line !== 'number')
      throw new Error('squawk printed a violation without rule_name/line');
    const kind = SQUAWK_RULES[raw.rule_name];
    if (!kind) continue;
    const source =
      fileToRevision.get(raw.file) ??
      [...fileToRevision.entries()].find(([f]) => raw.file.endsWith(f) || f.endsWith(raw.file))?.[1];
    if (!source) continue;
    const statement = statementAt(source.sql, raw.line, raw.line_end);
    const key = `${source.revision}\u0000${raw.line}\u0000${raw.rule_name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    flags.push({ revision: source.revision, kind, rule: raw.rule_name, statement, message: raw.message });
  }
  const rank = new Map(order.map((r, i) => [r, i]));
  return flags.sort((a, b) => (rank.get(a.revision) ?? 0) - (rank.get(b.revision) ?? 0));
}

const STRENGTH: Record<SqlReviewAction, number> = { allow: 0, 'require-approval': 1, refuse: 2 };

/**
 * The strongest action any flag calls for under the policy. SQL that could not be rendered or
 * linted is not "no flags": under a policy that is not `allow`, it needs an approver's eyes.
 */
export function decideSqlReview(
  flags: readonly SqlFlag[],
  policy: SqlReviewPolicy,
  coverage: { complete: boolean; why: string | null },
): SqlReview['decision'] {
  let action: SqlReviewAction = 'allow';
  const by: Record<SqlReviewAction, SqlFlag[]> = { allow: [], 'require-approval': [], refuse: [] };
  for (const flag of flags) {
    const a = policy.rules[flag.kind] ?? policy.flags;
    by[a].push(flag);
    if (STRENGTH[a] > STRENGTH[action]) action = a;
  }
  if (action === 'refuse')
    return { action, reason: `refused by the SQL review policy: ${flagList(by.refuse)}` };
  if (action === 'require-approval')
    return {
      action,
      reason: `approval required by the SQL review policy: ${flagList(by['require-approval'])}`,
    };
  if (!coverage.complete && policy.flags !== 'allow') {
    return {
      action: 'require-approval',
      reason: `approval required by the SQL review policy: the SQL could not be reviewed in full (${coverage.why ?? 'unavailable'})`,
    };
  }
  return { action: 'allow', reason: null };
}

/** `drop (ban-drop-column) in 0002_x: ALTER TABLE …` for each flag, joined. */
export function flagList(flags: readonly SqlFlag[]): string {
  return flags.map((f) => `${f.kind} (${f.rule}) in ${f.revision}: ${f.statement}`).join('; ');
}

/** Counts per kind, in the fixed kind order: `2 drop, 1 rename`. */
export function flagCounts(flags: readonly SqlFlag[]): string {
  const parts = SQL_FLAG_KINDS.map((k) => [k, flags.filter((f) => f.kind === k).length] as const).filter(
    ([, n]) => n > 0,
  );
  return parts.length ? parts.map(([k, n]) => `${n} ${k}`).join(', ') : 'no flags';
}

/** One line for the approver: what was rendered and flagged. */
export function sqlReviewHeadline(review: SqlReview): string {
  const rendered = review.revisions.filter((r) => r.upgrade !== null).length;
  const sql = review.unavailable
    ? `SQL unavailable: ${review.unavailable}`
    : `SQL of ${rendered} of ${review.revisions.length} pending revision(s) rendered offline`;
  const lint = review.lint.unavailable
    ? `not linted: ${review.lint.unavailable}`
    : `${review.flags.length} risk flag(s) (${flagCounts(review.flags)})`;
  return `${sql}; ${lint}; policy: ${review.decision.action}`;
}

/** Bounds a revision's SQL for the plan (it travels in workflow history); the full text stays in the worker's log. */
export function boundSql(sql: string | null, max = 32_000): string | null {
  if (sql === null || sql.length <= max) return sql;
  return `${sql.slice(0, max)}\n-- … ${sql.length - max} more characters not kept here (history size); the whole SQL: alembic upgrade/downgrade <range> --sql in the backend`;
}

/** Where the whole review is printed: the CLI command for a release's workflow id. */
export const sqlReviewCommand = (workflowId: string) => `db-release release status ${workflowId}`;

/** The approver's summary in the Web UI details: counts and flags, and the command printing the SQL whole. */
export function sqlReviewDetails(review: SqlReview, workflowId: string): string {
  const lines = [`SQL review: ${sqlReviewHeadline(review)}`];
  const shown = review.flags.slice(0, 20);
  for (const f of shown)
    lines.push(`- **${f.kind}** (${f.rule}) in \`${f.revision}\`: \`${f.statement.replace(/`/g, "'")}\``);
  if (review.flags.length > shown.length)
    lines.push(`- … ${review.flags.length - shown.length} more flag(s)`);
  for (const r of review.revisions) {
    if (r.upgrade === null)
      lines.push(`- \`${r.revision}\`: SQL unavailable: ${r.upgradeUnavailable ?? 'not rendered'}`);
  }
  // The flags are listed above; a reason without flags (the SQL could not be reviewed) is said.
  if (review.decision.reason && review.flags.length === 0) lines.push(`Policy: ${review.decision.reason}`);
  lines.push(
    `The whole SQL (upgrade and downgrade of every pending revision): \`${sqlReviewCommand(workflowId)}\``,
  );
  return lines.join('\n');
}

/** report.md's section: the flags, then each revision's upgrade and downgrade SQL. */
export function sqlReviewReportLines(review: SqlReview): string[] {
  const out: string[] = ['## SQL review', '', sqlReviewHeadline(review), ''];
  if (review.decision.reason) out.push(`Policy (${review.policy.flags}): ${review.decision.reason}`, '');
  if (review.flags.length > 0) {
    out.push('| Revision | Flag | Rule | Statement |', '| --- | --- | --- | --- |');
    for (const f of review.flags)
      out.push(
        `| \`${f.revision}\` | ${f.kind} | ${f.rule} | \`${f.statement.replace(/\|/g, '\\|').replace(/`/g, "'")}\` |`,
      );
    out.push('');
  }
  for (const r of review.revisions) {
    out.push(`### ${r.revision}`, '');
    for (const [label, sql, why] of [
      ['Upgrade', r.upgrade, r.upgradeUnavailable],
      ['Downgrade', r.downgrade, r.downgradeUnavailable],
    ] as const) {
      if (sql === null) out.push(`${label}: SQL unavailable: ${why ?? 'not rendered'}`, '');
      else out.push(`${label}:`, '', '```sql', sql.trimEnd(), '```', '');
    }
  }
  return out;
}
