/**
 * Finding the release `release show` shows (any release, running or long finished, also one that
 * ended while no CLI was attached), and the three artifacts the runbook's "Evidence Capture" asks
 * for: the summary, a Markdown report, and the full Temporal history (replayable).
 */
import type { Client } from '@temporalio/client';
import { historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { renderReleaseReport } from '../release/report';
import { RELEASE_WORKFLOW_TYPE } from '../workflows/messages';
import { CliError } from './errors';
import type { EvidenceFiles, ShownRelease } from './release-output';
import { describeRelease, releaseIdOf, releaseSummary, rollbackNoteOf, rollbackOfRun } from './release-runs';

/** Finds the run (the latest unless one is named) and checks it is a release. */
export async function findRelease(
  client: Client,
  idOrEnvironment: string,
  runId?: string,
): Promise<ShownRelease> {
  const workflowId = releaseIdOf(idOrEnvironment);
  const description = await describeRelease(client, workflowId, runId);
  const undone = runId ? null : rollbackOfRun(description);
  if (undone) {
    // The latest run is a rollback (done, refused or running): show the release it is about.
    const rollback = await rollbackNoteOf(client, workflowId, description.runId);
    const summary = await releaseSummary(client, workflowId, undone);
    return { summary, workflowId, runId: undone, rollback };
  }
  if (description.type !== RELEASE_WORKFLOW_TYPE) {
    throw new CliError(
      `run ${description.runId} of ${workflowId} is a ${description.type}, not a release; pass --run-id of the release (db-release release list)`,
    );
  }
  const summary = await releaseSummary(client, workflowId, description.runId);
  return { summary, workflowId, runId: description.runId };
}

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
}
interface PatchedRoot {
  lookupType(name: string): unknown;
}

/**
 * A history as the proto JSON the `temporal` CLI writes and replayers read. The SDK's own
 * `historyToJSON` is tried first; when npm installs two copies of protobufjs 8 (one under
 * @temporalio/common, one under @temporalio/proto, as happens beside grpc's protobufjs 7) it throws
 * "type must be a Type" on an `instanceof` across the copies, so the same conversion is then done
 * with the protobufjs copy that @temporalio/proto itself loads.
 */
export function historyJson(history: History): string {
  try {
    return historyToJSON(history);
  } catch (error) {
    if (!/must be a Type/.test((error as Error).message)) throw error;
    const protojson = createRequire(require.resolve('@temporalio/proto'))(
      'protobufjs/ext/protojson',
    ) as ProtoJson;
    const type = (
      patchProtobufRoot(proto as unknown as Record<string, unknown>) as unknown as PatchedRoot
    ).lookupType('temporal.api.history.v1.History');
    return JSON.stringify(
      protojson.toJson(type, proto.temporal.api.history.v1.History.fromObject(history)),
      null,
      2,
    );
  }
}

/**
 * Writes summary.json, report.md and history.json into `dir`. The history is the proto JSON the
 * `temporal` CLI and the SDKs' replayers read (`temporal workflow show --output json` shape).
 */
export async function writeEvidence(
  client: Client,
  shown: ShownRelease,
  dir: string,
): Promise<EvidenceFiles> {
  const history = await client.workflow.getHandle(shown.workflowId, shown.runId).fetchHistory();
  await mkdir(dir, { recursive: true });
  const files: EvidenceFiles = {
    summary: path.join(dir, 'summary.json'),
    report: path.join(dir, 'report.md'),
    history: path.join(dir, 'history.json'),
  };
  await writeFile(files.summary, `${JSON.stringify(shown.summary, null, 2)}\n`);
  await writeFile(files.report, renderReleaseReport(shown.summary));
  await writeFile(files.history, `${historyJson(history)}\n`);
  return files;
}
