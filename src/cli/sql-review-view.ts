/**
 * `release status`: the SQL under review, whole. The risk flags first (revision, rule, statement),
 * then each pending revision's upgrade and downgrade SQL as Alembic's offline mode rendered it, or
 * why it could not be rendered.
 */
import { sqlReviewHeadline, type SqlReview } from '../release/sql-review';
import type { ReleaseStatusView } from '../workflows/messages';

/** The review of a status view: the summary holds it once preflight has read the SQL. */
export function sqlReviewOf(view: Pick<ReleaseStatusView, 'summary'>): SqlReview | null {
  return view.summary.sql_review ?? null;
}

export function sqlReviewLines(review: SqlReview | null): string[] {
  if (!review) return [];
  const lines = [`sql review: ${sqlReviewHeadline(review)}`];
  if (review.decision.reason) lines.push(`sql review: ${review.decision.reason}`);
  for (const f of review.flags) lines.push(`flag ${f.kind} (${f.rule}) in ${f.revision}: ${f.statement}`);
  for (const r of review.revisions) {
    for (const [label, sql, why] of [
      ['upgrade', r.upgrade, r.upgradeUnavailable],
      ['downgrade', r.downgrade, r.downgradeUnavailable],
    ] as const) {
      if (sql === null) {
        lines.push(`sql ${label} ${r.revision}: SQL unavailable: ${why ?? 'not rendered'}`);
        continue;
      }
      lines.push(`sql ${label} ${r.revision}:`);
      for (const line of sql.trimEnd().split('\n')) if (line.trim()) lines.push(`    ${line}`);
    }
  }
  return lines;
}

/** The lines `release status` adds for a release view (none before preflight read the SQL). */
export function statusSqlReviewLines(view: Pick<ReleaseStatusView, 'summary'>): string[] {
  return sqlReviewLines(sqlReviewOf(view));
}

/** `release approve` / the gate lines: the headline and each flag (the whole SQL is in `release status`). */
export function gateSqlReviewLines(review: SqlReview | undefined, workflowId: string): string[] {
  if (!review) return [];
  return [
    `sql review: ${sqlReviewHeadline(review)}`,
    ...review.flags.map((f) => `  flag ${f.kind} (${f.rule}) in ${f.revision}: ${f.statement}`),
    `  the SQL whole: db-release release status ${workflowId}`,
  ];
}
