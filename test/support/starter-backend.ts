/**
 * Test support for the monorepo sample (examples/starter-monorepo): the copy itself comes from
 * src/devstack/starter-monorepo.ts (the dev stack uses it too); here are the revision states the
 * tests choose between and a way to run the backend's own Alembic by hand.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { parseReleaseConfig } from '../../src/config/release-config';
import { venvBin } from '../../src/devstack/paths';
import { starterMonorepoSource, type StarterBackend } from '../../src/devstack/starter-monorepo';

export {
  makeBackendVenv,
  patchReleaseConfig,
  prepareStarterBackend,
  STARTER_BACKEND_SUBDIR,
  starterBackendOf,
  starterMonorepoSource,
  type StarterBackend,
  type StarterBackendOptions,
} from '../../src/devstack/starter-monorepo';

/**
 * Named points of the sample's revision graph (README of the sample draws it):
 *
 *   0001 → 0002 → 0003 ─┬ a1 → a2 ─┬ m1 ─┬ 2025_02_ab → 2025_02_ac ─┬ m2* ─┬ c1 → c2 ─┬ m3 → 0017 → 0018
 *                       └ b7 → b8 ─┘     └ 2025_02_ba (depends_on ab)┘      └ d1 → d2 ─┘
 *
 * m2* is the merge whose downgrade raises. A release that starts before it cannot be
 * compensated by downgrading; one that starts at or after it can.
 */
export const STARTER_REVISIONS = {
  head: '0018_plan_display_order',
  /** Every revision file; `alembic upgrade heads` from empty applies all of them. */
  total: 19,
  /** The merge whose downgrade raises NotImplementedError. */
  raisingMerge: 'm2_merge_usage_audit',
  /** A single-row state before the raising merge: downgrading back to it hits the raise. */
  beforeRaisingMerge: 'm1_merge_billing_teams',
  /** A single-row state at the raising merge: downgrading back to it is safe. */
  atRaisingMerge: 'm2_merge_usage_audit',
  /**
   * Two rows in alembic_version, after the raising merge: a branched state that can be restored.
   * Both branches are left half-way (c2 and d2 pending), so after a release downgrading to
   * either row alone is wrong: to d1 keeps c2 (api_key_scopes), to c1 keeps d2
   * (notification_preferences). Downgrading to d1 and then to c1 restores the set.
   */
  branchedAfterRaisingMerge: ['c1_api_keys', 'd1_notifications'],
  /** Two rows in alembic_version, before the raising merge: branched, and not restorable by downgrade. */
  branchedBeforeRaisingMerge: ['a2_billing_invoices', 'b7_add_teams'],
  /**
   * `upgrade 2025_02_ba_audit_log` applies its depends_on (2025_02_ab_usage) too. alembic_version
   * then holds ONE row (`rows`) while `alembic current` prints TWO lines (`currentLines`), and
   * `alembic downgrade 2025_02_ab_usage` is refused ("not a valid downgrade target"). Before the
   * raising merge. Reach it with bringStarterTo(backend, url, ['2025_02_ba_audit_log']).
   */
  dependsOnState: {
    rows: ['2025_02_ba_audit_log'],
    currentLines: ['2025_02_ab_usage', '2025_02_ba_audit_log'],
  },
} as const;

/** The sample's plan catalog (release.config.json), as the migrations seed billing_plans. */
export function starterCatalog(): Array<{ code: string; name: string; amount: number }> {
  const file = path.join(starterMonorepoSource(), 'apps', 'api-service', 'release.config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as {
    catalog: Array<{ code: string; name: string; amount: number }>;
  };
  return config.catalog;
}

/**
 * A `configPatch` that drops the sample config's keys this branch's config schema does not know
 * yet (e.g. `envFiles` before it is added), so the sample runs on any branch; empty once every key
 * is known.
 */
export function unknownConfigKeysPatch(): Record<string, undefined> {
  const file = path.join(starterMonorepoSource(), 'apps', 'api-service', 'release.config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const patch: Record<string, undefined> = {};
  for (const [key, value] of Object.entries(config)) {
    try {
      parseReleaseConfig(JSON.stringify({ [key]: value }));
    } catch {
      patch[key] = undefined;
    }
  }
  return patch;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the backend's own `.venv/bin/alembic -c alembic.ini <args>` in apps/api-service, with the
 * project's tools venv taken OFF the PATH: what works here works without it.
 */
export function starterAlembic(
  backend: StarterBackend,
  databaseUrl: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CommandResult> {
  const toolsBin = venvBin();
  const PATH = (process.env.PATH ?? '/usr/bin:/bin')
    .split(path.delimiter)
    .filter((dir) => dir && path.resolve(dir) !== path.resolve(toolsBin))
    .join(path.delimiter);
  return new Promise((resolve) => {
    execFile(
      backend.alembic,
      ['-c', 'alembic.ini', ...args],
      {
        cwd: backend.backendDir,
        env: { HOME: process.env.HOME ?? '/tmp', PATH, DATABASE_URL: databaseUrl, ...env },
        maxBuffer: 256 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs alembic and throws with its stderr when it fails. */
export async function starterAlembicOk(
  backend: StarterBackend,
  databaseUrl: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const result = await starterAlembic(backend, databaseUrl, args, env);
  if (result.code !== 0)
    throw new Error(`alembic ${args.join(' ')} exited ${result.code}: ${result.stderr.slice(-2000)}`);
  return result.stdout;
}

/**
 * Brings a database to a revision set by upgrading to each revision in turn: from empty,
 * `['c1_api_keys', 'd1_notifications']` leaves exactly those two rows in alembic_version.
 */
export async function bringStarterTo(
  backend: StarterBackend,
  databaseUrl: string,
  revisions: readonly string[],
): Promise<void> {
  for (const revision of revisions) await starterAlembicOk(backend, databaseUrl, ['upgrade', revision]);
}

/** The rows of alembic_version, sorted (empty when the table does not exist). */
export async function alembicVersionRows(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const exists = await client.query<{ t: string | null }>(
      "select to_regclass('public.alembic_version')::text as t",
    );
    if (!exists.rows[0]?.t) return [];
    const { rows } = await client.query<{ version_num: string }>('select version_num from alembic_version');
    return rows.map((r) => r.version_num).sort();
  } finally {
    await client.end();
  }
}
