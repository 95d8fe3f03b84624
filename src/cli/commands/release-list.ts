/** `db-release release list`: recent releases from Temporal visibility, with a later rollback's outcome. */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Command } from 'commander';
import { ROLLBACK_WORKFLOW_TYPE } from '../../workflows/messages';
import {
  releaseEnvironmentAttribute,
  releaseGitShaAttribute,
  releaseStartedByAttribute,
  releaseStatusAttribute,
} from '../../workflows/search-attributes';
import type { TemporalFlags } from '../connection';
import { CliError } from '../errors';
import { action, err, out, temporalOptions, withClient } from '../program';
import { rollbackNoteOf, type ReleaseList, type ReleaseListRow } from '../release-runs';
import {
  checkListFilter,
  releaseAttributesRegistered,
  releaseListQuery,
  type ListFilter,
} from '../search-attributes';
import { releaseListLines } from '../status-lines';

export async function listReleases(
  client: Client,
  filter: ListFilter = {},
  limit = 20,
): Promise<ReleaseList> {
  const indexed = await releaseAttributesRegistered(client);
  // A release undone by a later rollback is still indexed `success` (a closed run's attributes
  // cannot change): asking for rolled_back / rollback_failed also reads successful releases and
  // keeps those whose rollback says so.
  const undone =
    filter.status === 'rolled_back' || filter.status === 'rollback_failed' ? filter.status : null;
  const query =
    undone && indexed
      ? `${releaseListQuery({ ...filter, status: undefined }, indexed)} AND DbReleaseStatus IN ('${undone}', 'success')`
      : releaseListQuery(filter, indexed);
  const fetchLimit = undone ? Math.min(limit * 5, 500) : limit;
  const rows: ReleaseListRow[] = [];
  const executions: AsyncIterable<WorkflowExecutionInfo> = client.workflow.list({
    query,
    pageSize: Math.min(fetchLimit, 100),
  });
  for await (const info of executions) {
    const attributes = info.typedSearchAttributes;
    rows.push({
      workflowId: info.workflowId,
      runId: info.runId,
      environment:
        attributes.get(releaseEnvironmentAttribute) ?? (info.memo?.environment as string | undefined) ?? null,
      status: attributes.get(releaseStatusAttribute) ?? info.status.name,
      executionStatus: info.status.name,
      gitSha: attributes.get(releaseGitShaAttribute) ?? ((info.memo?.gitSha as string | undefined) || null),
      startedBy:
        attributes.get(releaseStartedByAttribute) ?? (info.memo?.startedBy as string | undefined) ?? null,
      startTime: info.startTime.toISOString(),
      closeTime: info.closeTime?.toISOString() ?? null,
    });
    if (rows.length >= fetchLimit) break;
  }
  await noteRollbacks(client, rows);
  return { rows: undone ? rows.filter((r) => r.status === undone).slice(0, limit) : rows, query, indexed };
}

/**
 * A rollback runs under the release's workflow id but cannot change the finished release's search
 * attributes, so the list reads the rollbacks' outcomes: a release undone by a later rollback
 * lists as `rolled_back` (or `rollback_failed`), with the rollback's run beside it.
 */
async function noteRollbacks(client: Client, rows: ReleaseListRow[]): Promise<void> {
  const ids = [...new Set(rows.map((r) => r.workflowId))].filter((id) => /^[A-Za-z0-9_.:-]+$/.test(id));
  if (ids.length === 0) return;
  const query = `WorkflowType = '${ROLLBACK_WORKFLOW_TYPE}' AND (${ids.map((id) => `WorkflowId = '${id}'`).join(' OR ')})`;
  // Newest first: the first rollback seen for a release run is its latest.
  const latest = new Map<string, WorkflowExecutionInfo>();
  try {
    for await (const info of client.workflow.list({ query, pageSize: 100 })) {
      const of = info.memo?.rollbackOf;
      if (typeof of === 'string' && !latest.has(of)) latest.set(of, info);
      if (latest.size >= 100) break;
    }
  } catch {
    return; // the list still shows the releases; only the rollback column is missing
  }
  for (const row of rows) {
    const info = latest.get(row.runId);
    if (!info) continue;
    const note = await rollbackNoteOf(client, info.workflowId, info.runId).catch(() => null);
    if (!note) continue;
    row.rollback = note;
    if (note.state === 'rolled_back' || note.state === 'rollback_failed') row.status = note.state;
  }
}

export interface ListFlags extends TemporalFlags {
  limit: string;
  json?: boolean;
  environment?: string;
  status?: string;
}

/** 0 listed (also when nothing matches, said on stderr); 2 bad filter or limit. */
export async function releaseListCommand(flags: ListFlags): Promise<number> {
  const limit = Number(flags.limit);
  if (!/^\d+$/.test(flags.limit.trim()) || !Number.isInteger(limit) || limit < 1)
    throw new CliError(`--limit "${flags.limit}": use a whole number of at least 1`);
  checkListFilter({ environment: flags.environment, status: flags.status });
  return withClient(flags, async (client) => {
    const list = await listReleases(client, { environment: flags.environment, status: flags.status }, limit);
    if (flags.json) {
      out(JSON.stringify(list, null, 2));
      return 0;
    }
    if (!list.indexed)
      err(
        'note: the DbRelease* search attributes are not registered; run `db-release temporal register-search-attributes` to index new releases',
      );
    for (const line of releaseListLines(list.rows)) out(line);
    if (list.rows.length === 0) err(`no releases match ${list.query}`);
    return 0;
  });
}

export function register(release: Command): Command {
  return temporalOptions(
    release
      .command('list')
      .description('recent releases from Temporal visibility: environment, status, git SHA, who, when')
      .option('--environment <name>', 'only this environment')
      .option(
        '--status <status>',
        'only this release status: running, awaiting_approval, success, rolled_back, rejected...',
      )
      .option('--limit <n>', 'how many', '20')
      .option('--json', 'print JSON'),
  ).action(action(releaseListCommand));
}
