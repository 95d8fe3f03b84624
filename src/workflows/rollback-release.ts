/**
 * `release rollback`: undoes a release that completed, within a window. A new workflow that
 * reads the finished release's summary (passed in by the CLI) rather than a release workflow
 * kept open for the window: an open release would hold the environment's lock for a day and
 * block the next release. It runs under the same workflow id (`db-release-<environment>`), so
 * a rollback and a release of one environment never overlap.
 */
import { msToNumber } from '@temporalio/common/lib/time';
import {
  ApplicationFailure,
  CancellationScope,
  patched,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import { rollbackStatusQuery, type GatePlan, type RollbackStatusView } from './messages';
import { noApproval } from '../release/approval';
import { ErrorType } from '../release/errors';
import {
  downgradeBlocker,
  revisionSetOf,
  sameRevisionSet,
  setText,
  summaryRevisionSets,
} from '../release/revisions';
import { COMPENSATIONS } from '../release/steps';
import type {
  AlembicRevisionResult,
  ApprovalDecision,
  ApprovalPolicy,
  CompensationRecord,
  ReleaseSummary,
} from '../release/types';
import { installApprovalGate, type ApprovalGate } from './approval-gate';
import {
  activitiesFor,
  downgraded,
  messageOf,
  revisionsOf,
  runCompensations,
  type Compensation,
  type SchemaOutcome,
} from './saga';

export interface RollbackInput {
  release: ReleaseSummary;
  requestedBy: string;
  /** How long after a release finished it may still be rolled back, e.g. '24 hours'. */
  window: string;
  /**
   * The environment's approval policy: a schema downgrade of an environment that requires
   * approval waits at the same gate as `release db` (absent: no gate, as before).
   */
  approval?: ApprovalPolicy;
}

export interface RollbackResult {
  status: 'rolled_back' | 'rollback_failed';
  release_workflow_id: string;
  release_run_id: string;
  requested_by: string;
  started_at: string;
  finished_at: string;
  compensations: CompensationRecord[];
  /** Who approved the rollback, when the environment requires approval. */
  approval?: ApprovalDecision | null;
}

const acts = activitiesFor('rollback');

/**
 * Patch marker: the rollback compares and restores the revision SET, refuses a downgrade known to
 * stop half-way, and puts price ids back only once the schema is back (see downgradeSchema, and runCompensations in saga.ts).
 */
export const REVISION_SET_PATCH = 'revision-set';

/** How long a rollback may hold the target's lease for its own changes. */
const LEASE_MS = 60 * 60_000;

function refuse(message: string, type: ErrorType = ErrorType.RollbackRefused): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

/**
 * One change per target: the rollback holds the target database's lease as a release does (a
 * second release or rollback of that database is refused with TargetBusy naming the holder).
 * An hour covers its compensations; the lease is freed when it ends.
 */
export async function rollbackRelease(input: RollbackInput): Promise<RollbackResult> {
  // Handlers first, so status and decisions are answered while the lease is being taken.
  const view = rollbackView(input);
  const leased = patched('rollback-target-lease');
  let workerPolicy: ApprovalPolicy | undefined;
  if (leased) {
    // The worker checks the environment and answers with its own policy: the caller's is a claim.
    const target = await acts.acquireTargetLease({
      startedBy: input.requestedBy,
      ttlMs: LEASE_MS,
      environment: input.release.environment ?? '',
    });
    workerPolicy = target.approval;
    // Waiting at the gate changes nothing but must keep the target: hold it for the wait too.
    if (workerPolicy.required)
      await acts.acquireTargetLease({
        startedBy: input.requestedBy,
        ttlMs: LEASE_MS + msToNumber(workerPolicy.timeout),
      });
  }
  try {
    return await undoRelease(workerPolicy ? { ...input, approval: workerPolicy } : input, view);
  } finally {
    if (leased)
      await CancellationScope.nonCancellable(() => acts.releaseTargetLease().catch(() => undefined));
  }
}

/** What `release status` reads while the rollback runs; the handlers live as long as the workflow. */
interface RollbackView {
  gate: ApprovalGate;
  startedAt: Date;
  compensations: CompensationRecord[];
  state: RollbackStatusView['state'];
}

function rollbackView(input: RollbackInput): RollbackView {
  const release = input.release;
  const view: RollbackView = {
    gate: installApprovalGate({
      action: 'rollback',
      environment: release.environment ?? '',
      startedBy: input.requestedBy,
    }),
    startedAt: new Date(),
    compensations: [],
    state: 'checking',
  };
  setHandler(rollbackStatusQuery, () => ({
    approval: view.gate.decision(),
    planDigest: view.gate.view().planDigest,
    state: view.state,
    release_workflow_id: release.workflow_id,
    release_run_id: release.run_id,
    requested_by: input.requestedBy,
    started_at: view.startedAt.toISOString(),
    compensations: view.compensations,
  }));
  return view;
}

async function undoRelease(input: RollbackInput, view: RollbackView): Promise<RollbackResult> {
  const release = input.release;
  const { gate, startedAt, compensations } = view;
  const environment = release.environment ?? '';
  if (release.status !== 'success' || !release.finished_at) {
    refuse(
      `release ${release.workflow_id} run ${release.run_id} ended ${release.status}; only a successful release can be rolled back`,
    );
  }
  const age = startedAt.getTime() - Date.parse(release.finished_at);
  if (age > msToNumber(input.window)) {
    refuse(
      `release ${release.run_id} finished ${release.finished_at}, outside the rollback window of ${input.window}; roll back by hand`,
    );
  }
  const journal = { workflowId: release.workflow_id, runId: release.run_id };
  const revisionSet = patched(REVISION_SET_PATCH);
  const sets = summaryRevisionSets(release);
  const setOf = (r: AlembicRevisionResult) => r.revisions ?? revisionSetOf(r.revision);
  // The schema must still be where this release left it (the whole set), or a downgrade would undo someone else's work.
  const now = await acts.captureAlembicRevision();
  if (!sameRevisionSet(setOf(now), sets.after)) {
    refuse(
      `the database is at ${setText(setOf(now))}, not ${setText(sets.after)} as the release left it; a later change would be undone`,
    );
  }
  // A downgrade known to stop half-way is not started: nothing is changed, the revision is named.
  const blocker = revisionSet ? downgradeBlocker(release.pending_revisions) : null;
  if (blocker) {
    refuse(
      `rollback refused, nothing was changed: the downgrade of ${blocker} would stop half-way; the database stays at ${setText(setOf(now))}. ` +
        `Write a working downgrade for it (or restore from backup to ${setText(sets.before)}), then roll back by hand`,
    );
  }
  const policy: ApprovalPolicy = input.approval ?? noApproval();
  const plan: GatePlan = {
    action: 'rollback',
    environment,
    startedBy: input.requestedBy,
    gitSha: release.git_sha,
    rollbackOf: release.run_id,
    downgradeTo: release.pre_release_revision,
    ...(revisionSet ? { downgradeToRevisions: sets.before } : {}),
    pendingRevisions: release.pending_revisions,
    plans:
      release.stripe?.plans.map((p) => ({
        code: p.code,
        amount: p.amount,
        currency: release.stripe?.currency ?? '',
      })) ?? [],
    skipStripe: !release.stripe,
    stripeChanges: null,
  };
  if (policy.required) view.state = 'awaiting_approval';
  const approval = await gate.decide(policy, plan);
  if (approval && approval.decision !== 'approved') {
    refuse(
      `rollback of release ${release.run_id} rejected by ${approval.approver}: ${approval.comment ?? ''}; nothing was changed`,
      ErrorType.Rejected,
    );
  }
  if (approval) {
    // The wait may have been long: the approved plan holds only if the schema is still where it was.
    const after = await acts.captureAlembicRevision();
    if (!sameRevisionSet(setOf(after), sets.after)) {
      refuse(
        `the database moved to ${setText(setOf(after))} while the rollback waited for approval; nothing was changed`,
      );
    }
  }
  setCurrentDetails(
    `rolling back release ${release.run_id} of \`${environment}\`, requested by ${input.requestedBy}`,
  );

  // The release's compensations, newest first: price ids, Stripe, then the schema (first of all in
  // a revision-set rollback, which puts the rest back only once the schema is back; see runCompensations).
  const undo: Compensation[] = [];
  if (release.stripe) {
    undo.push({ name: COMPENSATIONS.price_ids.name, run: () => acts.restorePriceIds({ journal }) });
    undo.push({
      name: COMPENSATIONS.stripe.name,
      run: () => acts.rollbackStripePlans({ codes: release.stripe?.plans.map((p) => p.code) ?? [], journal }),
    });
  }
  if (release.pending_revisions.length > 0) {
    undo.push({
      name: COMPENSATIONS.migrations.name,
      run: async () => {
        const out = await acts.downgradeMigrations({ toRevision: release.pre_release_revision });
        return [downgraded(release.pre_release_revision ?? 'base', out.command)];
      },
      ...(revisionSet ? { schema: () => downgradeSchema(release, sets.before) } : {}),
    });
  }
  view.state = 'compensating';
  await CancellationScope.nonCancellable(() =>
    runCompensations(undo, { revisions: sets.before, revision: release.pre_release_revision }, compensations),
  );
  const status = compensations.some((c) => c.status === 'failed') ? 'rollback_failed' : 'rolled_back';
  view.state = status;
  setCurrentDetails(`rollback of ${release.run_id}: **${status}**`);
  return {
    status,
    release_workflow_id: release.workflow_id,
    release_run_id: release.run_id,
    requested_by: input.requestedBy,
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    compensations,
    approval,
  };
}

/**
 * Revision-set rollbacks: the schema goes back to exactly the set before the release. A downgrade
 * that fails names the set the database stayed at (read back), so the rest is skipped saying so.
 */
async function downgradeSchema(release: ReleaseSummary, before: string[]): Promise<SchemaOutcome> {
  try {
    const out = await acts.downgradeMigrations({ toRevisions: before });
    return { records: [downgraded(setText(before), out.command)], stayedAt: null };
  } catch (error) {
    const at =
      revisionsOf(error) ??
      (await acts
        .captureAlembicRevision()
        .then((r) => r.revisions ?? revisionSetOf(r.revision))
        .catch(() => revisionSetOf(release.alembic_revision)));
    return {
      records: [
        {
          name: 'migrations',
          status: 'failed',
          detail: messageOf(error),
          manual_action: `the database stayed at ${setText(at)}; fix the failing downgrade (or restore from backup), then bring it to ${setText(before)}`,
        },
      ],
      stayedAt: sameRevisionSet(at, before) ? null : at,
    };
  }
}
