/**
 * The second sample backend, `examples/starter-monorepo`: a monorepo whose backend lives in
 * `apps/api-service` with its own virtualenv, env files split between the backend and the
 * repository root, and a branched Alembic history. See examples/starter-monorepo/README.md.
 */
import { execFileSync } from 'node:child_process';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot, toolsDir } from './paths';
import { commitAll, copySample, devEnvLines, type SampleBackendOptions } from './sample-backend';

/** Where the backend sits inside the monorepo; the release tool's project root. */
export const STARTER_BACKEND_SUBDIR = path.join('apps', 'api-service');

/** Where the copy of the repository goes (`dir`, replaced), its database and Stripe peer, and: */
export interface StarterBackendOptions extends SampleBackendOptions {
  /**
   * Written to `.env.local` as ENABLE_BILLING=true/false. Left out, the repository root's
   * `.env.compose` decides, and it says false (the upstream starter's default).
   */
  billing?: boolean;
  /** STRIPE_PRODUCT_PRICE_MAP for `.env.local` (compact JSON), e.g. from `seedStarterStripe`. */
  priceMap?: Readonly<Record<string, string>>;
  /** More `.env.local` lines, e.g. { STARTER_NOISY_MIGRATION_MB: '25' }. */
  extraEnv?: Readonly<Record<string, string>>;
  /**
   * Changes to `apps/api-service/release.config.json`, applied before the commit: each key is set,
   * or removed when its value is `undefined`. Lets a branch whose config schema does not know a
   * key yet (e.g. `envFiles`) drop it, and lets tests choose `alembicCommand`, `venv`, etc.
   */
  configPatch?: Readonly<Record<string, unknown>>;
  /** Skip making `.venv` (tests of the "no virtualenv" case). Default false. */
  withoutVenv?: boolean;
}

export interface StarterBackend {
  /** The copy's repository root (`.env.compose`, `justfile`, `.git`). */
  repoRoot: string;
  /** `apps/api-service`: the project root to give the release tool and its worker. */
  backendDir: string;
  /** The backend's own virtualenv, `apps/api-service/.venv`. */
  venvDir: string;
  /** `.venv/bin/alembic`, absolute. */
  alembic: string;
}

export function starterMonorepoSource(): string {
  return path.join(repoRoot(), 'examples', 'starter-monorepo');
}

/**
 * A fresh copy of the monorepo sample the way an operator's checkout looks: `.env.local` written
 * for this database and Stripe peer, git history at the repository root, and the backend's venv.
 * The database URL keeps a `${POSTGRES_PASSWORD}` placeholder that only the root `.env.compose`
 * defines, so reading env files from the repository root is exercised for real.
 */
export async function prepareStarterBackend(options: StarterBackendOptions): Promise<StarterBackend> {
  const root = options.dir;
  const backendDir = path.join(root, STARTER_BACKEND_SUBDIR);
  await copySample(starterMonorepoSource(), root, /__pycache__|\.env\.local$|[\\/]\.venv$/);
  const lines = devEnvLines(options);
  if (options.billing !== undefined) lines.push(`ENABLE_BILLING=${options.billing ? 'true' : 'false'}`);
  if (options.priceMap) lines.push(`STRIPE_PRODUCT_PRICE_MAP=${JSON.stringify(options.priceMap)}`);
  for (const [key, value] of Object.entries(options.extraEnv ?? {})) lines.push(`${key}=${value}`);
  await writeFile(path.join(backendDir, '.env.local'), lines.join('\n') + '\n', { mode: 0o600 });

  if (options.configPatch) await patchReleaseConfig(backendDir, options.configPatch);

  commitAll(root, 'starter monorepo sample');

  if (!options.withoutVenv) await makeBackendVenv(path.join(backendDir, '.venv'));
  return starterBackendOf(backendDir);
}

/** The paths of a prepared copy, from its backend dir (e.g. a stack's `backendDir`). */
export function starterBackendOf(backendDir: string): StarterBackend {
  const venvDir = path.join(backendDir, '.venv');
  return {
    repoRoot: path.resolve(backendDir, '..', '..'),
    backendDir,
    venvDir,
    alembic: path.join(venvDir, 'bin', 'alembic'),
  };
}

/** Sets (or, for `undefined`, removes) top-level keys of the backend's release.config.json. */
export async function patchReleaseConfig(
  backendDir: string,
  patch: Readonly<Record<string, unknown>>,
): Promise<void> {
  const file = path.join(backendDir, 'release.config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  await writeFile(file, JSON.stringify(config, null, 2) + '\n');
}

async function sitePackagesOf(venv: string): Promise<string> {
  const lib = path.join(venv, 'lib');
  const python = (await readdir(lib)).find((name) => /^python3\.\d+$/.test(name));
  if (!python) throw new Error(`no lib/python3.* in ${venv}: is it a virtualenv?`);
  return path.join(lib, python, 'site-packages');
}

/**
 * The backend's own virtualenv, made without downloading anything: an empty venv from the
 * project's tools Python, a `.pth` that puts the tools venv's packages (alembic, SQLAlchemy,
 * psycopg2) on its path, and an `alembic` console script. The tools venv's `bin` is never
 * needed on PATH: what a per-test `pip install` would give, for a fraction of a second.
 */
export async function makeBackendVenv(venvDir: string): Promise<void> {
  const toolsVenv = path.join(toolsDir(), 'venv');
  execFileSync(path.join(toolsVenv, 'bin', 'python3'), ['-m', 'venv', '--without-pip', venvDir], {
    stdio: 'ignore',
  });
  const [own, tools] = await Promise.all([sitePackagesOf(venvDir), sitePackagesOf(toolsVenv)]);
  await writeFile(path.join(own, '_db_release_tools.pth'), tools + '\n');
  // pip's relocatable launcher: sh finds the venv's python beside the script, whatever the
  // length of the path (a #! line to a deep temp dir could exceed the kernel's limit).
  const alembic = path.join(venvDir, 'bin', 'alembic');
  await writeFile(
    alembic,
    [
      '#!/bin/sh',
      `'''exec' "$(dirname -- "$(realpath -- "$0")")/python" "$0" "$@"`,
      "' '''",
      'import sys',
      'from alembic.config import main',
      "if __name__ == '__main__':",
      '    sys.exit(main())',
      '',
    ].join('\n'),
  );
  await chmod(alembic, 0o755);
}
