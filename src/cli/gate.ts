/**
 * The approval gate as the CLI meets it: waiting for a gated workflow (release, stripe setup or
 * rollback) to open its gate, and deciding on it (`release approve` / `release reject`).
 */
import type { Client } from '@temporalio/client';
import { EXIT_CODES } from '../release/summary';
import type { ApprovalDecision } from '../release/types';
import { decideUpdate, gateQuery, type GateView } from '../workflows/messages';
import { CliError } from './errors';
import { identityFlag } from './input';
import { pause } from './live-view';
import { describeRelease, releaseIdOf } from './release-runs';
import { gateLines } from './status-lines';
import { requireWorker } from './worker-presence';

/** How long a decision sent by the CLI stays valid: one that reaches the release later is refused. */
export const DECISION_TTL_SECONDS = 60;

export interface DecideOptions {
  /** The plan digest the approver pins (`--digest`); default the digest of the plan shown. */
  digest?: string;
  ttlSeconds?: number;
  /** Where the plan and its digest are shown before the decision is sent. */
  show?: (line: string) => void;
  /** How long to wait for a worker's answer about its presence. */
  presenceTimeoutMs?: number;
  /** `--override-promotion`: the approval acknowledges the plan's promotion override. */
  overridePromotion?: boolean;
}

/**
 * `release approve` / `release reject`: checks a worker polls the workflow's task queue (else says
 * so at once and sends nothing), shows the plan and its digest, and sends the decision for that
 * digest with an expiry, so a decision that cannot be delivered now is never applied later.
 */
export async function decide(
  client: Client,
  idOrEnvironment: string,
  decision: 'approve' | 'reject',
  approver: string,
  comment: string | undefined,
  options: DecideOptions = {},
): Promise<ApprovalDecision> {
  const name = identityFlag('--approver', approver);
  const pinned = options.digest?.trim().toLowerCase();
  if (pinned !== undefined && !/^[0-9a-f]{16}$/.test(pinned)) {
    throw new CliError(
      `--digest "${options.digest ?? ''}": the 16 hex digits of the plan digest shown by db-release release status`,
    );
  }
  if (comment !== undefined && comment.length > 2000)
    throw new CliError('--comment/--reason: at most 2000 characters');
  const ttl = options.ttlSeconds ?? DECISION_TTL_SECONDS;
  const id = releaseIdOf(idOrEnvironment);
  const handle = client.workflow.getHandle(id);
  const description = await describeRelease(client, id);
  if (description.status.name !== 'RUNNING') {
    throw new CliError(
      `${id} is not running (${description.status.name}): there is nothing to ${decision}`,
      EXIT_CODES.failed,
    );
  }
  const what = decision === 'approve' ? 'the approval' : 'the rejection';
  await requireWorker(client, description.taskQueue, what, { timeoutMs: options.presenceTimeoutMs });
  const gate = await client
    .withDeadline(Date.now() + 10_000, () => handle.query(gateQuery))
    .catch((error: Error) => {
      throw new CliError(
        `could not read the gate of ${id} (${error.message.split('\n')[0]}); nothing was sent`,
        EXIT_CODES.failed,
      );
    });
  if (gate.decision) {
    throw new CliError(
      `${decision} refused: already ${gate.decision.decision} by ${gate.decision.approver} at ${gate.decision.at}`,
      EXIT_CODES.failed,
    );
  }
  if (!gate.open || !gate.planDigest) {
    throw new CliError(
      `${decision} refused: ${id} has no plan to decide on yet (it is still checking); try again when db-release release status shows it waiting for approval`,
      EXIT_CODES.failed,
    );
  }
  if (gate.policy && !gate.policy.required)
    throw new CliError(`${decision} refused: ${id} does not require approval`, EXIT_CODES.failed);
  for (const line of gateLines(gate, id)) options.show?.(line);
  if (pinned !== undefined && pinned !== gate.planDigest) {
    throw new CliError(
      `${decision} refused: you pinned plan ${pinned}, but ${id} now waits for a decision on plan ${gate.planDigest}; review the plan above and decide again`,
      EXIT_CODES.failed,
    );
  }
  const expiresAt = new Date(Date.now() + ttl * 1000);
  try {
    return await client.withDeadline(expiresAt, () =>
      handle.executeUpdate(decideUpdate, {
        args: [
          {
            decision,
            approver: name,
            comment: comment ?? null,
            digest: pinned ?? gate.planDigest,
            expiresAt: expiresAt.toISOString(),
            ...(options.overridePromotion ? { overridePromotion: true } : {}),
          },
        ],
      }),
    );
  } catch (error) {
    if (Date.now() >= expiresAt.getTime() - 50) {
      throw new CliError(
        `${what} was not taken within ${ttl} s (no worker answered); it expired at ${expiresAt.toISOString()}, so if it reaches ${id} later it is refused, not applied. ` +
          'Check the worker (db-release status summary) and decide again',
        EXIT_CODES.failed,
      );
    }
    const e = error as Error & { cause?: Error };
    throw new CliError(`${decision} refused: ${e.cause?.message ?? e.message}`, EXIT_CODES.failed);
  }
}

/**
 * Waits (bounded, about a minute) until a gated workflow has computed its plan and opened its
 * gate; null when it ended first or did not open in time.
 */
export async function openGate(
  client: Client,
  workflowId: string,
  ended: Promise<void>,
  timeoutMs = 60_000,
): Promise<GateView | null> {
  const handle = client.workflow.getHandle(workflowId);
  let done = false;
  void ended.then(() => (done = true));
  const stop = new AbortController();
  const deadline = Date.now() + timeoutMs;
  while (!done && Date.now() < deadline) {
    const gate = await handle.query(gateQuery).catch(() => null);
    if (gate?.open) return gate;
    await pause(200, stop.signal);
  }
  return null;
}
