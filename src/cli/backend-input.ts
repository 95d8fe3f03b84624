/**
 * The backend's own input to a command, read at the edge and refused there: `release.config.json`,
 * the env files, and the env values a release relies on. Each problem is bad input (exit 2) that
 * names the file or variable and the fix, before anything connects or starts; secret values are
 * never printed.
 */
import path from 'node:path';
import { loadEnvScope, type EnvScope } from '../config/env-files';
import { CONFIG_FILE_NAME, loadReleaseConfig, type ReleaseConfig } from '../config/release-config';
import { CliError } from './errors';

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
      throw new CliError(`${file} ${why}; make it the JSON file of settings (see examples/saas-backend/${CONFIG_FILE_NAME}) or remove it to use the defaults`);
    }
    throw error;
  }
}

/**
 * The backend's env files merged over the process environment. A file that is a directory or
 * unreadable, or that does not parse (an unterminated quote: EnvFileError with its file and line),
 * is a CliError naming the file.
 */
export async function readBackendEnv(projectRoot: string, env: NodeJS.ProcessEnv = process.env): Promise<EnvScope> {
  try {
    return await loadEnvScope(projectRoot, env);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { file?: unknown; line?: unknown };
    if (e.name === 'EnvFileError') {
      // Its message names the file (as configured), the line and the fix; never the value.
      const file = typeof e.file === 'string' ? e.file : '';
      const line = typeof e.line === 'number' ? e.line : null;
      const prefix = `${file}${line === null ? '' : `:${line}`}: `;
      const detail = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
      throw new CliError(`env file ${path.resolve(projectRoot, file)}${line === null ? '' : ` line ${line}`}: ${detail}`);
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
      if (!POSTGRES_URL.test(url.protocol)) why = `is a ${url.protocol.replace(/:$/, '')} URL, not a PostgreSQL one`;
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
