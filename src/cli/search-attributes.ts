/**
 * Finding releases through Temporal visibility: checking and registering the DbRelease* search
 * attributes, and the list query `release list` sends.
 */
import type { Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { RELEASE_WORKFLOW_TYPE } from '../workflows/messages';
import {
  RELEASE_SEARCH_ATTRIBUTES,
  releaseEnvironmentAttribute,
  releaseStartedByAttribute,
  releaseStatusAttribute,
  type IndexedReleaseStatus,
} from '../workflows/search-attributes';
import { CliError } from './errors';

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/** Which of the DbRelease* attributes the namespace lacks; null when the server will not say. */
export async function missingSearchAttributes(client: Client): Promise<string[] | null> {
  try {
    const response = await client.connection.operatorService.listSearchAttributes({
      namespace: client.options.namespace,
    });
    const custom = response.customAttributes ?? {};
    return RELEASE_SEARCH_ATTRIBUTES.filter((key) => custom[key.name] !== KEYWORD).map((key) => key.name);
  } catch {
    // Temporal Cloud API keys and restricted roles may not list attributes: treat as unindexed.
    return null;
  }
}

export async function releaseAttributesRegistered(client: Client): Promise<boolean> {
  const missing = await missingSearchAttributes(client);
  return missing !== null && missing.length === 0;
}

/**
 * The attributes a workflow of the tool starts with, or undefined when the namespace lacks them
 * (then nothing is indexed and the workflow must not upsert them either).
 */
export async function startAttributes(
  client: Client,
  fields: { environment: string; startedBy: string; status?: IndexedReleaseStatus },
): Promise<SearchAttributePair[] | undefined> {
  if (!(await releaseAttributesRegistered(client))) return undefined;
  const pairs: SearchAttributePair[] = [
    { key: releaseEnvironmentAttribute, value: fields.environment },
    { key: releaseStartedByAttribute, value: fields.startedBy },
  ];
  if (fields.status) pairs.push({ key: releaseStatusAttribute, value: fields.status });
  return pairs;
}

/**
 * Registers the missing DbRelease* attributes as Keyword (the embedded dev server has them from
 * its start; a self-hosted server needs this once per namespace). Returns what was added.
 */
export async function registerSearchAttributes(client: Client): Promise<string[]> {
  const missing = await missingSearchAttributes(client);
  if (missing === null) {
    throw new CliError(
      `cannot list search attributes of namespace ${client.options.namespace}: register ${RELEASE_SEARCH_ATTRIBUTES.map((k) => k.name).join(', ')} as Keyword by hand ` +
        '(temporal operator search-attribute create --name NAME --type Keyword, or the Temporal Cloud UI)',
    );
  }
  if (missing.length === 0) return [];
  try {
    await client.connection.operatorService.addSearchAttributes({
      namespace: client.options.namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])),
    });
  } catch (error) {
    throw new CliError(
      `registering ${missing.join(', ')} failed: ${(error as Error).message.split('\n')[0]}; this needs an operator (admin) role`,
    );
  }
  return missing;
}

export interface ListFilter {
  environment?: string;
  status?: string;
}

const SAFE_VALUE = /^[A-Za-z0-9_.:-]+$/;

/** Every value DbReleaseStatus takes; a Record so a new status cannot be left out of `--status`. */
const INDEXED_STATUSES: Readonly<Record<IndexedReleaseStatus, true>> = {
  running: true,
  awaiting_approval: true,
  compensating: true,
  success: true,
  failed: true,
  rejected: true,
  cancelled: true,
  rolled_back: true,
  rollback_failed: true,
};
export const RELEASE_LIST_STATUSES = Object.keys(INDEXED_STATUSES) as IndexedReleaseStatus[];

/** The filters of `release list`, checked before anything connects (exit 2 naming the flag). */
export function checkListFilter(filter: ListFilter): void {
  for (const [field, value] of [
    ['environment', filter.environment],
    ['status', filter.status],
  ] as const) {
    if (value !== undefined && !SAFE_VALUE.test(value)) {
      throw new CliError(`--${field} "${value}": use letters, digits, "_", "-", "." or ":" only`);
    }
  }
  // An unknown status would match nothing and look like "no releases": refuse it with the choices.
  if (filter.status !== undefined && !(RELEASE_LIST_STATUSES as readonly string[]).includes(filter.status)) {
    throw new CliError(
      `--status "${filter.status}": not a release status; use one of ${RELEASE_LIST_STATUSES.join(', ')}`,
    );
  }
}

/**
 * The visibility query for `release list`. With the attributes registered it filters on them;
 * without, an environment filter falls back to the workflow id (one id per environment) and a
 * status filter cannot be answered.
 */
export function releaseListQuery(filter: ListFilter, indexed: boolean): string {
  checkListFilter(filter);
  const clauses = [`WorkflowType = '${RELEASE_WORKFLOW_TYPE}'`];
  if (filter.environment) {
    clauses.push(
      indexed
        ? `DbReleaseEnvironment = '${filter.environment}'`
        : `WorkflowId = 'db-release-${filter.environment}'`,
    );
  }
  if (filter.status) {
    if (!indexed) {
      throw new CliError(
        '--status needs the DbRelease* search attributes, which this namespace lacks: run `db-release temporal register-search-attributes` (new releases are then indexed)',
      );
    }
    clauses.push(`DbReleaseStatus = '${filter.status}'`);
  }
  return clauses.join(' AND ');
}
