import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_CATALOG } from '../release/plans';
import type { ApprovalPolicy, CatalogPlan } from '../release/types';

/** The backend's own settings for this tool, in `<project root>/release.config.json`. Never holds secrets. */
export const CONFIG_FILE_NAME = 'release.config.json';

const durationPattern = /^\d+(\.\d+)?\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?)$/i;

const approvalSchema = z
  .object({
    required: z.boolean().optional(),
    approvers: z.array(z.string().min(1)).default([]),
    fourEyes: z.boolean().default(false),
    timeout: z
      .string()
      .regex(durationPattern, 'use a duration such as "24 hours" or "30 minutes"')
      .default('24 hours'),
  })
  .strict();

const commandSchema = z.array(z.string().min(1)).min(1, 'give the program and its arguments, e.g. ["just", "migrate"]');

const configSchema = z
  .object({
    $comment: z.string().optional(),
    migrateCommand: commandSchema.default(['just', 'migrate']),
    alembicCommand: commandSchema.default(['alembic', '-c', 'alembic.ini']),
    // revisions: the interpreter of the one Alembic inspection (the venv's bin comes first on PATH),
    // and the version table read through pg ("schema.table" allowed).
    pythonCommand: commandSchema.default(['python3']),
    versionTable: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'a table name such as "alembic_version" or "schema.alembic_version"')
      .default('alembic_version'),
    catalog: z
      .array(
        z
          .object({
            code: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'plan codes are lower-case letters, digits, - and _'),
            name: z.string().min(1).max(128),
            amount: z.number().int().min(0),
          })
          .strict(),
      )
      .min(1)
      .default([...DEFAULT_CATALOG]),
    currency: z.string().default('usd'),
    trialDays: z.number().int().min(0).max(730).default(14),
    rollbackWindow: z.string().regex(durationPattern, 'use a duration such as "24 hours"').default('24 hours'),
    environments: z.record(z.string(), z.object({ approval: approvalSchema.optional() }).strict()).default({}),
  })
  .strict();

export type ReleaseConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the config; a missing file means all defaults. */
export async function loadReleaseConfig(projectRoot: string): Promise<ReleaseConfig> {
  const file = path.join(projectRoot, CONFIG_FILE_NAME);
  let text: string | null = null;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return parseReleaseConfig(text ?? '{}', file);
}

export function parseReleaseConfig(text: string, file = CONFIG_FILE_NAME): ReleaseConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${(error as Error).message}); fix the file or remove it to use defaults`);
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
      error: 'the worker cannot tell which environment it serves: set ENVIRONMENT in the backend env files or start the worker with --environment',
    };
  }
  return { environment, error: null };
}

/** The config's catalog in a canonical form, for comparing the caller's claim with the worker's. */
export function catalogKey(catalog: readonly CatalogPlan[]): string {
  return JSON.stringify([...catalog].map((p) => [p.code, p.name, p.amount]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
}
