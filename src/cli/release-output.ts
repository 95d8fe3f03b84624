/**
 * What `release status` and `release show` print about a release, in one place: the status as
 * JSON or as lines, and the shown summary (or the evidence files written). A new part of a
 * release to display (a step's SQL, say) is added here and reaches both commands.
 */
import type { RollbackNote } from '../workflows/messages';
import type { ReleaseSummary } from '../release/types';
import type { LatestStatus } from './release-runs';
import { statusSqlReviewLines } from './sql-review-view';
import { describeRollback, describeStatus, rollbackNoteLine } from './status-lines';

/** Lines to print, split by stream: results on stdout, notes about them on stderr. */
export interface Output {
  stdout: string[];
  stderr: string[];
}

/** `release status`: the JSON view (`--json`) or a heading and the status lines. */
export function statusOutput(workflowId: string, status: LatestStatus, json: boolean): Output {
  if (json)
    return {
      stdout: [
        JSON.stringify(
          status.kind === 'release' ? status.view : { kind: 'rollback', ...status.view },
          null,
          2,
        ),
      ],
      stderr: [],
    };
  if (status.kind === 'rollback') return { stdout: describeRollback(status.view), stderr: [] };
  return {
    stdout: [
      `${workflowId}: ${status.view.summary.status}, current step ${status.view.currentStep ?? 'none'}`,
      ...describeStatus(status.view).map((line) => `  ${line}`),
      ...statusSqlReviewLines(status.view).map((line) => `  ${line}`),
    ],
    stderr: [],
  };
}

/** A release as `release show` finds it: its summary, and a later rollback of it when there is one. */
export interface ShownRelease {
  summary: ReleaseSummary;
  workflowId: string;
  runId: string;
  /** When the latest run is a rollback of this release (no --run-id given): that rollback. */
  rollback?: RollbackNote;
}

export interface EvidenceFiles {
  summary: string;
  report: string;
  history: string;
}

/** `release show`: the summary JSON, or with --evidence the files written; a later rollback noted first. */
export function showOutput(shown: ShownRelease, evidence?: EvidenceFiles): Output {
  const stderr = shown.rollback ? [rollbackNoteLine(shown.runId, shown.rollback)] : [];
  if (!evidence) return { stdout: [JSON.stringify(shown.summary, null, 2)], stderr };
  return {
    stdout: [evidence.summary, evidence.report, evidence.history],
    stderr: [...stderr, `evidence of ${shown.workflowId} run ${shown.runId} (${shown.summary.status}):`],
  };
}
