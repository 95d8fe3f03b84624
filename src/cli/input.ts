/**
 * Every command's input, parsed at the edge and refused there: the flags shared by several
 * commands (project root, environment, plans, currency, trial days, run id, a person's name,
 * counts) and the backend's own input (`release.config.json`, the env files, the env values a
 * release relies on). Each problem is bad input (exit 2) that names the flag, file or variable
 * and the fix, before anything connects or starts; secret values are never printed.
 */
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  billingSwitch,
  ENV_FILES_BY_PRECEDENCE,
  loadEnvScope,
  type BillingSwitch,
  type EnvScope,
} from '../config/env-files';
import { CONFIG_FILE_NAME, loadReleaseConfig, type ReleaseConfig } from '../config/release-config';
import { isKnownCurrency } from '../release/currencies';
import { displayIdentity, normalizeIdentity } from '../release/identity';
import { parsePlanFlags, PlanFlagError } from '../release/plans';
import type { CatalogPlan } from '../release/types';
import { CliError } from './errors';
import { classifyKey, type ProviderKeyName } from './providers';

/** An environment name: it names the workflow id (db-release-<environment>) and the worker's target. */
const ENVIRONMENT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

/**
 * `--environment` (or the ENVIRONMENT of the env files standing for it); `why` is added to the
 * message, e.g. "it names the workflow id".
 */
export function environmentName(value: string, why?: string): string {
  if (!ENVIRONMENT_PATTERN.test(value))
    throw new CliError(`--environment "${value}": use letters, digits, - and _${why ? ` (${why})` : ''}`);
  return value;
}

/** `--project-root` (default DB_RELEASE_PROJECT_ROOT, else the current folder), which must be a folder. */
export async function projectRootDir(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  hint = '',
): Promise<string> {
  const projectRoot = path.resolve(flag ?? env.DB_RELEASE_PROJECT_ROOT ?? '.');
  if (!(await stat(projectRoot).catch(() => null))?.isDirectory()) {
    throw new CliError(
      `--project-root "${projectRoot}" is not a directory; point it at the backend checkout${hint}`,
    );
  }
  return projectRoot;
}

/** A count flag (`--max-concurrent-activities`): a whole number of at least 1, or undefined when not given. */
export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new CliError(`${flag} "${value}": use a whole number of at least 1`);
  return Number(value);
}

/** `--run-id`: the UUID Temporal gave the run; anything else is refused by the server with a stack. */
export function runIdFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const runId = value.trim();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(runId)) {
    throw new CliError(
      `--run-id "${value}": a run id is a UUID such as 0193d1c2-7b1e-7c3a-9d55-2b5f0e4c8a10 (db-release release list shows them)`,
    );
  }
  return runId;
}

/**
 * A person's name from a flag: cleaned (NFKC, invisible characters removed, trimmed) and never
 * empty or invisible, which would switch four-eyes off. Bad input: exit 2.
 */
export function identityFlag(flag: string, value: string | undefined): string {
  const name = displayIdentity(value ?? '');
  if (!normalizeIdentity(name)) {
    throw new CliError(
      `${flag} "${value ?? ''}": give a person's name (it is empty or only invisible characters); four-eyes compares it with the approver`,
    );
  }
  if (name.length > 100) throw new CliError(`${flag}: a name of at most 100 characters`);
  return name;
}

/** Who runs a command when `--operator` is not given: DB_RELEASE_OPERATOR, else the OS user. */
export function defaultOperator(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DB_RELEASE_OPERATOR !== undefined) return env.DB_RELEASE_OPERATOR;
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** `--plan` flags against the catalog; a bad one is a CliError naming it. */
export function planAmounts(
  flags: readonly string[] | undefined,
  catalog: readonly CatalogPlan[],
): Map<string, number> {
  try {
    return parsePlanFlags(flags ?? [], catalog);
  } catch (error) {
    if (error instanceof PlanFlagError) throw new CliError(error.message);
    throw error;
  }
}

/** `--currency`, lower-cased as Stripe stores it, or the config's default. */
export function priceCurrency(flag: string | undefined, fallback: string): string {
  const currency = (flag ?? fallback).toLowerCase();
  if (!isKnownCurrency(currency)) {
    throw new CliError(
      `--currency "${flag ?? fallback}": not a currency Stripe accepts; use an ISO code such as usd or eur`,
    );
  }
  return currency;
}

/** `--trial-days`: whole days from 0 to 730, or the given default. */
export function trialDaysOf(flag: string | undefined, fallback: number): number {
  if (flag === undefined) return fallback;
  if (!/^\d+$/.test(flag) || Number(flag) > 730) {
    throw new CliError(`--trial-days "${flag}": use a whole number of days from 0 to 730`);
  }
  return Number(flag);
}

/** Why a file could not be read, in words, for the errno codes an operator meets. */
function unreadable(error: NodeJS.ErrnoException): string | null {
  switch (error.code) {
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    case 'ENOTDIR':
      return 'is under something that is not a folder';
    case 'ELOOP':
      return 'is a symbolic link loop';
    default:
      return null;
  }
}

/** `release.config.json`, validated; missing means the defaults. A bad one is a CliError naming the file. */
export async function readBackendConfig(projectRoot: string): Promise<ReleaseConfig> {
  try {
    return await loadReleaseConfig(projectRoot);
  } catch (error) {
    // By name: ConfigError may come from another copy of the module (see STYLE.md).
    if ((error as Error).name === 'ConfigError') throw new CliError((error as Error).message);
    const why = unreadable(error as NodeJS.ErrnoException);
    if (why) {
      const file = path.join(projectRoot, CONFIG_FILE_NAME);
      throw new CliError(
        `${file} ${why}; make it the JSON file of settings (see examples/saas-backend/${CONFIG_FILE_NAME}) or remove it to use the defaults`,
      );
    }
    throw error;
  }
}

export interface BackendEnvOptions {
  /** The env files to read; default those release.config.json names (or the standard ones). */
  files?: readonly string[];
  /**
   * How a file that does not parse is named: by its full path and line (default), or, as the
   * worker has always said it, as the project root followed by the parser's own `file:line: …`.
   */
  parseErrorStyle?: 'path-and-line' | 'under-project-root';
}

/**
 * The backend's env files merged over the process environment. A file that is a directory or
 * unreadable, or that does not parse (an unterminated quote: EnvFileError with its file and line),
 * is a CliError naming the file.
 */
export async function readBackendEnv(
  projectRoot: string,
  env: NodeJS.ProcessEnv = process.env,
  options: BackendEnvOptions = {},
): Promise<EnvScope> {
  try {
    return await loadEnvScope(projectRoot, env, options.files);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { file?: unknown; line?: unknown };
    if (e.name === 'EnvFileError' && options.parseErrorStyle === 'under-project-root')
      throw new CliError(`${projectRoot}: ${e.message}`);
    if (e.name === 'EnvFileError') {
      // Its message names the file (as configured), the line and the fix; never the value.
      const file = typeof e.file === 'string' ? e.file : '';
      const line = typeof e.line === 'number' ? e.line : null;
      const prefix = `${file}${line === null ? '' : `:${line}`}: `;
      const detail = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
      throw new CliError(
        `env file ${path.resolve(projectRoot, file)}${line === null ? '' : ` line ${line}`}: ${detail}`,
      );
    }
    const why = unreadable(e);
    if (why) {
      const file = typeof e.path === 'string' ? e.path : projectRoot;
      throw new CliError(`env file ${file} ${why}; make it a KEY=value file or remove it`);
    }
    throw error;
  }
}

/** Where a value of the scope came from, for a message: the env file, or the process environment. */
export function sourceOf(scope: EnvScope, name: string, projectRoot: string): string {
  const source = scope.sources[name];
  if (!source || source === 'process') return 'the environment of this process';
  return path.isAbsolute(source) ? source : path.join(projectRoot, source);
}

/** Alembic and the worker's own connections take PostgreSQL URLs, SQLAlchemy's driver suffix allowed. */
const POSTGRES_URL = /^postgres(ql)?(\+[a-z0-9_]+)?:$/i;

/**
 * DATABASE_URL, when the backend sets it, must be a PostgreSQL URL: anything else starts a release
 * that fails at its first migration. The value is not printed (it holds the password).
 */
export function checkDatabaseUrl(scope: EnvScope, projectRoot: string): void {
  const value = scope.values.DATABASE_URL;
  if (value === undefined) return;
  let why: string | null = null;
  if (value.trim() === '') why = 'is empty';
  else {
    try {
      const url = new URL(value.trim());
      // No host check: `postgresql:///app` (the local socket) is a valid libpq URL.
      if (!POSTGRES_URL.test(url.protocol))
        why = `is a ${url.protocol.replace(/:$/, '')} URL, not a PostgreSQL one`;
    } catch {
      why = 'is not a URL';
    }
  }
  if (why) {
    throw new CliError(
      `DATABASE_URL (from ${sourceOf(scope, 'DATABASE_URL', projectRoot)}) ${why}; write it as postgresql://USER:PASSWORD@HOST:5432/DBNAME`,
    );
  }
}

/** The backend checkout a command acts on: its root, config, env scope and environment name, validated. */
export async function loadBackendContext(
  flags: { projectRoot?: string; environment?: string },
  env: NodeJS.ProcessEnv,
): Promise<{ projectRoot: string; config: ReleaseConfig; scope: EnvScope; environment: string }> {
  const projectRoot = await projectRootDir(flags.projectRoot, env);
  const config = await readBackendConfig(projectRoot);
  const scope = await readBackendEnv(projectRoot, env);
  // Both commands that use this context migrate or write billing_plans through DATABASE_URL.
  checkDatabaseUrl(scope, projectRoot);
  const environment = environmentName(
    flags.environment ?? scope.values.ENVIRONMENT ?? scope.values.APP_ENV ?? 'local',
    'it names the workflow id',
  );
  return { projectRoot, config, scope, environment };
}

/** The backend's env scope, or exit 2 when there is no checkout or no env file to read. */
export async function requireBackendScope(
  projectRootFlag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ projectRoot: string; scope: EnvScope }> {
  const projectRoot = await projectRootDir(projectRootFlag, env, ' (or set DB_RELEASE_PROJECT_ROOT)');
  const scope = await readBackendEnv(projectRoot, env);
  if (scope.filesFound.length === 0) {
    throw new CliError(
      `no env file in ${projectRoot} (looked for ${ENV_FILES_BY_PRECEDENCE.join(', ')}); ` +
        'point --project-root at the backend checkout, or create .env.local from .env.local.example',
    );
  }
  return { projectRoot, scope };
}

/** ENABLE_BILLING of the backend's env files; a value that is neither true nor false is bad input (exit 2). */
export function billingOf(scope: EnvScope, projectRoot: string): BillingSwitch {
  const billing = billingSwitch(scope);
  if ('error' in billing)
    throw new CliError(`${billing.error} (backend ${projectRoot}); nothing was started`);
  return billing;
}

/**
 * The Stripe secrets a release will use, when they are set: a publishable key, a webhook secret in
 * the wrong variable, stray quotes or spaces are refused before the release starts (the worker
 * would fail its preflight, or worse, after migrating). Missing ones are the caller's concern.
 */
export function checkStripeSecrets(scope: EnvScope, projectRoot: string): void {
  for (const name of [
    'STRIPE_SECRET_KEY',
    'STRIPE_WEBHOOK_SECRET',
  ] as const satisfies readonly ProviderKeyName[]) {
    const value = scope.values[name];
    if (!value) continue;
    const verdict = classifyKey(name, value);
    if (verdict.status === 'invalid') {
      const file = sourceOf(scope, name, projectRoot);
      throw new CliError(
        `${name} (from ${file}): ${verdict.reason}; fix it in ${file}, or pass --skip-stripe`,
      );
    }
  }
}
