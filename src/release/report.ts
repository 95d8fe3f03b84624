/**
 * The release evidence as Markdown, for the release record or the change ticket: what the
 * runbook's "Evidence Capture" asks an operator to attach, from the summary alone. Pure: the
 * same summary always gives the same text, and nothing here reads a clock, a file or a secret.
 */
import { downgradeBlocker, summaryRevisionSets } from './revisions';
import { formatMoney } from './money';
import { STEPS, type StepDefinition } from './steps';
import { promotionLines } from './promotion';
import { sqlReviewReportLines } from './sql-review';
import type { PendingRevision, ProvisionedPlan, ReleaseSummary, StepRecord } from './types';

/** The report that goes next to a summary file: `db-release-x.json` → `db-release-x.md`. */
export function reportPathFor(summaryPath: string): string {
  return summaryPath.replace(/\.json$/i, '') + '.md';
}

/** A table cell: pipes escaped, line breaks kept as `<br>`, empty as an em dash. */
function cell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  return String(value).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

function code(value: string | null | undefined): string {
  if (!value) return '—';
  const fence = value.includes('`') ? '``' : '`';
  return `${fence}${value.replace(/\|/g, '\\|')}${fence}`;
}

function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  return `${minutes} min ${seconds} s`;
}

/** `9900` in usd → `99.00 USD (9900)`: the minor units the flag took and what a customer pays. */
export function formatAmount(amount: number, currency: string): string {
  return `${formatMoney(amount, currency)} (${amount})`;
}

/** The runbook's steps (the registry's order) that an ended release never started. */
function notStartedSteps(summary: ReleaseSummary): StepDefinition[] {
  if (summary.status === 'running') return [];
  const started = new Set<string>(summary.steps.map((s) => s.name));
  return STEPS.filter((s) => !started.has(s.name));
}

function stepRows(steps: readonly StepRecord[]): string[][] {
  return steps.map((s) => [
    code(s.name),
    `**${s.status}**`,
    cell(s.started_at),
    cell(s.ended_at),
    cell(formatDuration(s.duration_ms)),
    cell(s.detail),
  ]);
}

function stripeRows(plans: readonly ProvisionedPlan[], currency: string): string[][] {
  return plans.map((p) => [
    code(p.code),
    cell(formatAmount(p.amount, currency)),
    code(p.productId),
    cell(p.productAction + (p.previousProductName ? ` (was "${p.previousProductName}")` : '')),
    code(p.priceId),
    cell(p.priceAction),
    code(p.lookupKey),
    p.previousPriceId ? `${code(p.previousPriceId)}${p.previousPriceArchived ? ' (archived)' : ''}` : '—',
  ]);
}

function preflightSucceeded(summary: ReleaseSummary): boolean {
  return summary.steps.some((s) => s.name === 'preflight' && s.status === 'success');
}

export function renderReleaseReport(summary: ReleaseSummary): string {
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);

  push(`# Database release: ${summary.environment ?? 'unknown environment'} — ${summary.status}`, '');
  push(
    ...table(
      ['', ''],
      [
        ['Status', `**${summary.status}**`],
        ['Environment', cell(summary.environment)],
        ['Workflow', `${code(summary.workflow_id)} run ${code(summary.run_id)}`],
        ['Started by', cell(summary.started_by)],
        ['Executed at', cell(summary.executed_at)],
        ['Finished at', cell(summary.finished_at ?? (summary.status === 'running' ? 'still running' : null))],
        ['Duration', cell(formatDuration(summary.duration_ms))],
        [
          'Git',
          summary.git_sha
            ? `${code(summary.git_sha)}${summary.git_tag ? ` (tag ${code(summary.git_tag)})` : ''}`
            : '—',
        ],
        [
          'Options',
          cell(
            Object.entries(summary.options)
              .map(([k, v]) => `${k}=${String(v)}`)
              .join(', '),
          ),
        ],
      ],
    ),
    '',
  );

  push('## Steps', '');
  if (summary.steps.length === 0) push('No step started.', '');
  else
    push(...table(['Step', 'Status', 'Started', 'Ended', 'Duration', 'Detail'], stepRows(summary.steps)), '');
  const notStarted = notStartedSteps(summary);
  if (notStarted.length > 0)
    push(`Not started: ${notStarted.map((s) => `${code(s.name)} (${s.title})`).join(', ')}.`, '');

  push('## Plan', '');
  if (summary.pending_revisions.length === 0) {
    push(
      preflightSucceeded(summary)
        ? 'No pending revision: the database was at head.'
        : 'Not known: the pre-flight checks did not complete.',
      '',
    );
  } else {
    push('Pending revisions, in the order they were to be applied:', '');
    for (const r of summary.pending_revisions) push(`- ${revisionLine(r)}`);
    push('');
    const blocker = downgradeBlocker(summary.pending_revisions);
    if (blocker)
      push(`**Rollback readiness: not ready.** ${blocker}: its schema cannot be undone automatically.`, '');
  }

  if (summary.sql_review) push(...sqlReviewReportLines(summary.sql_review));

  if (summary.promotion) {
    // Issue 17: which releases of the required environments let this one through, or the override.
    push('## Promotion', '');
    for (const line of promotionLines(summary.promotion)) push(`- ${line.replace(/^promotion: /, '')}`);
    push('');
  }

  push('## Approval', '');
  if (!summary.approval) push('No decision recorded (approval not required, or not reached).', '');
  else {
    const a = summary.approval;
    push(
      `**${a.decision}** by ${cell(a.approver)} at ${cell(a.at)} via ${a.via}${a.comment ? `: ${a.comment}` : ''}`,
      '',
    );
  }

  push('## Alembic revisions', '');
  // Sets: a branched database has one row per applied branch head (summaries from before the
  // sets existed have only the single ids).
  const sets = summaryRevisionSets(summary);
  const before =
    sets.before.length > 0
      ? sets.before.map((r) => code(r)).join(', ')
      : preflightSucceeded(summary)
        ? 'base (empty database)'
        : '—';
  const after =
    sets.after.length > 0 ? sets.after.map((r) => code(r)).join(', ') : code(summary.alembic_revision);
  push(...table(['Before the release', 'After the release'], [[before, after]]), '');

  push('## Stripe', '');
  if (!summary.stripe) {
    const step = summary.steps.find((s) => s.name === 'stripe_setup');
    push(
      step?.status === 'skipped'
        ? `Skipped: ${step.detail ?? 'no reason given'}.`
        : 'No Stripe object was provisioned.',
      '',
    );
  } else {
    push(`Currency ${code(summary.stripe.currency)}, monthly, ${summary.stripe.trial_days} trial days.`, '');
    push(
      ...table(
        [
          'Plan',
          'Amount',
          'Product',
          'Product action',
          'Price',
          'Price action',
          'Lookup key',
          'Previous price',
        ],
        stripeRows(summary.stripe.plans, summary.stripe.currency),
      ),
      '',
    );
  }
  if (summary.stripe_price_map)
    push(`\`STRIPE_PRODUCT_PRICE_MAP\`: ${code(JSON.stringify(summary.stripe_price_map))}`, '');
  push(
    `Secrets (masked): \`STRIPE_SECRET_KEY\` ${code(summary.secrets.stripe_secret_key)}, \`STRIPE_WEBHOOK_SECRET\` ${code(summary.secrets.stripe_webhook_secret)}`,
    '',
  );

  push('## Billing plans', '');
  if (summary.billing_plans.length === 0) push('Not verified in this release.', '');
  else
    push(
      ...table(
        ['Code', 'Status', 'Stripe price id', 'Active'],
        summary.billing_plans.map((p) => [
          code(p.code),
          `**${p.status}**`,
          code(p.stripe_price_id),
          p.is_active ? 'yes' : 'no',
        ]),
      ),
      '',
    );

  if (summary.compensations.length > 0) {
    push('## Compensations', '');
    push(
      ...table(
        ['Compensation', 'Status', 'Detail', 'Manual action'],
        summary.compensations.map((c) => [
          code(c.name),
          `**${c.status}**`,
          cell(c.detail),
          cell(c.manual_action),
        ]),
      ),
      '',
    );
    const manual = summary.compensations.filter((c) => c.manual_action);
    if (manual.length > 0) {
      push('**To do by hand:**', '');
      for (const c of manual) push(`- [ ] ${c.name}: ${c.manual_action ?? ''}`);
      push('');
    }
  }

  if (summary.error) {
    push('## Error', '');
    push(
      `Step ${code(summary.error.step ?? 'release')}${summary.error.type ? `, type ${code(summary.error.type)}` : ''}:`,
      '',
    );
    push('```text', summary.error.message.replace(/```/g, "'''"), '```', '');
  }

  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

/** A pending revision with its place in the graph and its downgrade readiness, when known. */
function revisionLine(r: PendingRevision): string {
  const role = r.isMerge
    ? ` (merge of ${(r.downRevisions ?? []).map((d) => code(d)).join(' + ')})`
    : r.isBranchPoint
      ? ' (branch point)'
      : '';
  const deps =
    r.dependsOn && r.dependsOn.length > 0
      ? ` (depends on ${r.dependsOn.map((d) => code(d)).join(', ')})`
      : '';
  const down =
    r.downgrade && r.downgrade.status !== 'ok'
      ? ` — downgrade **${r.downgrade.status}**${r.downgrade.detail ? `: ${cell(r.downgrade.detail)}` : ''}`
      : '';
  return `${code(r.revision)}${r.message ? ` ${r.message}` : ''}${role}${deps}${down}`;
}
