import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { billingOffReason, billingSwitch } from '../config/env-files';
import {
  alembicConfigFile,
  approvalPolicyFor,
  promotionPolicyFor,
  catalogKey,
  catalogOf,
  sqlReviewPolicyFor,
  workerEnvironment,
  type ReleaseConfig,
} from '../config/release-config';
import { maskSecret } from '../masking';
import { ErrorType } from '../release/errors';
import { MAX_AMOUNT } from '../release/plans';
import type { ApprovalPolicy, CatalogPlan, PendingRevision, PreflightResult } from '../release/types';
import { revisionSetText } from '../release/revisions';
import {
  inspectorScript,
  parseHeads,
  parseHistory,
  parseInspection,
  pendingRevisionsOf,
  readRevisionSet,
} from '../runtime/alembic-inspection';
import { graphKey, rememberGraph, unchangedGraphAtHeads } from '../runtime/inspection-cache';
import type { ActivityDeps } from './deps';
import { commandFailure, failure, readScope, runBackendCommand, withDb, type SecretScope } from './support';
import { takeLeaseOrRefuse } from './target-lease';
import { checkPromotion } from './promotion';
import { promotionRefusal } from '../release/promotion';
import { reviewSql } from './sql-review';

/** How long the offline SQL render may take after the inspection (DB_RELEASE_SQL_RENDER_TIMEOUT_MS, default 120 s). */
function sqlRenderTimeoutMs(): number {
  const raw = Number(process.env.DB_RELEASE_SQL_RENDER_TIMEOUT_MS);
  return Number.isFinite(raw) && raw > 0 ? raw : 120_000;
}

/** What the caller says about the release's target; the worker checks every one against its own backend. */
export interface PreflightClaims {
  environment: string;
  plans: CatalogPlan[];
  /** The policy the caller's config names for the environment; the worker's own policy is the one used. */
  approval: ApprovalPolicy;
  /** Absent from callers that do not send it: then only the plans are checked against the worker's catalog. */
  catalog?: CatalogPlan[];
  billingEnabled?: boolean;
}

export interface PreflightInput {
  skipStripe: boolean;
  claims: PreflightClaims;
  /** The lease this release takes on its target database before anything changes. */
  lease: { startedBy: string; ttlMs: number };
  /** `--override-promotion` was given: missing promotions do not refuse, the workflow gates them instead. */
  overridePromotion?: boolean;
}

/** What the worker knows about the backend it serves, read from its own files. */
export interface WorkerTarget {
  environment: string;
  catalog: CatalogPlan[];
  billingEnabled: boolean;
  approval: ApprovalPolicy;
}

const policyText = (p: ApprovalPolicy) =>
  p.required
    ? `approval required (approvers ${p.approvers.length ? p.approvers.join(', ') : 'anyone'}, four-eyes ${p.fourEyes ? 'on' : 'off'}, timeout ${p.timeout})`
    : 'no approval';

const catalogText = (c: readonly CatalogPlan[]) => c.map((p) => `${p.code}/${p.name}/${p.amount}`).join(', ');

/** Every way the caller's claims disagree with the worker's backend, each naming both values; empty when they agree. */
export function targetMismatches(
  worker: WorkerTarget,
  claims: PreflightClaims,
  skipStripe: boolean,
): string[] {
  const out: string[] = [];
  if (claims.environment !== worker.environment) {
    out.push(
      `environment: the release names "${claims.environment}" but this worker serves "${worker.environment}"; ` +
        `release with --environment ${worker.environment}, or on the task queue of the worker that serves ${claims.environment}`,
    );
  }
  if (claims.catalog && catalogKey(claims.catalog) !== catalogKey(worker.catalog)) {
    out.push(
      `catalog: the caller's release.config.json has [${catalogText(claims.catalog)}] but the worker's backend has [${catalogText(worker.catalog)}]; ` +
        'point --project-root at a checkout of the same backend',
    );
  }
  const known = new Set(worker.catalog.map((p) => p.code));
  const codes = claims.plans.map((p) => p.code);
  const unknown = codes.filter((c) => !known.has(c));
  const missing = [...known].filter((c) => !codes.includes(c));
  const twice = codes.filter((c, i) => codes.indexOf(c) !== i);
  if (unknown.length || missing.length || twice.length) {
    out.push(
      `plans: the release prices [${codes.join(', ')}] but the worker's catalog is [${[...known].join(', ')}]` +
        `${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}${missing.length ? `; missing: ${missing.join(', ')}` : ''}` +
        `${twice.length ? `; given twice: ${twice.join(', ')}` : ''}`,
    );
  }
  const badAmount = claims.plans.find(
    (p) => !Number.isInteger(p.amount) || p.amount < 0 || p.amount > MAX_AMOUNT,
  );
  if (badAmount)
    out.push(
      `plans: ${badAmount.code} amount ${String(badAmount.amount)} is not a whole number of cents from 0 to ${MAX_AMOUNT}`,
    );
  if (!skipStripe && claims.billingEnabled !== undefined && claims.billingEnabled !== worker.billingEnabled) {
    out.push(
      `billing: the caller's env files have ENABLE_BILLING ${claims.billingEnabled ? 'on' : 'off'} but the worker's backend has it ` +
        `${worker.billingEnabled ? 'on' : 'off'}; point --project-root at the backend checkout (its amounts and secrets were not asked for)`,
    );
  }
  if (JSON.stringify(claims.approval) !== JSON.stringify(worker.approval)) {
    out.push(
      `approval policy for ${worker.environment}: the caller's config says ${policyText(claims.approval)} but the worker's says ` +
        `${policyText(worker.approval)}; the worker's applies, so align the caller's release.config.json`,
    );
  }
  return out;
}

async function loadWorkerConfig(deps: ActivityDeps): Promise<ReleaseConfig> {
  try {
    return await deps.loadConfig();
  } catch (error) {
    throw failure(
      ErrorType.ProjectRootInvalid,
      `the worker's backend config is unusable: ${(error as Error).message}`,
    );
  }
}

/** The worker's project root must be a backend: its Alembic config is where the alembic command expects it. */
async function requireBackend(deps: ActivityDeps, config: ReleaseConfig): Promise<void> {
  const file = alembicConfigFile(config);
  const full = path.resolve(deps.projectRoot, file);
  const found = await stat(full).catch(() => null);
  if (!found?.isFile()) {
    throw failure(
      ErrorType.ProjectRootInvalid,
      `the worker's project root ${deps.projectRoot} is not a backend checkout: ${file} is missing; start the worker with --project-root at the backend`,
    );
  }
}

/** Proves the Stripe key authenticates before anything changes; an outage is retried, a refused key is final. */
async function checkStripeKey(deps: ActivityDeps, scope: SecretScope): Promise<void> {
  const key = scope.env.values.STRIPE_SECRET_KEY as string;
  try {
    await deps.stripe(key, scope.env).checkAuth();
  } catch (error) {
    const e = error as { type?: string; message?: string };
    const refused = e.type === 'StripeAuthenticationError' || e.type === 'StripePermissionError';
    throw failure(
      refused ? ErrorType.StripeAuthentication : ErrorType.StripeUnavailable,
      refused
        ? `Stripe refused STRIPE_SECRET_KEY (${e.message ?? 'authentication failed'}): check the key in the backend's .env.local`
        : `Stripe could not be reached to check STRIPE_SECRET_KEY: ${e.message ?? String(error)}`,
      scope,
    );
  }
}

async function gitFacts(
  deps: ActivityDeps,
  scope: SecretScope,
): Promise<{ sha: string | null; tag: string | null }> {
  const env = scope.env.values;
  // Both at once (two reads of the same checkout); the tag counts only when HEAD resolved.
  const [sha, tag] = await Promise.all([
    deps.run({ command: ['git', 'rev-parse', 'HEAD'], cwd: deps.projectRoot, env }),
    deps.run({ command: ['git', 'describe', '--tags', '--exact-match', 'HEAD'], cwd: deps.projectRoot, env }),
  ]);
  if (sha.exitCode !== 0) return { sha: null, tag: null };
  return { sha: sha.stdout.trim() || null, tag: tag.exitCode === 0 ? tag.stdout.trim() || null : null };
}

async function alembic(deps: ActivityDeps, scope: SecretScope, args: string[]) {
  const config = await deps.loadConfig();
  const result = await runBackendCommand(deps, scope, [...config.alembicCommand, ...args]);
  if (result.exitCode !== 0) {
    throw commandFailure(
      ErrorType.CommandFailed,
      `\`${result.commandLine}\` exited with ${result.exitCode}: ${result.all.trim().slice(-1500)}`,
      result.all,
      scope,
    );
  }
  return result;
}

/** The revision set the database is at now (its version table's rows; empty: base), read through pg. */
export async function currentRevisionSet(
  deps: ActivityDeps,
  scope: SecretScope,
  config: ReleaseConfig,
): Promise<string[]> {
  return withDb(deps, scope, (db) => readRevisionSet(db, config.versionTable));
}

interface Inspected {
  heads: string[];
  pending: PendingRevision[];
  inspection: 'python' | 'cli-fallback' | 'unchanged';
  reused?: { inspectedAt: string; fingerprint: string };
  /** What the inspector printed (its SQL document follows the inspection), and why it has no SQL. */
  sql: { stdout: string | null; why: string | null };
}

/**
 * Everything preflight and the approval plan need about the migrations, from ONE Python process
 * (tools/alembic_inspect.py): heads, the graph, the pending revisions in apply order and each
 * one's downgrade readiness. An interpreter that cannot import alembic falls back to the alembic
 * CLI (heads and history, no readiness), labelled as such.
 */
async function inspectRevisions(
  deps: ActivityDeps,
  scope: SecretScope,
  config: ReleaseConfig,
  current: string[],
): Promise<Inspected> {
  const inspector = inspectorScript();
  const configFile = alembicConfigFile(config);
  const key = graphKey({
    projectRoot: deps.projectRoot,
    configFile,
    pythonCommand: config.pythonCommand,
    inspector,
  });
  // At the heads of a graph whose files are byte for byte those inspected before: nothing is
  // pending, so there is nothing to render or judge, and the heads are known without Python.
  const unchanged = await unchangedGraphAtHeads(key, current);
  if (unchanged) {
    return {
      heads: unchanged.heads,
      pending: [],
      inspection: 'unchanged',
      reused: { inspectedAt: unchanged.inspectedAt, fingerprint: unchanged.sources.fingerprint },
      sql: { stdout: null, why: null },
    };
  }
  const startedAt = new Date();
  const command = [
    ...config.pythonCommand,
    inspector,
    '--config',
    configFile,
    '--current',
    current.join(','),
    '--sql',
    '--upgrade-sql',
  ];
  // The SQL render runs revision code offline after the inspection is printed: bounded on its own,
  // so a render that hangs costs the SQL (reported unavailable), not the release.
  const result = await runBackendCommand(deps, scope, command, {
    ownTimeoutMs: sqlRenderTimeoutMs(),
    // tools/alembic_inspect.py --serve-once: alembic and SQLAlchemy imported before the release asks.
    // Started ahead only while inspections need them: one answered statically (the database at the
    // head, no Alembic imported) says the next one likely will be too, and an idle interpreter that
    // imported Alembic for nothing would cost more than it saves.
    warm: { startNext: (done) => !/"reader":\s*"static"/.test(done.stdout) },
  });
  const read = parseInspection(result.stdout);
  if (read.ok && (result.exitCode === 0 || result.timedOut)) {
    const { inspection } = read;
    if (inspection.unknown_current.length > 0) {
      throw failure(
        ErrorType.CommandFailed,
        `the database's ${config.versionTable} holds ${inspection.unknown_current.join(', ')}, which this checkout's migrations do not have: ` +
          'release from the checkout that has them (git pull), or repair the version table by hand',
        scope,
      );
    }
    const why = result.timedOut
      ? `timed out: the offline render ran past ${Math.round(sqlRenderTimeoutMs() / 1000)} s and was stopped (a revision's upgrade() or downgrade() hangs even offline; DB_RELEASE_SQL_RENDER_TIMEOUT_MS)`
      : null;
    rememberGraph(key, inspection, startedAt);
    return {
      heads: inspection.heads,
      pending: pendingRevisionsOf(inspection),
      inspection: 'python',
      sql: { stdout: result.stdout, why },
    };
  }
  if (!read.ok && read.error === 'alembic_not_importable')
    return cliFallback(deps, scope, current, read.detail);
  const detail = read.ok
    ? `exited with ${result.exitCode}`
    : result.timedOut
      ? `it ran past ${Math.round(result.durationMs / 1000)} s before printing its inspection and was stopped (a revision file that blocks when loaded, or a machine too busy to run it)`
      : read.detail;
  throw commandFailure(
    ErrorType.CommandFailed,
    `the Alembic inspection \`${result.commandLine}\` failed: ${detail}; ${result.stderr.trim().slice(-1200)}`,
    result.all,
    scope,
  );
}

/** The alembic CLI path, for an interpreter without alembic: heads and history, readiness unknown. */
async function cliFallback(
  deps: ActivityDeps,
  scope: SecretScope,
  current: string[],
  why: string,
): Promise<Inspected> {
  const heads = parseHeads((await alembic(deps, scope, ['heads'])).stdout);
  const pending: PendingRevision[] = [];
  if (heads.length === 1 && !(current.length === 1 && current[0] === heads[0])) {
    const applied = new Set(current);
    for (const from of current.length > 0 ? current : [null]) {
      const history = await alembic(deps, scope, ['history', '-r', `${from ?? 'base'}:head`]);
      for (const r of parseHistory(history.stdout, from)) {
        if (!applied.has(r.revision) && !pending.some((p) => p.revision === r.revision)) pending.push(r);
      }
    }
  }
  const unknown = {
    status: 'unknown' as const,
    detail: `not inspected (CLI fallback: the configured python cannot import alembic: ${why})`,
  };
  return {
    heads,
    pending: pending.map((r) => ({ ...r, downgrade: unknown })),
    inspection: 'cli-fallback',
    sql: {
      stdout: null,
      why: `not rendered (CLI fallback: the configured python cannot import alembic: ${why})`,
    },
  };
}

export function createPreflightActivities(deps: ActivityDeps) {
  return {
    /**
     * Checks everything the runbook's pre-flight list asks for, before anything changes: git SHA,
     * database reachable, a single Alembic head, Stripe inputs, and the revision before the release.
     */
    async preflight(input: PreflightInput): Promise<PreflightResult> {
      if (!(input as Partial<PreflightInput>).claims || !(input as Partial<PreflightInput>).lease) {
        // Scheduled by workflow code from before worker authority (a release in flight across an upgrade).
        throw failure(
          ErrorType.TargetMismatch,
          'release refused, nothing was changed: it was started by an older db-release that sends no claims for the worker to check; start it again',
        );
      }
      const scope = await readScope(deps);
      const values = scope.env.values;
      // Who the worker is comes first, from its own files: a release aimed elsewhere changes nothing.
      const config = await loadWorkerConfig(deps);
      const env = workerEnvironment(values, deps.environment);
      if (env.error !== null) throw failure(ErrorType.TargetMismatch, env.error);
      // A value that is neither true nor false is a typo in the worker's files: refused before anything changes.
      const billing = billingSwitch(scope.env);
      if ('error' in billing)
        throw failure(
          ErrorType.InvalidInput,
          `release refused, nothing was changed: ${billing.error}`,
          scope,
        );
      const billingEnabled = billing.enabled;
      const worker: WorkerTarget = {
        environment: env.environment,
        catalog: catalogOf(config),
        billingEnabled,
        approval: approvalPolicyFor(config, env.environment),
      };
      const mismatches = targetMismatches(worker, input.claims, input.skipStripe);
      if (mismatches.length > 0) {
        throw failure(
          ErrorType.TargetMismatch,
          `release refused, nothing was changed: ${mismatches.join('; ')}`,
          scope,
        );
      }
      await requireBackend(deps, config);
      const stripeWanted = !input.skipStripe && billingEnabled;
      if (stripeWanted) {
        const missing = ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'].filter((name) => !values[name]);
        if (missing.length > 0) {
          throw failure(
            ErrorType.MissingStripeSecrets,
            `${missing.join(' and ')} missing from the backend env files: add them to .env.local, or release with --skip-stripe`,
          );
        }
      }
      // The target's guard, before anything changes: refused here, the release touches nothing.
      const { lease, postgresVersion, current } = await withDb(deps, scope, async (db) => {
        const held = await takeLeaseOrRefuse(
          db,
          { environment: worker.environment, startedBy: input.lease.startedBy },
          input.lease.ttlMs,
        );
        const { rows } = await db.query<{ version: string }>('select version() as version');
        // Every row: a branched database holds one per applied branch head.
        const set = await readRevisionSet(db, config.versionTable);
        return { lease: held, postgresVersion: rows[0]?.version ?? 'unknown', current: set };
      });
      // The git facts are read while the inspection runs; a git failure still counts only after it.
      const gitRead = gitFacts(deps, scope);
      gitRead.catch(() => undefined); // awaited below: a rejection meanwhile is not unhandled
      const inspected = await inspectRevisions(deps, scope, config, current);
      const git = await gitRead;
      const heads = inspected.heads;
      if (heads.length !== 1) {
        throw failure(
          ErrorType.MultipleAlembicHeads,
          heads.length === 0
            ? 'alembic reports no head revision: check alembic.ini and the migrations folder'
            : `alembic has ${heads.length} heads (${heads.join(', ')}): merge them (alembic merge heads) before releasing`,
        );
      }
      // Promotion, from the release history in Temporal, before anything changes (issue 17).
      const promotionPolicy = promotionPolicyFor(config, worker.environment);
      const promotion = promotionPolicy
        ? await checkPromotion(Context.current().client, {
            policy: promotionPolicy,
            gitSha: git.sha,
            revisions: heads,
          })
        : null;
      if (promotion && promotion.missing.length > 0 && !input.overridePromotion) {
        throw failure(
          ErrorType.PromotionRequired,
          promotionRefusal(worker.environment, promotion),
          scope,
          promotion,
        );
      }
      // The SQL under review (issue 17): rendered above, linted here; `refuse` stops before any change.
      const sqlReview = await reviewSql(deps, {
        pending: inspected.pending.map((r) => r.revision),
        ...inspected.sql,
        policy: sqlReviewPolicyFor(config, worker.environment),
      });
      if (sqlReview.decision.action === 'refuse') {
        throw failure(
          ErrorType.InvalidInput,
          `release refused, nothing was changed: ${sqlReview.decision.reason ?? 'refused by the SQL review policy'}; ` +
            `change the migration, or set environments.${worker.environment}.sqlReview in release.config.json`,
          scope,
        );
      }
      // Last, so a release refused above has not even asked Stripe.
      if (stripeWanted) await checkStripeKey(deps, scope);
      return {
        gitSha: git.sha,
        gitTag: git.tag,
        postgresVersion,
        heads,
        currentRevision: revisionSetText(current),
        currentRevisions: current,
        alembicCommand: config.alembicCommand,
        inspection: inspected.inspection,
        ...(inspected.reused ? { inspectionReused: inspected.reused } : {}),
        pendingRevisions: inspected.pending,
        billingEnabled,
        billingOffReason: billingEnabled ? null : billingOffReason(billing),
        environmentName: worker.environment,
        stripeKeyMasked: maskSecret(values.STRIPE_SECRET_KEY),
        stripeWebhookSecretMasked: maskSecret(values.STRIPE_WEBHOOK_SECRET),
        approval: worker.approval,
        lease,
        ...(promotion ? { promotion } : {}),
        sqlReview,
      };
    },
  };
}
