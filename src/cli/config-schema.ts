/**
 * `config dump-schema` (the runbook's prerequisite "Run config dump-schema if you need to
 * confirm coverage"): every setting the tool reads, where it is read, its default, whether it is
 * secret, and for one backend checkout where each value was found and what it is (masked).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EnvScope } from '../config/env-files';
import {
  CONFIG_FILE_NAME,
  ConfigError,
  parseReleaseConfig,
  type ReleaseConfig,
} from '../config/release-config';
import { isSecretName, maskSecret, redactUrlPassword } from '../masking';
import { DEFAULT_TASK_QUEUE } from '../workflows/messages';
import { CliError } from './errors';

export type SettingKind = 'env' | 'file' | 'flag';

/** Who reads an env var: activities read the backend's env files; the CLI and worker their own process env. */
export type ReadFrom = 'backend env files' | 'process env' | 'release.config.json' | 'command line';

export interface SettingSpec {
  name: string;
  kind: SettingKind;
  read_from: ReadFrom;
  default: string | null;
  secret: boolean;
  description: string;
}

export interface SettingView extends SettingSpec {
  /** `.env.local`, `.env`, `.env.compose`, `process`, `release.config.json`, `default`, or `unset`. */
  found_in: string;
  /** The effective value: masked when secret, URL passwords redacted, null when unset or empty. */
  value: string | null;
}

export interface SchemaDump {
  project_root: string;
  env_files: string[];
  settings: SettingView[];
}

const backend = (name: string, description: string, extra: Partial<SettingSpec> = {}): SettingSpec => ({
  name,
  kind: 'env',
  read_from: 'backend env files',
  default: null,
  secret: isSecretName(name),
  description,
  ...extra,
});
const processEnv = (name: string, description: string, extra: Partial<SettingSpec> = {}): SettingSpec => ({
  ...backend(name, description, extra),
  read_from: 'process env',
  ...extra,
});

/** Env vars, in the order an operator meets them. */
export const ENV_SETTINGS: readonly SettingSpec[] = [
  backend(
    'DATABASE_URL',
    'Postgres the migrations and billing_plans checks run against; ${VAR} placeholders expanded; password always redacted',
  ),
  backend(
    'STRIPE_SECRET_KEY',
    'Stripe secret key (sk_test_…/sk_live_…/rk_…) for provisioning products and prices',
  ),
  backend('STRIPE_WEBHOOK_SECRET', 'Stripe webhook signing secret (whsec_…); required with billing enabled'),
  backend(
    'STRIPE_PRODUCT_PRICE_MAP',
    'plan code → Stripe price id, compact JSON (or starter=price_1,pro=price_2); written by the release',
  ),
  backend(
    'ENABLE_BILLING',
    'billing on for 1/true/yes/on, off for 0/false/no/off/empty (any case; anything else is refused): off skips Stripe and the price checks; set to true by the release',
    {
      default: 'false',
    },
  ),
  backend('ENVIRONMENT', 'deployment environment; names the release workflow db-release-<environment>', {
    default: 'local',
  }),
  backend('APP_ENV', 'fallback for ENVIRONMENT'),
  backend(
    'STRIPE_API_BASE',
    'another Stripe host for the SDK (tests and the demo use the loopback peer); unset in production',
    {
      default: 'https://api.stripe.com',
    },
  ),
  backend('RESEND_API_KEY', 'Resend API key (re_…), checked by providers validate'),
  backend('OPENAI_API_KEY', 'OpenAI API key (sk-…), checked by providers validate'),
  processEnv('TEMPORAL_ADDRESS', 'Temporal frontend host:port (also from a Temporal profile)', {
    default: 'localhost:7233',
  }),
  processEnv('TEMPORAL_NAMESPACE', 'Temporal namespace', { default: 'default' }),
  processEnv('TEMPORAL_API_KEY', 'API key for Temporal Cloud, read through @temporalio/envconfig'),
  processEnv('TEMPORAL_PROFILE', 'profile of the Temporal client config file', { default: 'default' }),
  processEnv('TEMPORAL_CONFIG_FILE', 'Temporal client config file (TOML)', {
    default: '~/.config/temporalio/temporal.toml',
  }),
  processEnv('DB_RELEASE_TASK_QUEUE', 'task queue the worker polls and the CLI starts on', {
    default: DEFAULT_TASK_QUEUE,
  }),
  processEnv('TEMPORAL_UI_URL', 'Web UI base URL for links', {
    default: 'http://localhost:8233 (local server only)',
  }),
  processEnv('DB_RELEASE_PROJECT_ROOT', 'backend checkout (--project-root)', { default: '.' }),
  processEnv('DB_RELEASE_OPERATOR', 'who starts a release (started_by)', { default: 'the OS user' }),
  processEnv('DB_RELEASE_MAX_CONCURRENT_ACTIVITIES', 'worker: activities run at once', { default: '20' }),
  processEnv('DB_RELEASE_MAX_CONCURRENT_WORKFLOW_TASKS', 'worker: workflow tasks run at once', {
    default: '40',
  }),
];

/** What each release.config.json key means; keys added to the schema later still appear, with a generic text. */
const FILE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  migrateCommand: 'program and arguments of the migration step',
  alembicCommand: 'alembic invocation; current/heads/history/downgrade are appended',
  catalog: 'plans [{code, name, amount (minor units)}] provisioned and verified',
  currency: 'price currency (lower-cased)',
  trialDays: 'trial days on the prices inside release db',
  environments:
    'per environment: approval {required, approvers, fourEyes, timeout}; promotion {requires: environments that release the same SHA and revision set first, maxAge (default 7 days)}; sqlReview {flags: allow|require-approval|refuse (default require-approval in production, allow elsewhere), rules: {<flag kind>: action}}',
  rollbackWindow: 'how old a release may be for release rollback',
  stripe:
    'planCodeMetadataKeys: Stripe metadata keys that name a plan code (default starter_console_plan_code, starter_cli_plan_code; the tool writes starter_cli_plan_code)',
  billingPlans:
    'priceIdColumn: billing_plans column holding price ids: "auto" (stripe_price_id if present), a column name, or null (ids only in STRIPE_PRODUCT_PRICE_MAP)',
};

/** A CLI option as commander describes it, enough to list it. */
export interface FlagOption {
  flags: string;
  long?: string;
  description: string;
  envVar?: string;
  defaultValue?: unknown;
}

export function flagSpecs(options: readonly FlagOption[]): SettingSpec[] {
  return options.map((o) => {
    const fromText = /\(default ([^)]+)\)/.exec(o.description)?.[1] ?? null;
    const fromOption =
      o.defaultValue === undefined
        ? null
        : typeof o.defaultValue === 'string'
          ? o.defaultValue
          : JSON.stringify(o.defaultValue);
    return {
      name: o.long ?? o.flags,
      kind: 'flag',
      read_from: 'command line',
      default: fromOption ?? fromText,
      secret: isSecretName(o.long ?? o.flags),
      description: `${o.description}${o.envVar ? ` (env ${o.envVar})` : ''}`,
    };
  });
}

function shown(spec: SettingSpec, value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  if (spec.secret) return maskSecret(value);
  return redactUrlPassword(value);
}

export function envSettingViews(
  scope: EnvScope,
  processValues: Readonly<Record<string, string | undefined>>,
): SettingView[] {
  return ENV_SETTINGS.map((spec) => {
    const fromBackend = spec.read_from === 'backend env files';
    const value = fromBackend ? scope.values[spec.name] : processValues[spec.name];
    const source = fromBackend
      ? scope.sources[spec.name]
      : processValues[spec.name] !== undefined
        ? 'process'
        : undefined;
    if (source !== undefined) return { ...spec, found_in: source, value: shown(spec, value) };
    return { ...spec, found_in: spec.default === null ? 'unset' : 'default', value: spec.default };
  });
}

/** release.config.json keys: those in the file, then the defaults the schema fills in. */
export function fileSettingViews(fileText: string | null, file: string): SettingView[] {
  let config: ReleaseConfig;
  let raw: Record<string, unknown> = {};
  try {
    config = parseReleaseConfig(fileText ?? '{}', file);
    if (fileText !== null) raw = JSON.parse(fileText) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
  const defaults = parseReleaseConfig('{}');
  return Object.entries(config)
    .filter(([key]) => key !== '$comment')
    .map(([key, value]) => ({
      name: key,
      kind: 'file' as const,
      read_from: 'release.config.json' as const,
      default: JSON.stringify((defaults as Record<string, unknown>)[key] ?? null),
      secret: false,
      description: FILE_DESCRIPTIONS[key] ?? 'release.config.json setting',
      found_in: key in raw ? CONFIG_FILE_NAME : 'default',
      value: JSON.stringify(value),
    }));
}

export async function dumpSchema(
  projectRoot: string,
  scope: EnvScope,
  releaseDbOptions: readonly FlagOption[],
  processValues: Readonly<Record<string, string | undefined>> = process.env,
): Promise<SchemaDump> {
  const file = path.join(projectRoot, CONFIG_FILE_NAME);
  let text: string | null = null;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const flags = flagSpecs(releaseDbOptions).map((spec): SettingView => ({
    ...spec,
    found_in: spec.default === null ? 'unset' : 'default',
    value: spec.default,
  }));
  return {
    project_root: projectRoot,
    env_files: scope.filesFound,
    settings: [...envSettingViews(scope, processValues), ...fileSettingViews(text, file), ...flags],
  };
}

export function describeSchema(dump: SchemaDump): string[] {
  const lines = [
    `settings of db-release for ${dump.project_root} (env files: ${dump.env_files.join(', ') || 'none'})`,
  ];
  let kind: SettingKind | null = null;
  for (const s of dump.settings) {
    if (s.kind !== kind) {
      kind = s.kind;
      lines.push(
        '',
        { env: 'Environment variables', file: `${CONFIG_FILE_NAME}`, flag: 'release db flags' }[kind],
      );
    }
    const secret = s.secret ? ' [secret]' : '';
    if (s.kind === 'flag') lines.push(`  ${s.name}  [default ${s.default ?? 'none'}]`);
    else
      lines.push(
        `  ${s.name}${secret} = ${s.value ?? '(empty)'}  [${s.found_in}; default ${s.default ?? 'none'}]`,
      );
    lines.push(`      ${s.read_from}: ${s.description}`);
  }
  return lines;
}
