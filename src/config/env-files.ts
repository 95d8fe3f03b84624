import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { configuredEnvFiles, ENV_FILES_BY_PRECEDENCE } from './release-config';

export { ENV_FILES_BY_PRECEDENCE };

export interface EnvScope {
  /** Merged values, process env included. */
  values: Record<string, string>;
  /** Where each name was found: an env file as configured (e.g. `../../.env.compose`), or `process` for the process environment. */
  sources: Record<string, string>;
  /** The env files that exist, as configured, highest precedence first. */
  filesFound: string[];
}

/**
 * An env file the tool cannot use: a directory where a file was configured, an unreadable
 * file, or a line it cannot parse (an unterminated quote). Bad input: the CLI maps it to exit 2
 * before anything starts. `type` is stable so callers can branch on it across module copies.
 */
export class EnvFileError extends Error {
  override name = 'EnvFileError';
  readonly type = 'EnvFileError';
  constructor(
    /** The file as configured (relative to the backend) or as given. */
    readonly file: string,
    /** 1-based line of the problem, or null when the file as a whole is the problem. */
    readonly line: number | null,
    problem: string,
    fix: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}: ${problem}; ${fix}`);
  }
}

/** Index of the quote closing the value opened at index 0, or -1; `\"` does not close a double-quoted value. */
function closingQuote(value: string, quote: string): number {
  for (let i = 1; i < value.length; i += 1) {
    if (quote === '"' && value[i] === '\\') {
      i += 1;
      continue;
    }
    if (value[i] === quote) return i;
  }
  return -1;
}

function unquote(inner: string, quote: string): string {
  return quote === '"' ? inner.replace(/\\n/g, '\n').replace(/\\"/g, '"') : inner;
}

/** An unquoted value ends at ` #` (a `#` inside a word, `a#b`, stays). */
function withoutComment(value: string): string {
  const comment = value.search(/\s+#/);
  return comment >= 0 ? value.slice(0, comment).trimEnd() : value;
}

/**
 * Parses dotenv text: `KEY=value`, optional `export `, single/double quotes, `#` comments.
 * A value that opens a quote and never closes it on its line is refused ({@link EnvFileError}):
 * read as-is it would have carried the quote into a DATABASE_URL or a key and failed a release later.
 */
export function parseDotenv(text: string, file = '(env file)'): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1] as string;
    let value = (match[2] ?? '').trim();
    const quote = value[0];
    if (quote === '"' || quote === "'") {
      const close = closingQuote(value, quote);
      if (close < 0) {
        throw new EnvFileError(
          file,
          index + 1,
          `${key}: the value opens a ${quote === '"' ? 'double' : 'single'} quote that is never closed`,
          'close the quote on the same line (values spanning lines are not supported; write \\n inside double quotes)',
        );
      }
      const rest = value.slice(close + 1).trim();
      // `KEY="value" # comment` is the quoted value; `KEY='it's'` keeps the old reading (outer quotes off)
      if (rest === '' || rest.startsWith('#')) value = unquote(value.slice(1, close), quote);
      else if (value.endsWith(quote)) value = unquote(value.slice(1, -1), quote);
      else value = withoutComment(value);
    } else {
      value = withoutComment(value);
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
  if (values.DATABASE_URL !== undefined)
    values.DATABASE_URL = expandPlaceholders(values.DATABASE_URL, values);
  return { values, sources };
}

/** Reads one configured env file; null when it does not exist. */
export async function readEnvFile(
  projectRoot: string,
  configured: string,
): Promise<Record<string, string> | null> {
  let text: string;
  try {
    text = await readFile(path.resolve(projectRoot, configured), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EISDIR') {
      throw new EnvFileError(
        configured,
        null,
        'is a directory, not an env file',
        'remove the directory or list a file in release.config.json "envFiles"',
      );
    }
    throw new EnvFileError(
      configured,
      null,
      `cannot be read (${code ?? (error as Error).message})`,
      'make it readable by the user running the tool or remove it from "envFiles"',
    );
  }
  return parseDotenv(text, configured);
}

/**
 * Reads the backend's env files and merges them over `processEnv`. `envFiles` are paths relative
 * to the project root (they may leave it, e.g. `../../.env.compose` at a monorepo's root), highest
 * precedence first; omitted, they are the project's release.config.json `envFiles` (the default
 * list when it names none or is invalid: its own reader reports that), so no reader of env files
 * can miss the configured list. Missing files are skipped (whether that is an error is the
 * caller's call: the worker's start check refuses a missing file that was configured explicitly).
 */
export async function loadEnvScope(
  projectRoot: string,
  processEnv: Readonly<Record<string, string | undefined>> = process.env,
  envFiles?: readonly string[],
): Promise<EnvScope> {
  const files: Array<{ name: string; values: Record<string, string> }> = [];
  for (const name of envFiles ?? (await configuredEnvFiles(projectRoot))) {
    const values = await readEnvFile(projectRoot, name);
    if (values) files.push({ name, values });
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
export function billingSwitch(
  scope: Pick<EnvScope, 'values' | 'sources'>,
): BillingSwitch | { error: string } {
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
