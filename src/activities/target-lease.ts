/**
 * The target's own guard: one lease row in the target database (schema `db_release`, outside
 * `public`, so Alembic autogenerate never sees it). A release takes it in preflight before any
 * change, renews it while it runs, and deletes it after its last compensation. Whatever a release
 * is called and whichever worker or task queue runs it, two releases of one database cannot hold
 * it at once; a release that vanishes stops renewing and its lease expires.
 *
 * All times are the database's clock, so workers on different machines agree on expiry.
 */
import { approvalPolicyFor, workerEnvironment } from '../config/release-config';
import { ErrorType } from '../release/errors';
import type { ApprovalPolicy, LeaseHolder } from '../release/types';
import type { ActivityDeps, DbClient } from './deps';
import { executionIds, failure, readScope, withDb } from './support';

/** One row per database: the lease guards everything a release changes through this database's backend. */
export const LEASE_TARGET = 'release';

/** Runs once per connection that takes a lease; serialized so concurrent first releases do not race on the DDL. */
const ENSURE_SQL = [
  'begin',
  "select pg_advisory_xact_lock(hashtext('db_release.lease'))",
  'create schema if not exists db_release',
  `create table if not exists db_release.lease (
     target text primary key,
     workflow_id text not null,
     run_id text not null,
     environment text not null,
     started_by text not null,
     acquired_at timestamptz not null,
     renewed_at timestamptz not null,
     expires_at timestamptz not null
   )`,
  'commit',
];

const HOLDER_COLUMNS = 'workflow_id, run_id, environment, started_by, acquired_at, expires_at';

interface HolderRow {
  workflow_id: string;
  run_id: string;
  environment: string;
  started_by: string;
  acquired_at: Date | string;
  expires_at: Date | string;
}

function holderOf(row: HolderRow): LeaseHolder {
  return {
    workflowId: row.workflow_id,
    runId: row.run_id,
    environment: row.environment,
    startedBy: row.started_by,
    acquiredAt: new Date(row.acquired_at).toISOString(),
    expiresAt: new Date(row.expires_at).toISOString(),
  };
}

export interface LeaseClaim {
  workflowId: string;
  runId: string;
  environment: string;
  startedBy: string;
}

export type LeaseOutcome = { acquired: true; holder: LeaseHolder } | { acquired: false; holder: LeaseHolder };

export async function ensureLeaseTable(db: DbClient): Promise<void> {
  try {
    for (const sql of ENSURE_SQL) await db.query(sql);
  } catch (error) {
    await db.query('rollback').catch(() => undefined);
    throw error;
  }
}

/**
 * Takes the lease when it is free, expired, already this run's (a retried preflight), or held by
 * an earlier run of the same workflow id: Temporal runs at most one execution of a workflow id at a
 * time, so that run has ended (terminated ones never free their lease). Otherwise answers who
 * holds it. One statement, so two releases racing for it cannot both win.
 */
export async function acquireLease(db: DbClient, claim: LeaseClaim, ttlMs: number): Promise<LeaseOutcome> {
  await ensureLeaseTable(db);
  // The holder can release between the insert and the read: then try again (bounded).
  for (let attempt = 0; attempt < 5; attempt++) {
    const taken = await db.query<HolderRow>(
      `insert into db_release.lease as l (target, workflow_id, run_id, environment, started_by, acquired_at, renewed_at, expires_at)
       values ($1, $2, $3, $4, $5, clock_timestamp(), clock_timestamp(), clock_timestamp() + $6::double precision * interval '1 millisecond')
       on conflict (target) do update set
         workflow_id = excluded.workflow_id,
         run_id = excluded.run_id,
         environment = excluded.environment,
         started_by = excluded.started_by,
         acquired_at = case when l.workflow_id = excluded.workflow_id and l.run_id = excluded.run_id then l.acquired_at else excluded.acquired_at end,
         renewed_at = excluded.renewed_at,
         expires_at = excluded.expires_at
       where l.expires_at <= clock_timestamp() or l.workflow_id = excluded.workflow_id
       returning ${HOLDER_COLUMNS}`,
      [LEASE_TARGET, claim.workflowId, claim.runId, claim.environment, claim.startedBy, ttlMs],
    );
    const mine = taken.rows[0];
    if (mine) return { acquired: true, holder: holderOf(mine) };
    const current = await readLease(db);
    if (current) return { acquired: false, holder: current };
  }
  throw new Error('the release lease changed hands five times in a row; try again');
}

/** Extends this run's lease; null when it is no longer this run's (expired and taken by another, or gone). */
export async function renewLease(
  db: DbClient,
  ids: { workflowId: string; runId: string },
  ttlMs: number,
): Promise<LeaseHolder | null> {
  const { rows } = await db.query<HolderRow>(
    `update db_release.lease
        set renewed_at = clock_timestamp(), expires_at = clock_timestamp() + $4::double precision * interval '1 millisecond'
      where target = $1 and workflow_id = $2 and run_id = $3
      returning ${HOLDER_COLUMNS}`,
    [LEASE_TARGET, ids.workflowId, ids.runId, ttlMs],
  );
  return rows[0] ? holderOf(rows[0]) : null;
}

/** Deletes the lease only if this run holds it: a refused release can never free someone else's. */
export async function releaseLease(
  db: DbClient,
  ids: { workflowId: string; runId: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    'delete from db_release.lease where target = $1 and workflow_id = $2 and run_id = $3',
    [LEASE_TARGET, ids.workflowId, ids.runId],
  );
  return (rowCount ?? 0) > 0;
}

/** The current holder, expired or not; null when nobody has taken the lease (or the table does not exist yet). */
export async function readLease(db: DbClient): Promise<LeaseHolder | null> {
  const exists = await db.query<{ found: string | null }>(
    "select to_regclass('db_release.lease')::text as found",
  );
  if (!exists.rows[0]?.found) return null;
  const { rows } = await db.query<HolderRow>(
    `select ${HOLDER_COLUMNS} from db_release.lease where target = $1`,
    [LEASE_TARGET],
  );
  return rows[0] ? holderOf(rows[0]) : null;
}

/** The message of a refused release: who holds the target and how to follow or stop that release. */
export function busyMessage(holder: LeaseHolder): string {
  return (
    `another release holds this database: workflow ${holder.workflowId} (run ${holder.runId}, environment ${holder.environment}, ` +
    `started by ${holder.startedBy} at ${holder.acquiredAt}, lease until ${holder.expiresAt}); nothing was changed. ` +
    `Watch it with \`db-release release watch ${holder.workflowId}\` or stop it with \`db-release release cancel ${holder.workflowId}\``
  );
}

export interface RenewLeaseInput {
  ttlMs: number;
}

export interface AcquireLeaseInput {
  startedBy: string;
  ttlMs: number;
  /**
   * The environment the caller means to change: a claim the worker checks against the one it
   * serves (TargetMismatch naming both). Absent only in histories from before the check.
   */
  environment?: string;
}

/** The lease taken, and the worker's own approval policy for its environment (never the caller's). */
export type TargetLease = LeaseHolder & { approval: ApprovalPolicy };

export function createTargetLeaseActivities(deps: ActivityDeps) {
  return {
    /**
     * Takes the lease for a run that changes the target without a release preflight (`release
     * rollback`); TargetBusy names the holder. The environment recorded is the worker's own.
     */
    async acquireTargetLease(input: AcquireLeaseInput): Promise<TargetLease> {
      const scope = await readScope(deps);
      const env = workerEnvironment(scope.env.values, deps.environment);
      if (env.error !== null) throw failure(ErrorType.TargetMismatch, env.error);
      if (input.environment !== undefined && input.environment !== env.environment) {
        throw failure(
          ErrorType.TargetMismatch,
          `refused, nothing was changed: the request names environment "${input.environment}" but this worker serves "${env.environment}"; ` +
            `use --environment ${env.environment}, or the task queue of the worker that serves ${input.environment}`,
        );
      }
      let approval: ApprovalPolicy;
      try {
        approval = approvalPolicyFor(await deps.loadConfig(), env.environment);
      } catch (error) {
        throw failure(
          ErrorType.ProjectRootInvalid,
          `the worker's backend config is unusable: ${(error as Error).message}`,
        );
      }
      const holder = await withDb(deps, scope, (db) =>
        takeLeaseOrRefuse(db, { environment: env.environment, startedBy: input.startedBy }, input.ttlMs),
      );
      return { ...holder, approval };
    },
    /** Keeps this run's lease alive; `held: false` means it was lost and nothing more may start. */
    async renewTargetLease(input: RenewLeaseInput): Promise<{ held: boolean; holder: LeaseHolder | null }> {
      const scope = await readScope(deps);
      const ids = executionIds();
      return withDb(deps, scope, async (db) => {
        const mine = await renewLease(db, ids, input.ttlMs);
        if (mine) return { held: true, holder: mine };
        return { held: false, holder: await readLease(db) };
      });
    },
    /** Frees the lease after the release's last change, only if this run still holds it. */
    async releaseTargetLease(): Promise<{ released: boolean }> {
      const scope = await readScope(deps);
      const ids = executionIds();
      return withDb(deps, scope, async (db) => {
        if (!(await readLease(db))) return { released: false };
        return { released: await releaseLease(db, ids) };
      });
    },
  };
}

/** Takes the lease for the running activity's release, or throws a non-retryable TargetBusy naming the holder. */
export async function takeLeaseOrRefuse(
  db: DbClient,
  claim: Omit<LeaseClaim, 'workflowId' | 'runId'>,
  ttlMs: number,
): Promise<LeaseHolder> {
  const outcome = await acquireLease(db, { ...executionIds(), ...claim }, ttlMs);
  if (!outcome.acquired)
    throw failure(ErrorType.TargetBusy, busyMessage(outcome.holder), undefined, outcome.holder);
  return outcome.holder;
}
