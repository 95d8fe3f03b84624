import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { durationSchema } from '../release/duration';
import { DEFAULT_CATALOG } from '../release/plans';
import { DEFAULT_SQL_REVIEW_POLICY, SQL_FLAG_KINDS, type SqlReviewPolicy } from '../release/sql-review';
import type { ApprovalPolicy, CatalogPlan, PromotionPolicy } from '../release/types';

/**
 * The backend's env files, in the order the original tool gave them precedence:
 * `.env.local` wins over `.env`, which wins over `.env.compose`, which wins over the process env.
 * The default of `envFiles`.
 */
export const ENV_FILES_BY_PRECEDENCE = ['.env.local', '.env', '.env.compose'] as const;

/** The backend's own settings for this tool, in `<project root>/release.config.json`. Never holds secrets. */
export const CONFIG_FILE_NAME = 'release.config.json';

const approvalSchema = z
  .object({
    required: z.boolean().optional(),
    approvers: z.array(z.string().min(1)).default([]),
    fourEyes: z.boolean().default(false),
    timeout: durationSchema('"24 hours" or "30 minutes"').default('24 hours'),
  })
  .strict();

/**
 * Promotion (issue 17): the environments that must have released the same git SHA to the same
 * revision set first, successfully and not rolled back, within maxAge (src/release/promotion.ts).
 */
const environmentNamePattern = /^[A-Za-z0-9_.:-]+$/;
const promotionSchema = z
  .object({
    requires: z
      .array(
        z
          .string()
          .regex(
            environmentNamePattern,
            'name an environment (letters, digits, "_", "-", "." or ":"), e.g. ["staging"]',
          ),
      )
      .min(1, 'name at least one environment that must release first, e.g. ["staging"]')
      .refine((list) => new Set(list).size === list.length, 'an environment is listed twice'),
    maxAge: durationSchema('"7 days" or "48 hours"').default('7 days'),
  })
  .strict();

// The SQL review's policy for an environment (issue 17): what a risk flag of the rendered SQL does.
const sqlReviewActionSchema = z.enum(['allow', 'require-approval', 'refuse'], {
  message: 'use "allow", "require-approval" or "refuse"',
});
const sqlReviewSchema = z
  .object({
    flags: sqlReviewActionSchema.optional(),
    /** Per flag kind (drop, type-change, ...): overrides `flags` for that kind. */
    rules: z
      .partialRecord(
        z.enum(SQL_FLAG_KINDS, { message: `use one of ${SQL_FLAG_KINDS.join(', ')}` }),
        sqlReviewActionSchema,
      )
      .default({}),
  })
  .strict();

const commandSchema = z
  .array(z.string().min(1))
  .min(1, 'give the program and its arguments, e.g. ["just", "migrate"]');

const configSchema = z
  .object({
    $comment: z.string().optional(),
    migrateCommand: commandSchema.default(['just', 'migrate']),
    alembicCommand: commandSchema.default(['alembic', '-c', 'alembic.ini']),
    // Layout of the backend (src/config/backend-layout.ts). Both stay undefined when not given:
    // a default list may be partly absent, an explicit one may not, and the venv is auto-detected.
    envFiles: z
      .array(
        z
          .string()
          .min(1, 'give a path relative to the backend, e.g. ".env.local" or "../../.env.compose"')
          .refine(
            (p) => !path.isAbsolute(p),
            'use a path relative to the backend (the project root), e.g. "../../.env.compose"',
          ),
      )
      .min(
        1,
        'list at least one env file, highest precedence first, e.g. [".env.local", "../../.env.compose"]',
      )
      .refine(
        (list) => new Set(list.map((p) => path.normalize(p))).size === list.length,
        'an env file is listed twice',
      )
      .optional(),
    venv: z.string().min(1, 'give the virtualenv folder relative to the backend, e.g. ".venv"').optional(),
    // revisions: the interpreter of the one Alembic inspection (the venv's bin comes first on PATH),
    // and the version table read through pg ("schema.table" allowed).
    pythonCommand: commandSchema.default(['python3']),
    versionTable: z
      .string()
      .regex(
        /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/,
        'a table name such as "alembic_version" or "schema.alembic_version"',
      )
      .default('alembic_version'),
    catalog: z
      .array(
        z
          .object({
            code: z
              .string()
              .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'plan codes are lower-case letters, digits, - and _'),
            name: z.string().min(1).max(128),
            amount: z.number().int().min(0),
          })
          .strict(),
      )
      .min(1)
      .default([...DEFAULT_CATALOG]),
    currency: z.string().default('usd'),
    trialDays: z.number().int().min(0).max(730).default(14),
    rollbackWindow: durationSchema('"24 hours"').default('24 hours'),
    environments: z
      .record(
        z.string(),
        z
          .object({
            approval: approvalSchema.optional(),
            promotion: promotionSchema.optional(),
            sqlReview: sqlReviewSchema.optional(),
          })
          .strict(),
      )
      .default({}),
    // Billing: how this backend keeps plan codes in Stripe metadata and price ids in billing_plans.
    stripe: z
      .object({
        planCodeMetadataKeys: z
          .array(
            z
              .string()
              .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'Stripe metadata keys are up to 40 letters, digits, _ . -'),
          )
          .min(1, 'name at least one key, e.g. ["starter_console_plan_code"]')
          .optional(),
      })
      .strict()
      .default({}),
    billingPlans: z
      .object({
        priceIdColumn: z
          .union([
            z.literal('auto'),
            z
              .string()
              .regex(
                /^[a-z_][a-z0-9_]{0,62}$/,
                'a column name (lower-case letters, digits, _), "auto" or null',
              ),
            z.null(),
          ])
          .default('auto'),
      })
      .strict()
      .default({ priceIdColumn: 'auto' }),
  })
  .strict();

export type ReleaseConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The env files to read, highest precedence first, and whether the config named them (then each must exist). */
export function envFilesOf(config: Pick<ReleaseConfig, 'envFiles'>): { files: string[]; explicit: boolean } {
  return config.envFiles
    ? { files: [...config.envFiles], explicit: true }
    : { files: [...ENV_FILES_BY_PRECEDENCE], explicit: false };
}

/**
 * The env files for a project root, for readers that report an invalid config on their own
 * (status, providers): an invalid or unreadable config falls back to the default list.
 */
export async function configuredEnvFiles(projectRoot: string): Promise<string[]> {
  const config = await loadReleaseConfig(projectRoot).catch((error: unknown) => {
    if (error instanceof ConfigError) return null;
    throw error;
  });
  return envFilesOf(config ?? {}).files;
}

/** The env file the tool writes (Stripe secrets, the price map): the highest-precedence entry. */
export function writableEnvFile(config: Pick<ReleaseConfig, 'envFiles'>): string {
  return envFilesOf(config).files[0] as string;
}

/** Reads and validates the config; a missing file means all defaults. */
export async function loadReleaseConfig(projectRoot: string): Promise<ReleaseConfig> {
  const file = path.join(projectRoot, CONFIG_FILE_NAME);
  let text: string | null = null;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR')
      throw new ConfigError(
        `${file}: is a directory, not a file; remove it (all defaults) or put the JSON config there`,
      );
    if (code !== 'ENOENT')
      throw new ConfigError(
        `${file}: cannot be read (${code ?? (error as Error).message}); make it readable by the user running the tool`,
      );
  }
  return parseReleaseConfig(text ?? '{}', file);
}

export function parseReleaseConfig(text: string, file = CONFIG_FILE_NAME): ReleaseConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `${file}: not valid JSON (${(error as Error).message}); fix the file or remove it to use defaults`,
    );
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(top level)';
    throw new ConfigError(`${file}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const codes = parsed.data.catalog.map((p) => p.code);
  const dup = codes.find((c, i) => codes.indexOf(c) !== i);
  if (dup) throw new ConfigError(`${file}: catalog: plan code "${dup}" appears twice`);
  for (const [name, env] of Object.entries(parsed.data.environments)) {
    if (env.promotion?.requires.includes(name)) {
      throw new ConfigError(
        `${file}: environments.${name}.promotion.requires: ${name} cannot require itself; name the environment released before it, e.g. ["staging"]`,
      );
    }
  }
  return parsed.data;
}

/** Approval policy for an environment: required by default for `production` only. */
export function approvalPolicyFor(config: ReleaseConfig, environment: string): ApprovalPolicy {
  const approval = config.environments[environment]?.approval;
  return {
    required: approval?.required ?? environment === 'production',
    approvers: approval?.approvers ?? [],
    fourEyes: approval?.fourEyes ?? false,
    timeout: approval?.timeout ?? '24 hours',
  };
}

/** The promotion policy of an environment: which environments must release the same thing first; null when none. */
export function promotionPolicyFor(config: ReleaseConfig, environment: string): PromotionPolicy | null {
  const promotion = config.environments[environment]?.promotion;
  return promotion ? { requires: [...promotion.requires], maxAge: promotion.maxAge } : null;
}

/** The SQL review policy for an environment: flags need approval in `production`, are shown elsewhere. */
export function sqlReviewPolicyFor(config: ReleaseConfig, environment: string): SqlReviewPolicy {
  const own = config.environments[environment]?.sqlReview;
  const fallback = DEFAULT_SQL_REVIEW_POLICY(environment);
  return { flags: own?.flags ?? fallback.flags, rules: { ...(own?.rules ?? {}) } };
}

/** The Alembic config file the configured alembic command reads (its -c/--config), relative to the project root. */
export function alembicConfigFile(config: ReleaseConfig): string {
  const args = config.alembicCommand;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if ((arg === '-c' || arg === '--config') && args[i + 1]) return args[i + 1] as string;
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return 'alembic.ini';
}

export function catalogOf(config: ReleaseConfig): CatalogPlan[] {
  return config.catalog.map((p) => ({ ...p }));
}

/**
 * The environment the worker serves: its env files' ENVIRONMENT (or APP_ENV), or the worker's
 * `--environment` flag. Both set and different is a misconfigured worker, refused with both named.
 */
export function workerEnvironment(
  values: Readonly<Record<string, string>>,
  flag: string | undefined,
): { environment: string; error: null } | { environment: null; error: string } {
  const fromFiles = values.ENVIRONMENT || values.APP_ENV || undefined;
  const named = values.ENVIRONMENT ? 'ENVIRONMENT' : 'APP_ENV';
  if (flag && fromFiles && flag !== fromFiles) {
    return {
      environment: null,
      error: `the worker's --environment "${flag}" disagrees with ${named}=${fromFiles} in the backend env files; make them agree or drop the flag`,
    };
  }
  const environment = flag || fromFiles;
  if (!environment) {
    return {
      environment: null,
      error:
        'the worker cannot tell which environment it serves: set ENVIRONMENT in the backend env files or start the worker with --environment',
    };
  }
  return { environment, error: null };
}

/** The config's catalog in a canonical form, for comparing the caller's claim with the worker's. */
export function catalogKey(catalog: readonly CatalogPlan[]): string {
  return JSON.stringify(
    [...catalog]
      .map((p) => [p.code, p.name, p.amount])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
}
