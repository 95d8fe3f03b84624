import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The backend's env files, in the order the original tool gave them precedence:
 * `.env.local` wins over `.env`, which wins over `.env.compose`, which wins over the process env.
 */
export const ENV_FILES_BY_PRECEDENCE = ['.env.local', '.env', '.env.compose'] as const;

export interface EnvScope {
  /** Merged values, process env included. */
  values: Record<string, string>;
  /** Where each name was found: an env file name, or `process` for the process environment. */
  sources: Record<string, string>;
  /** The env files that exist under the project root. */
  filesFound: string[];
}

/** Parses dotenv text: `KEY=value`, optional `export `, single/double quotes, `#` comments. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1] as string;
    let value = (match[2] ?? '').trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      const comment = value.search(/\s+#/);
      if (comment >= 0) value = value.slice(0, comment).trimEnd();
    }
    out[key] = value;
  }
  return out;
}

/** Expands `${VAR}` placeholders from the same scope; unknown names expand to ''. */
export function expandPlaceholders(value: string, scope: Readonly<Record<string, string>>): string {
  // Only `${VAR}`: a bare `$` is common in passwords (`pa$$w0rd`) and must stay as written.
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => scope[name] ?? '');
}

/** Merges env layers (lowest precedence first) and expands placeholders inside `DATABASE_URL`. */
export function mergeEnvLayers(
  processEnv: Readonly<Record<string, string | undefined>>,
  files: ReadonlyArray<{ name: string; values: Record<string, string> }>,
): Omit<EnvScope, 'filesFound'> {
  const values: Record<string, string> = {};
  const sources: Record<string, string> = {};
  for (const [key, value] of Object.entries(processEnv)) {
    if (value === undefined) continue;
    values[key] = value;
    sources[key] = 'process';
  }
  // files are given by precedence (highest first); apply lowest first
  for (const file of [...files].reverse()) {
    for (const [key, value] of Object.entries(file.values)) {
      values[key] = value;
      sources[key] = file.name;
    }
  }
  if (values.DATABASE_URL !== undefined) values.DATABASE_URL = expandPlaceholders(values.DATABASE_URL, values);
  return { values, sources };
}

/** Reads the backend's env files from `projectRoot` and merges them over `processEnv`. */
export async function loadEnvScope(
  projectRoot: string,
  processEnv: Readonly<Record<string, string | undefined>> = process.env,
): Promise<EnvScope> {
  const files: Array<{ name: string; values: Record<string, string> }> = [];
  for (const name of ENV_FILES_BY_PRECEDENCE) {
    try {
      files.push({ name, values: parseDotenv(await readFile(path.join(projectRoot, name), 'utf8')) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return { ...mergeEnvLayers(processEnv, files), filesFound: files.map((f) => f.name) };
}

const BILLING_TRUE = ['1', 'true', 'yes', 'on'];
const BILLING_FALSE = ['0', 'false', 'no', 'off', ''];
/** The values ENABLE_BILLING may take, for messages. */
export const BILLING_VALUES_TEXT = `${BILLING_TRUE.join('/')} for on, ${BILLING_FALSE.filter(Boolean).join('/')} or empty for off (any case)`;

/**
 * `ENABLE_BILLING` read strictly: true for 1/true/yes/on, false for 0/false/no/off, empty or
 * unset (any case, trimmed), and null for anything else. The original read every other value as
 * false, so a typo (`ENABLE_BILLING=ture`) silently released without billing: now it is bad input.
 */
export function parseBillingFlag(value: string | undefined): boolean | null {
  const normalized = (value ?? '').trim().toLowerCase();
  if (BILLING_TRUE.includes(normalized)) return true;
  if (BILLING_FALSE.includes(normalized)) return false;
  return null;
}

/** Whether billing is on for this backend, and where that was decided (for skip reasons and errors). */
export interface BillingSwitch {
  enabled: boolean;
  /** The value as written, or null when ENABLE_BILLING is set nowhere. */
  raw: string | null;
  /** The env file it came from (`process` for the process environment), or null when unset. */
  source: string | null;
}

/** Where a value came from, in words: `.env.local`, `the process environment`. */
function sourceText(source: string | null): string {
  return source === 'process' ? 'the process environment' : (source ?? 'no env file');
}

/**
 * ENABLE_BILLING from the merged env scope, or an error message naming the value, the file it
 * came from and the values allowed.
 */
export function billingSwitch(scope: Pick<EnvScope, 'values' | 'sources'>): BillingSwitch | { error: string } {
  const raw = scope.values.ENABLE_BILLING;
  const source = raw === undefined ? null : (scope.sources.ENABLE_BILLING ?? null);
  const enabled = parseBillingFlag(raw);
  if (enabled === null) {
    return {
      error: `ENABLE_BILLING=${JSON.stringify(raw)} in ${sourceText(source)} is neither true nor false: use ${BILLING_VALUES_TEXT}`,
    };
  }
  return { enabled, raw: raw ?? null, source };
}

/** Why billing is off, for a step recorded as skipped: `ENABLE_BILLING=false in .env.local`. */
export function billingOffReason(billing: Pick<BillingSwitch, 'raw' | 'source'>): string {
  if (billing.raw === null || billing.source === null) return 'ENABLE_BILLING is not set (billing off)';
  return `ENABLE_BILLING=${billing.raw.trim() === '' ? '(empty)' : billing.raw.trim()} in ${sourceText(billing.source)}`;
}
