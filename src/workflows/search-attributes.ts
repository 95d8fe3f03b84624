/**
 * The custom search attributes a release is indexed under, so `release list` (and the Web UI's
 * filter box) can find releases by environment, release status, git SHA and who started them:
 *
 *   DbReleaseEnvironment = 'production' AND DbReleaseStatus = 'awaiting_approval'
 *
 * The embedded dev server registers them at start; another server needs them registered once
 * (`db-release temporal register-search-attributes`). A release started where they are missing
 * still runs: the CLI then tells the workflow not to upsert them, and `release list` falls back
 * to the workflow id and memo.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { ReleaseStatus } from '../release/types';

export const releaseEnvironmentAttribute = defineSearchAttributeKey(
  'DbReleaseEnvironment',
  SearchAttributeType.KEYWORD,
);
/** running, awaiting_approval, then the summary's final status (success, rolled_back, rejected...). */
export const releaseStatusAttribute = defineSearchAttributeKey(
  'DbReleaseStatus',
  SearchAttributeType.KEYWORD,
);
export const releaseGitShaAttribute = defineSearchAttributeKey(
  'DbReleaseGitSha',
  SearchAttributeType.KEYWORD,
);
export const releaseStartedByAttribute = defineSearchAttributeKey(
  'DbReleaseStartedBy',
  SearchAttributeType.KEYWORD,
);

export const RELEASE_SEARCH_ATTRIBUTES = [
  releaseEnvironmentAttribute,
  releaseStatusAttribute,
  releaseGitShaAttribute,
  releaseStartedByAttribute,
] as const;

/** A release's status as indexed: the summary's status, plus the live states before it ends. */
export type IndexedReleaseStatus = ReleaseStatus | 'awaiting_approval' | 'compensating';
