/**
 * Promotion (issue 17), the pure decision: an environment's policy names the environments that
 * must have released the same thing first. "The same thing" is the same git SHA reaching the same
 * revision set (the script heads the new release migrates to). What counts is a release that
 * finished `success`, was not undone by a later `release rollback`, and finished within maxAge.
 * The runs come from Temporal (src/activities/promotion.ts); this module only judges them, so the
 * activity, the workflow's plan and the unit tests share one rule.
 */
import { sameRevisionSet, setText } from './revisions';
import type { PromotionEvidence, PromotionMissing, PromotionPolicy, PromotionRecord } from './types';
import type { GatePromotion } from '../workflows/messages';

/** Longest override reason kept (history, plan, summary). */
export const OVERRIDE_REASON_MAX = 500;

/** One release run of a required environment, as read from Temporal. */
export interface ReleaseRun {
  workflowId: string;
  runId: string;
  /** From the run's memo (upserted at preflight); null when it has none. */
  gitSha: string | null;
  /** When the run closed (ISO); null while it runs. */
  closedAt: string | null;
  /**
   * The summary's status and reached revision set, when the result was read (only runs at the
   * SHA asked about are read); null: not read, or the run did not complete with a summary.
   */
  summary: { status: string; revisions: string[]; finishedAt: string | null } | null;
  /** The latest `release rollback` of this run: its state (rolled_back, rollback_failed, running, refused...). */
  rollback: { runId: string; state: string } | null;
}

export interface PromotionQuestion {
  policy: PromotionPolicy;
  /** This release's git SHA (null: the worker's checkout has none, so nothing can match). */
  gitSha: string | null;
  /** The revision set this release reaches: the script heads. */
  revisions: string[];
  maxAgeMs: number;
  now: Date;
  /** Runs of each required environment, any order. */
  runs: Readonly<Record<string, readonly ReleaseRun[]>>;
}

/** A rollback in these states undid (or is undoing) the release: it no longer counts. */
const UNDOING = new Set(['rolled_back', 'rollback_failed', 'running']);

const short = (sha: string | null) => (sha ? sha.slice(0, 12) : 'unknown');

/** The command that would satisfy a missing environment, run against that environment's worker. */
export function promotionCommand(environment: string, gitSha: string | null): string {
  return (
    `db-release release db --environment ${environment} --project-root <${environment} checkout at git ${short(gitSha)}> ` +
    `--task-queue <the queue of the worker that serves ${environment}>`
  );
}

function age(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 48
    ? `${Math.floor(hours / 24)} days`
    : hours >= 1
      ? `${Math.floor(hours)} hours`
      : `${Math.max(0, Math.floor(ms / 60_000))} minutes`;
}

/** Judges one environment: the qualifying run, or what was found instead (the closest miss). */
export function judgeEnvironment(
  environment: string,
  q: Omit<PromotionQuestion, 'runs' | 'policy'> & { maxAge: string },
  runs: readonly ReleaseRun[],
): { satisfiedBy: PromotionEvidence } | { missing: PromotionMissing } {
  const command = promotionCommand(environment, q.gitSha);
  const missing = (found: string) => ({ missing: { environment, found, command } });
  if (!q.gitSha)
    return missing(
      "this release has no git SHA (the worker's checkout is not a git repository), so no release can be matched to it",
    );
  const newest = [...runs].sort(
    (a, b) =>
      Date.parse(b.closedAt ?? b.summary?.finishedAt ?? '') -
      Date.parse(a.closedAt ?? a.summary?.finishedAt ?? ''),
  );
  const sameSha = newest.filter((r) => r.gitSha === q.gitSha);
  const finished = (r: ReleaseRun) => r.summary?.finishedAt ?? r.closedAt;
  const succeeded = sameSha.filter((r) => r.summary?.status === 'success');
  const sameSet = succeeded.filter((r) => r.summary && sameRevisionSet(r.summary.revisions, q.revisions));
  const notUndone = sameSet.filter((r) => !(r.rollback && UNDOING.has(r.rollback.state)));
  const inTime = notUndone.filter((r) => {
    const at = Date.parse(finished(r) ?? '');
    return Number.isFinite(at) && q.now.getTime() - at <= q.maxAgeMs;
  });
  const ok = inTime[0];
  if (ok) {
    return {
      satisfiedBy: {
        environment,
        workflow_id: ok.workflowId,
        run_id: ok.runId,
        finished_at: finished(ok) ?? '',
      },
    };
  }
  const sha = short(q.gitSha);
  const tooOld = notUndone[0];
  if (tooOld) {
    return missing(
      `${environment}'s release of git ${sha} (run ${tooOld.runId}) finished ${finished(tooOld) ?? 'at an unknown time'}, ` +
        `${age(q.now.getTime() - Date.parse(finished(tooOld) ?? ''))} ago, older than the maxAge of ${q.maxAge}`,
    );
  }
  const undone = sameSet[0];
  if (undone?.rollback) {
    const how =
      undone.rollback.state === 'running'
        ? 'is being rolled back'
        : `was rolled back (${undone.rollback.state})`;
    return missing(
      `${environment}'s release of git ${sha} (run ${undone.runId}) ${how} by run ${undone.rollback.runId}`,
    );
  }
  const otherSet = succeeded[0];
  if (otherSet?.summary) {
    return missing(
      `${environment}'s release of git ${sha} (run ${otherSet.runId}) reached revision set ${setText(otherSet.summary.revisions)}, ` +
        `not ${setText(q.revisions)} as this release would`,
    );
  }
  const notSuccess = sameSha[0];
  if (notSuccess) {
    return missing(
      `${environment}'s release of git ${sha} (run ${notSuccess.runId}) ended ${notSuccess.summary?.status ?? 'without a successful summary'}, not success`,
    );
  }
  const latest = newest[0];
  if (latest) {
    return missing(
      `${environment} has no release of git ${sha}; its latest release (run ${latest.runId}${latest.closedAt ? `, ${latest.closedAt}` : ''}) ` +
        `is at git ${short(latest.gitSha)}`,
    );
  }
  return missing(`${environment} has no completed release in Temporal (workflow db-release-${environment})`);
}

/** Judges every required environment; the override is filled in by the workflow after approval. */
export function judgePromotion(q: PromotionQuestion): PromotionRecord {
  const satisfied: PromotionEvidence[] = [];
  const missing: PromotionMissing[] = [];
  for (const environment of q.policy.requires) {
    const verdict = judgeEnvironment(
      environment,
      { ...q, maxAge: q.policy.maxAge },
      q.runs[environment] ?? [],
    );
    if ('satisfiedBy' in verdict) satisfied.push(verdict.satisfiedBy);
    else missing.push(verdict.missing);
  }
  return {
    required: [...q.policy.requires],
    max_age: q.policy.maxAge,
    git_sha: q.gitSha,
    revisions: [...q.revisions].sort(),
    satisfied_by: satisfied,
    missing,
    override: null,
  };
}

/** The refusal: each missing environment, what was found instead, the command that satisfies it, and the override. */
export function promotionRefusal(environment: string, record: PromotionRecord): string {
  const each = record.missing.map((m) => `${m.environment}: ${m.found}; to satisfy it: ${m.command}`);
  return (
    `release refused, nothing was changed: promotion to ${environment} requires a successful, not rolled back release of git ${short(record.git_sha)} ` +
    `reaching revision set ${setText(record.revisions)} in ${record.required.join(', ')} within ${record.max_age}; missing ${record.missing.map((m) => m.environment).join(', ')}. ` +
    `${each.join('. ')}. To go ahead without it, start the release with --override-promotion "<reason>": an approver must acknowledge the override`
  );
}

/** Checks an override reason from the CLI: null when fine, else what is wrong. */
export function overrideReasonProblem(reason: string): string | null {
  const text = reason.trim();
  if (!text)
    return '--override-promotion needs a reason, e.g. --override-promotion "hotfix: staging is down (INC-123)"';
  if (text.length > OVERRIDE_REASON_MAX)
    return `--override-promotion: the reason is longer than ${OVERRIDE_REASON_MAX} characters`;
  return null;
}

/**
 * What the gate shows and an approval must acknowledge: set only when promotion is missing
 * something and the release was started with --override-promotion (else preflight refused it).
 */
export function gatePromotionOf(
  record: PromotionRecord | undefined,
  reason: string | undefined,
  startedBy: string,
): GatePromotion | null {
  if (!record || record.missing.length === 0 || !reason) return null;
  return {
    required: [...record.required],
    missing: record.missing.map((m) => ({ ...m })),
    overrideReason: reason,
    requestedBy: startedBy,
  };
}

/** `release status` lines about promotion, from the summary: what satisfied it, what was missing, the override. */
export function promotionLines(record: PromotionRecord): string[] {
  const lines = [
    `promotion: requires ${record.required.join(', ')} (git ${short(record.git_sha)}, revision set ${setText(record.revisions)}, within ${record.max_age})`,
  ];
  for (const s of record.satisfied_by)
    lines.push(`promotion: ${s.environment} satisfied by run ${s.run_id} (finished ${s.finished_at})`);
  for (const m of record.missing) lines.push(`promotion: ${m.environment} missing: ${m.found}`);
  if (record.override)
    lines.push(
      `promotion: overridden, approved by ${record.override.by} (requested by ${record.override.requested_by}: ${record.override.reason})`,
    );
  return lines;
}

/** The PromotionRecord a PromotionRequired failure carries in its details, or null. */
export function promotionOfFailure(cause: unknown): PromotionRecord | null {
  const details = (cause as { details?: unknown[] } | null)?.details;
  const record = Array.isArray(details) ? (details[0] as Partial<PromotionRecord> | undefined) : undefined;
  return record &&
    Array.isArray(record.required) &&
    Array.isArray(record.missing) &&
    Array.isArray(record.satisfied_by)
    ? (record as PromotionRecord)
    : null;
}
