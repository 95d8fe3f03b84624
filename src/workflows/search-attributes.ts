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

/** Every DbRelease* attribute is a Keyword (exact match in visibility queries). */
const keyword = (name: string) => defineSearchAttributeKey(name, SearchAttributeType.KEYWORD);

export const releaseEnvironmentAttribute = keyword('DbReleaseEnvironment');
/** running, awaiting_approval, then the summary's final status (success, rolled_back, rejected...). */
export const releaseStatusAttribute = keyword('DbReleaseStatus');
export const releaseGitShaAttribute = keyword('DbReleaseGitSha');
export const releaseStartedByAttribute = keyword('DbReleaseStartedBy');

export const RELEASE_SEARCH_ATTRIBUTES = [
  releaseEnvironmentAttribute,
  releaseStatusAttribute,
  releaseGitShaAttribute,
  releaseStartedByAttribute,
] as const;

/** A release's status as indexed: the summary's status, plus the live states before it ends. */
export type IndexedReleaseStatus = ReleaseStatus | 'awaiting_approval' | 'compensating';
