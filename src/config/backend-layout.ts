/**
 * Where a backend keeps what a release needs: its env files (possibly above it, at a monorepo's
 * root), its own virtualenv (so `alembic` is the one with the backend's packages, not whatever is
 * first on the worker's PATH), and the programs of its migrate and Alembic commands. The worker
 * checks this once at start (and refuses to start with the fix); every backend command then runs
 * with the venv's bin first on PATH.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { venvBin as toolsVenvBin } from '../devstack/paths';
import { envFilesOf, type ReleaseConfig } from './release-config';

export type VenvSource = 'config' | 'project root' | 'repository root' | 'VIRTUAL_ENV';

export interface LayoutEnvFile {
  /** As configured (relative to the project root), the name shown to people and in `sources`. */
  configured: string;
  path: string;
  /** `file`, `directory` (bad input), or `missing`. */
  kind: 'file' | 'directory' | 'missing';
}

export interface BackendLayout {
  projectRoot: string;
  /** The git repository holding the backend (the folder with `.git`), or null outside one. */
  repositoryRoot: string | null;
  envFiles: LayoutEnvFile[];
  /** The config named the env files: each must then exist. The default list may be partly absent. */
  envFilesExplicit: boolean;
  venv: { path: string; source: VenvSource } | null;
  /** Put before the worker's PATH: the venv's bin. */
  pathPrefix: string[];
  /**
   * Put after the worker's PATH: this checkout's `.tools/venv/bin` (what `npm run tools`
   * installs), so a worker started as the README says finds `just` and `alembic` for the sample
   * backend, without shadowing the ones a user installed.
   */
  pathSuffix: string[];
  /** The PATH backend commands run with. */
  path: string;
  /** The programs of `migrateCommand` and `alembicCommand`, absolute, or null when not found. */
  commands: { migrate: string | null; alembic: string | null };
  /** The Alembic config file `alembicCommand` names (`-c`/`--config`, else `alembic.ini`), absolute; null when the command is not Alembic itself. */
  alembicConfig: string | null;
  /** What stops a release on this layout, each naming the fix; empty when the worker may start. */
  problems: string[];
}

type Env = Readonly<Record<string, string | undefined>>;

async function kindOf(file: string): Promise<'file' | 'directory' | 'missing'> {
  const info = await stat(file).catch(() => null);
  if (!info) return 'missing';
  return info.isDirectory() ? 'directory' : 'file';
}

async function isExecutableFile(file: string): Promise<boolean> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return false;
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** The folder holding `.git` (a folder, or a file in a git worktree) at or above `dir`. */
export async function repositoryRootOf(dir: string): Promise<string | null> {
  let current = path.resolve(dir);
  for (;;) {
    if ((await kindOf(path.join(current, '.git'))) !== 'missing') return current;
    const parent = path.dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

/** A virtualenv is a folder with `bin/python`. */
async function isVenv(dir: string): Promise<boolean> {
  return (await stat(path.join(dir, 'bin', 'python')).catch(() => null)) !== null;
}

async function findVenv(
  projectRoot: string,
  repositoryRoot: string | null,
  configured: string | undefined,
  env: Env,
): Promise<{ venv: BackendLayout['venv']; problem: string | null }> {
  if (configured !== undefined) {
    const dir = path.resolve(projectRoot, configured);
    if (await isVenv(dir)) return { venv: { path: dir, source: 'config' }, problem: null };
    return {
      venv: null,
      problem:
        `release.config.json "venv": ${configured} (${dir}) is not a virtualenv (no bin/python); ` +
        `create it (python3 -m venv ${configured}, then install the backend into it) or fix the path, relative to ${projectRoot}`,
    };
  }
  const roots: Array<[string, VenvSource]> = [[projectRoot, 'project root']];
  if (repositoryRoot && repositoryRoot !== projectRoot) roots.push([repositoryRoot, 'repository root']);
  for (const [root, source] of roots) {
    for (const name of ['.venv', 'venv']) {
      const dir = path.join(root, name);
      if (await isVenv(dir)) return { venv: { path: dir, source }, problem: null };
    }
  }
  const active = env.VIRTUAL_ENV;
  if (active && path.isAbsolute(active) && (await isVenv(active)))
    return { venv: { path: active, source: 'VIRTUAL_ENV' }, problem: null };
  return { venv: null, problem: null };
}

/** The absolute executable `program` resolves to with this PATH (relative paths from `cwd`), or null. */
export async function resolveProgram(
  program: string,
  searchPath: string,
  cwd: string,
): Promise<string | null> {
  if (program.includes('/')) {
    const file = path.resolve(cwd, program);
    return (await isExecutableFile(file)) ? file : null;
  }
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.resolve(cwd, dir, program);
    if (await isExecutableFile(file)) return file;
  }
  return null;
}

/**
 * The Alembic config file an Alembic command line uses, relative to `cwd`: its `-c`/`--config`,
 * else ALEMBIC_CONFIG, else `alembic.ini`. Null when the command is not Alembic itself (e.g. a
 * `just` recipe), whose config the tool cannot see.
 */
export function alembicConfigOf(command: readonly string[], cwd: string, env: Env): string | null {
  for (let i = 1; i < command.length; i += 1) {
    const arg = command[i] as string;
    if ((arg === '-c' || arg === '--config') && command[i + 1])
      return path.resolve(cwd, command[i + 1] as string);
    if (arg.startsWith('--config=')) return path.resolve(cwd, arg.slice('--config='.length));
  }
  const program = path.basename(command[0] ?? '');
  const moduleRun = command.some((arg, i) => arg === 'alembic' && command[i - 1] === '-m');
  if (program !== 'alembic' && !moduleRun) return null;
  return path.resolve(cwd, env.ALEMBIC_CONFIG || 'alembic.ini');
}

function notFound(
  key: 'migrateCommand' | 'alembicCommand',
  command: readonly string[],
  layout: Pick<BackendLayout, 'venv' | 'projectRoot'>,
): string {
  const program = command[0] ?? '';
  const where = layout.venv
    ? `the backend's virtualenv ${layout.venv.path}/bin, the worker's PATH`
    : "the worker's PATH (no virtualenv found)";
  const venvHint = layout.venv
    ? `install it into ${layout.venv.path}`
    : `create the backend's virtualenv (.venv in ${layout.projectRoot}) or set "venv" in release.config.json`;
  return `${key} "${command.join(' ')}": "${program}" was not found in ${where}; ${venvHint}, install "${program}", or change "${key}" in release.config.json`;
}

/**
 * Finds the backend's env files, virtualenv and command programs. `env` is the scope the commands
 * run with (the env files over the process env): its PATH and VIRTUAL_ENV count.
 */
export async function resolveBackendLayout(
  projectRoot: string,
  config: Pick<ReleaseConfig, 'envFiles' | 'venv' | 'migrateCommand' | 'alembicCommand'>,
  env: Env,
): Promise<BackendLayout> {
  const root = path.resolve(projectRoot);
  const problems: string[] = [];
  const repositoryRoot = await repositoryRootOf(root);

  const { files, explicit } = envFilesOf(config);
  const envFiles: LayoutEnvFile[] = [];
  for (const configured of files) {
    const file = path.resolve(root, configured);
    const kind = await kindOf(file);
    envFiles.push({ configured, path: file, kind });
    if (kind === 'directory') {
      problems.push(
        `env file ${configured} (${file}) is a directory, not an env file; remove the directory or list a file in release.config.json "envFiles"`,
      );
    } else if (kind === 'missing' && explicit) {
      problems.push(
        `env file ${configured} (${file}), listed in release.config.json "envFiles", does not exist; create it or remove it from "envFiles"`,
      );
    }
  }

  const { venv, problem } = await findVenv(root, repositoryRoot, config.venv, env);
  if (problem) problems.push(problem);
  const pathPrefix = venv ? [path.join(venv.path, 'bin')] : [];
  const current = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const tools = toolsVenvBin();
  const pathSuffix =
    (await stat(tools).catch(() => null))?.isDirectory() && !current.includes(tools) ? [tools] : [];
  const searchPath = [
    ...pathPrefix,
    ...current.filter((dir) => !pathPrefix.includes(dir)),
    ...pathSuffix,
  ].join(path.delimiter);

  const layoutSoFar = { venv, projectRoot: root };
  const migrate = await resolveProgram(config.migrateCommand[0] ?? '', searchPath, root);
  if (!migrate) problems.push(notFound('migrateCommand', config.migrateCommand, layoutSoFar));
  const alembic = await resolveProgram(config.alembicCommand[0] ?? '', searchPath, root);
  if (!alembic) problems.push(notFound('alembicCommand', config.alembicCommand, layoutSoFar));

  const alembicConfig = alembicConfigOf(config.alembicCommand, root, env);
  if (alembicConfig && (await kindOf(alembicConfig)) !== 'file') {
    problems.push(
      `the Alembic config ${alembicConfig} (from alembicCommand "${config.alembicCommand.join(' ')}") is missing; ` +
        'point --project-root at the backend folder that holds alembic.ini, or fix the -c path in "alembicCommand" in release.config.json',
    );
  }

  return {
    projectRoot: root,
    repositoryRoot,
    envFiles,
    envFilesExplicit: explicit,
    venv,
    pathPrefix,
    pathSuffix,
    path: searchPath,
    commands: { migrate, alembic },
    alembicConfig,
    problems,
  };
}

/** The env a backend command runs with: the scope, with the layout's PATH and (when found) VIRTUAL_ENV. */
export function backendCommandEnv(
  layout: Pick<BackendLayout, 'path' | 'venv'>,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  return { ...values, PATH: layout.path, ...(layout.venv ? { VIRTUAL_ENV: layout.venv.path } : {}) };
}

/** The worker's start line: which backend, which alembic it will run, which env files it read. */
export function describeLayout(layout: BackendLayout, alembicCommand: readonly string[]): string {
  const alembic = layout.commands.alembic ?? alembicCommand[0] ?? '?';
  const runs =
    path.basename(alembic) === 'alembic' ? alembic : [alembic, ...alembicCommand.slice(1)].join(' ');
  const read = layout.envFiles.filter((f) => f.kind === 'file').map((f) => f.configured);
  const env = read.length
    ? read.join(', ')
    : `none (looked for ${layout.envFiles.map((f) => f.configured).join(', ')})`;
  const venv = layout.venv ? ` · venv ${layout.venv.path} (${layout.venv.source})` : '';
  return `worker: backend ${layout.projectRoot} · alembic ${runs} · env ${env}${venv}`;
}
