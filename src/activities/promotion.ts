/**
 * Promotion (issue 17), read from Temporal: the release history is the source of truth. For each
 * required environment the worker lists the environment's release runs and its rollbacks through
 * visibility, then reads the results (summaries) of the runs at this release's git SHA.
 *
 * Only built-in attributes are queried (WorkflowType, WorkflowId, ExecutionStatus), so it works
 * whether or not the DbRelease* search attributes are registered: one release per environment
 * runs under `db-release-<environment>`, and the git SHA is in every run's memo. Cost per required
 * environment: one visibility page of its newest completed releases (at most RUNS_READ), one page
 * of its rollbacks, and one history fetch per release run at the same SHA (at most RESULTS_READ).
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { durationMs } from '../release/duration';
import { judgePromotion, type ReleaseRun } from '../release/promotion';
import type { PromotionPolicy, PromotionRecord, ReleaseSummary } from '../release/types';
import { RELEASE_WORKFLOW_TYPE, releaseWorkflowId, ROLLBACK_WORKFLOW_TYPE } from '../workflows/messages';

/** Newest completed release runs read per environment. */
export const RUNS_READ = 50;
/** Summaries read per environment (runs at this release's SHA, newest first). */
export const RESULTS_READ = 10;

const SAFE_ID = /^[A-Za-z0-9_.:-]+$/;

async function listAll(client: Client, query: string, max: number): Promise<WorkflowExecutionInfo[]> {
  const out: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query, pageSize: Math.min(max, 100) })) {
    out.push(info);
    if (out.length >= max) break;
  }
  return out;
}

/** The state of a rollback run: running, or its result's status, or how it ended without one. */
async function rollbackState(client: Client, info: WorkflowExecutionInfo): Promise<string> {
  if (info.status.name === 'RUNNING') return 'running';
  if (info.status.name !== 'COMPLETED') return info.status.name.toLowerCase();
  const result = (await client.workflow
    .getHandle(info.workflowId, info.runId, { followRuns: false })
    .result()) as { status?: unknown };
  return typeof result?.status === 'string' ? result.status : 'completed';
}

/** The runs of one environment this judgement needs, read from Temporal. */
export async function readReleaseRuns(
  client: Client,
  environment: string,
  gitSha: string | null,
): Promise<ReleaseRun[]> {
  const workflowId = releaseWorkflowId(environment);
  if (!SAFE_ID.test(workflowId)) return [];
  const releases = await listAll(
    client,
    `WorkflowType = '${RELEASE_WORKFLOW_TYPE}' AND WorkflowId = '${workflowId}' AND ExecutionStatus = 'Completed'`,
    RUNS_READ,
  );
  const rollbacks = await listAll(
    client,
    `WorkflowType = '${ROLLBACK_WORKFLOW_TYPE}' AND WorkflowId = '${workflowId}'`,
    RUNS_READ,
  );
  // Newest first: the first rollback seen for a release run is its latest.
  const rollbackOf = new Map<string, WorkflowExecutionInfo>();
  for (const info of rollbacks.sort((a, b) => b.startTime.getTime() - a.startTime.getTime())) {
    const of = info.memo?.rollbackOf;
    if (typeof of === 'string' && !rollbackOf.has(of)) rollbackOf.set(of, info);
  }
  const runs: ReleaseRun[] = [];
  let read = 0;
  for (const info of releases.sort((a, b) => (b.closeTime?.getTime() ?? 0) - (a.closeTime?.getTime() ?? 0))) {
    const memoSha = typeof info.memo?.gitSha === 'string' && info.memo.gitSha ? info.memo.gitSha : null;
    const run: ReleaseRun = {
      workflowId: info.workflowId,
      runId: info.runId,
      gitSha: memoSha,
      closedAt: info.closeTime?.toISOString() ?? null,
      summary: null,
      rollback: null,
    };
    if (gitSha && memoSha === gitSha && read < RESULTS_READ) {
      read += 1;
      const summary = (await client.workflow
        .getHandle(info.workflowId, info.runId, { followRuns: false })
        .result()) as ReleaseSummary;
      run.gitSha = summary.git_sha ?? memoSha;
      run.summary = {
        status: summary.status,
        revisions: summary.alembic_revisions ?? [],
        finishedAt: summary.finished_at,
      };
      const rollback = rollbackOf.get(info.runId);
      if (rollback) run.rollback = { runId: rollback.runId, state: await rollbackState(client, rollback) };
    }
    runs.push(run);
  }
  return runs;
}

/** Reads every required environment's runs and judges them (src/release/promotion.ts). */
export async function checkPromotion(
  client: Client,
  question: { policy: PromotionPolicy; gitSha: string | null; revisions: string[]; now?: Date },
): Promise<PromotionRecord> {
  const runs: Record<string, ReleaseRun[]> = {};
  for (const environment of question.policy.requires)
    runs[environment] = await readReleaseRuns(client, environment, question.gitSha);
  const maxAge = durationMs(question.policy.maxAge, '"7 days"');
  if ('error' in maxAge) throw new Error(`promotion.maxAge "${question.policy.maxAge}": ${maxAge.error}`);
  return judgePromotion({
    policy: question.policy,
    gitSha: question.gitSha,
    revisions: question.revisions,
    maxAgeMs: maxAge.ms,
    now: question.now ?? new Date(),
    runs,
  });
}
