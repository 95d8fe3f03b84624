/**
 * `db-release release rollback <id-or-environment>`: undoes a completed release within the
 * rollback window by starting the rollbackRelease workflow under the release's workflow id.
 */
import type { Client } from '@temporalio/client';
import { Option, type Command } from 'commander';
import path from 'node:path';
import { durationMs } from '../../release/duration';
import { ErrorType } from '../../release/errors';
import { approvalPolicyFor } from '../../config/release-config';
import { EXIT_CODES } from '../../release/summary';
import type { ApprovalPolicy } from '../../release/types';
import { RELEASE_WORKFLOW_TYPE, ROLLBACK_WORKFLOW_TYPE } from '../../workflows/messages';
import type { rollbackRelease, RollbackResult } from '../../workflows/rollback-release';
import { resolveTemporalTarget, type TemporalFlags } from '../connection';
import { CliError } from '../errors';
import { openGate } from '../gate';
import { identityFlag, readBackendConfig, runIdFlag } from '../input';
import { action, err, out, temporalOptions, withClient } from '../program';
import { describeRelease, releaseIdOf, releaseSummary, rollbackNoteOf, rollbackOfRun } from '../release-runs';
import { startAttributes } from '../search-attributes';
import { startOnePerId } from '../start-run';
import { gateLines } from '../status-lines';
import { requireWorker } from '../worker-presence';

export interface RollbackFlags {
  projectRoot?: string;
  runId?: string;
  window?: string;
  operator?: string;
}

/**
 * `release rollback`: starts the rollbackRelease workflow for a completed release, under the
 * environment's workflow id so it cannot overlap a release of the same environment.
 */
export async function rollbackCommand(
  client: Client,
  idOrEnvironment: string,
  flags: RollbackFlags,
  taskQueue: string,
  show: (line: string) => void = () => undefined,
): Promise<RollbackResult> {
  const workflowId = releaseIdOf(idOrEnvironment);
  let description = await describeRelease(client, workflowId, runIdFlag(flags.runId));
  const undone = flags.runId ? null : rollbackOfRun(description);
  if (undone && description.status.name === 'RUNNING') {
    throw new CliError(
      `a rollback of ${workflowId} is running (run ${description.runId}); wait for it (db-release release watch ${workflowId})`,
      EXIT_CODES.alreadyRunning,
    );
  }
  if (undone) {
    // The latest run is an earlier rollback: one that did its work leaves nothing to undo; one that
    // was refused or rejected leaves the release as it was, so this one targets that release.
    const note = await rollbackNoteOf(client, workflowId, description.runId);
    if (note.state === 'rolled_back' || note.state === 'rollback_failed') {
      throw new CliError(
        `release run ${undone} of ${workflowId} was already rolled back by run ${description.runId} (${note.state}${note.detail ? `, ${note.detail}` : ''})` +
          (note.state === 'rollback_failed'
            ? '; finish it by hand as that rollback says (db-release release status)'
            : '; there is nothing left to undo'),
        EXIT_CODES.badInput,
      );
    }
    show(
      `the latest run of ${workflowId} is rollback run ${description.runId} (${note.state}); rolling back release run ${undone} again`,
    );
    description = await client.workflow.getHandle(workflowId, undone).describe();
  }
  if (description.type !== RELEASE_WORKFLOW_TYPE) {
    throw new CliError(
      `the latest run of ${workflowId} is a ${description.type}, not a release; pass --run-id of the release to roll back`,
    );
  }
  if (description.status.name === 'RUNNING') {
    throw new CliError(
      `release ${workflowId} is still running: cancel it instead (db-release release cancel ${workflowId})`,
      EXIT_CODES.alreadyRunning,
    );
  }
  const release = await releaseSummary(client, workflowId, description.runId);
  // A config that is there but broken is bad input, not a reason to fall back to the defaults.
  const config = await readBackendConfig(
    path.resolve(flags.projectRoot ?? process.env.DB_RELEASE_PROJECT_ROOT ?? '.'),
  );
  const window = flags.window ?? config?.rollbackWindow ?? '24 hours';
  const windowMs = durationMs(window);
  if ('error' in windowMs) throw new CliError(`--window "${window}": ${windowMs.error}`);
  // Checked here too, so a late request starts nothing; the workflow checks again with its own clock.
  if (
    release.status === 'success' &&
    release.finished_at &&
    Date.now() - Date.parse(release.finished_at) > windowMs.ms
  ) {
    throw new CliError(
      `rollback refused: release ${release.run_id} finished ${release.finished_at}, outside the rollback window of ${window}; roll back by hand`,
      EXIT_CODES.failed,
    );
  }
  const requestedBy = identityFlag(
    '--operator',
    flags.operator ?? process.env.DB_RELEASE_OPERATOR ?? process.env.USER ?? 'operator',
  );
  const environment = release.environment ?? '';
  // A schema downgrade is a production change: the environment's policy gates it like a release.
  const approval: ApprovalPolicy = config
    ? approvalPolicyFor(config, environment)
    : { required: environment === 'production', approvers: [], fourEyes: true, timeout: '24 hours' };
  await requireWorker(client, taskQueue, 'the rollback', { exitCode: EXIT_CODES.badInput });
  const run = await startOnePerId<typeof rollbackRelease>(
    client,
    ROLLBACK_WORKFLOW_TYPE,
    {
      taskQueue,
      workflowId,
      args: [{ release, requestedBy, window, approval }],
      memo: { environment, startedBy: requestedBy, rollbackOf: release.run_id },
      typedSearchAttributes: await startAttributes(client, { environment, startedBy: requestedBy }),
      staticSummary: `rollback of release ${release.run_id}`,
    },
    () =>
      new CliError(
        `a release or rollback of ${workflowId} is running; wait for it`,
        EXIT_CODES.alreadyRunning,
      ),
  );
  if (approval.required) {
    const gate = await openGate(
      client,
      workflowId,
      run.result().then(
        () => undefined,
        () => undefined,
      ),
    );
    if (gate?.planDigest) {
      for (const line of gateLines(gate, workflowId)) show(line);
    }
  }
  try {
    return await run.result();
  } catch (error) {
    const cause = (error as { cause?: { type?: string; message?: string } }).cause;
    if (cause?.type === ErrorType.RollbackRefused)
      throw new CliError(`rollback refused: ${cause.message ?? ''}`, EXIT_CODES.failed);
    if (cause?.type === ErrorType.Rejected)
      throw new CliError(`rollback not run: ${cause.message ?? ''}`, EXIT_CODES.failed);
    throw error;
  }
}

/** 0 rolled back; 1 refused or rejected; 2 bad input or no worker; 3 a run of the id is running; 4 rollback_failed. */
export async function releaseRollbackCommand(
  id: string,
  flags: TemporalFlags & RollbackFlags & { json?: boolean },
): Promise<number> {
  return withClient(flags, async (client) => {
    const result = await rollbackCommand(client, id, flags, resolveTemporalTarget(flags).taskQueue, err);
    if (flags.json) out(JSON.stringify(result, null, 2));
    err(`rollback of ${result.release_run_id}: ${result.status}`);
    for (const c of result.compensations)
      err(
        `  ${c.name}: ${c.status}${c.detail ? ` - ${c.detail}` : ''}${c.manual_action ? ` (by hand: ${c.manual_action})` : ''}`,
      );
    return result.status === 'rolled_back' ? EXIT_CODES.success : EXIT_CODES.rollbackFailed;
  });
}

export function register(release: Command): Command {
  return temporalOptions(
    release
      .command('rollback <id-or-environment>')
      .description(
        'undo a completed release within the rollback window: price ids, Stripe, then the schema; an environment that requires approval waits for it first',
      )
      .addOption(
        new Option(
          '--project-root <dir>',
          'backend checkout (for rollbackWindow in release.config.json)',
        ).env('DB_RELEASE_PROJECT_ROOT'),
      )
      .option('--run-id <id>', 'the release run to undo (default the latest)')
      .option('--window <duration>', 'how old a release may be (default rollbackWindow, 24 hours)')
      .option('--operator <name>', 'who asks for the rollback')
      .option('--json', 'print the result JSON'),
  ).action(action(releaseRollbackCommand));
}
