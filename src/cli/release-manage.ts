import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { ReleaseSummary } from '../release/types';
import { decideUpdate, releaseWorkflowId, RELEASE_WORKFLOW_TYPE, statusQuery, type ReleaseStatusView } from '../workflows/messages';
import { summaryFromFailure } from './release-db';
import { CliError } from './errors';

/** Accepts a workflow id or an environment name (whose release id is derived from it). */
export function releaseIdOf(idOrEnvironment: string): string {
  return idOrEnvironment.startsWith('db-release-') ? idOrEnvironment : releaseWorkflowId(idOrEnvironment);
}

export async function releaseStatus(client: Client, idOrEnvironment: string): Promise<ReleaseStatusView> {
  const handle = client.workflow.getHandle(releaseIdOf(idOrEnvironment));
  try {
    return await handle.query(statusQuery);
  } catch (error) {
    const message = (error as Error).message;
    if (/not found/i.test(message)) throw new CliError(`no release ${releaseIdOf(idOrEnvironment)}: check the id or environment`, 1);
    throw error;
  }
}

export async function decide(
  client: Client,
  idOrEnvironment: string,
  decision: 'approve' | 'reject',
  approver: string,
  comment: string | undefined,
) {
  const handle = client.workflow.getHandle(releaseIdOf(idOrEnvironment));
  try {
    return await handle.executeUpdate(decideUpdate, { args: [{ decision, approver, comment: comment ?? null }] });
  } catch (error) {
    const e = error as Error & { cause?: Error };
    throw new CliError(`${decision} refused: ${e.cause?.message ?? e.message}`, 1);
  }
}

export async function cancelRelease(client: Client, idOrEnvironment: string): Promise<void> {
  await client.workflow.getHandle(releaseIdOf(idOrEnvironment)).cancel();
}

export interface ReleaseListRow {
  workflowId: string;
  runId: string;
  environment: string | null;
  status: string;
  gitSha: string | null;
  startedBy: string | null;
  startTime: string;
  closeTime: string | null;
}

export async function listReleases(client: Client, limit = 20): Promise<ReleaseListRow[]> {
  const rows: ReleaseListRow[] = [];
  const executions: AsyncIterable<WorkflowExecutionInfo> = client.workflow.list({ query: `WorkflowType = '${RELEASE_WORKFLOW_TYPE}'` });
  for await (const info of executions) {
    rows.push({
      workflowId: info.workflowId,
      runId: info.runId,
      environment: (info.memo?.environment as string | undefined) ?? null,
      status: info.status.name,
      gitSha: (info.memo?.gitSha as string | undefined) || null,
      startedBy: (info.memo?.startedBy as string | undefined) ?? null,
      startTime: info.startTime.toISOString(),
      closeTime: info.closeTime?.toISOString() ?? null,
    });
    if (rows.length >= limit) break;
  }
  return rows;
}

/** The summary of a release, running or finished, also one that ended while no CLI was watching. */
export async function releaseSummary(client: Client, idOrEnvironment: string, runId?: string): Promise<ReleaseSummary> {
  const handle = client.workflow.getHandle(releaseIdOf(idOrEnvironment), runId);
  const description = await handle.describe();
  if (description.status.name === 'RUNNING') return (await handle.query(statusQuery)).summary;
  try {
    return (await handle.result()) as ReleaseSummary;
  } catch (error) {
    const summary = summaryFromFailure(error);
    if (summary) return summary;
    throw new CliError(`release ${handle.workflowId} ended ${description.status.name} without a summary`, 1);
  }
}
