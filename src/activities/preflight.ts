import { isTruthy } from '../config/env-files';
import { maskSecret } from '../masking';
import { ErrorType } from '../release/errors';
import type { PendingRevision, PreflightResult } from '../release/types';
import { currentOutput, parseHeads, parseHistory, revisionId } from './alembic';
import type { ActivityDeps } from './deps';
import { commandFailure, failure, readScope, runBackendCommand, withDb, type SecretScope } from './support';

export interface PreflightInput {
  skipStripe: boolean;
}

async function gitFacts(deps: ActivityDeps, scope: SecretScope): Promise<{ sha: string | null; tag: string | null }> {
  const env = scope.env.values;
  const sha = await deps.run({ command: ['git', 'rev-parse', 'HEAD'], cwd: deps.projectRoot, env });
  if (sha.exitCode !== 0) return { sha: null, tag: null };
  const tag = await deps.run({ command: ['git', 'describe', '--tags', '--exact-match', 'HEAD'], cwd: deps.projectRoot, env });
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

/** The revision the database is at now, or null for an empty database. */
export async function currentRevision(deps: ActivityDeps, scope: SecretScope): Promise<{ id: string | null; raw: string | null }> {
  const result = await alembic(deps, scope, ['current']);
  const raw = currentOutput(result.stdout, result.stderr);
  return { id: revisionId(raw), raw };
}

export function createPreflightActivities(deps: ActivityDeps) {
  return {
    /**
     * Checks everything the runbook's pre-flight list asks for, before anything changes: git SHA,
     * database reachable, a single Alembic head, Stripe inputs, and the revision before the release.
     */
    async preflight(input: PreflightInput): Promise<PreflightResult> {
      const scope = await readScope(deps);
      const git = await gitFacts(deps, scope);
      const postgresVersion = await withDb(deps, scope, async (db) => {
        const { rows } = await db.query<{ version: string }>('select version() as version');
        return rows[0]?.version ?? 'unknown';
      });
      const heads = parseHeads((await alembic(deps, scope, ['heads'])).stdout);
      if (heads.length !== 1) {
        throw failure(
          ErrorType.MultipleAlembicHeads,
          heads.length === 0
            ? 'alembic reports no head revision: check alembic.ini and the migrations folder'
            : `alembic has ${heads.length} heads (${heads.join(', ')}): merge them (alembic merge heads) before releasing`,
        );
      }
      const current = await currentRevision(deps, scope);
      const head = heads[0] as string;
      let pendingRevisions: PendingRevision[] = [];
      if (current.id !== head) {
        const history = await alembic(deps, scope, ['history', '-r', `${current.id ?? 'base'}:head`]);
        pendingRevisions = parseHistory(history.stdout, current.id);
      }
      const values = scope.env.values;
      const billingEnabled = isTruthy(values.ENABLE_BILLING);
      if (!input.skipStripe && billingEnabled) {
        const missing = ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'].filter((name) => !values[name]);
        if (missing.length > 0) {
          throw failure(
            ErrorType.MissingStripeSecrets,
            `${missing.join(' and ')} missing from the backend env files: add them to .env.local, or release with --skip-stripe`,
          );
        }
      }
      return {
        gitSha: git.sha,
        gitTag: git.tag,
        postgresVersion,
        heads,
        currentRevision: current.id,
        pendingRevisions,
        billingEnabled,
        environmentName: values.ENVIRONMENT ?? values.APP_ENV ?? null,
        stripeKeyMasked: maskSecret(values.STRIPE_SECRET_KEY),
        stripeWebhookSecretMasked: maskSecret(values.STRIPE_WEBHOOK_SECRET),
      };
    },
  };
}
