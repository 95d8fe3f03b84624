/**
 * `status summary`'s Alembic line costs one Python process at most: the revision set comes from the
 * version table through pg (as preflight reads it) and the heads from ONE inspector run; the
 * `alembic heads` CLI only when the configured python cannot import alembic.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DbClient } from '../../src/activities/deps';
import { alembicChecks, type StatusDeps } from '../../src/cli/status-summary';
import type { EnvScope } from '../../src/config/env-files';
import { loadReleaseConfig, type ReleaseConfig } from '../../src/config/release-config';
import type { RunRequest, RunResult } from '../../src/runtime/command-runner';

const HEAD = '20251107_090000';
const SECRET = 's3cr3t-pw';

let dir: string;
let config: ReleaseConfig;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'status-alembic-'));
  await copyFile(
    path.join(__dirname, '..', '..', 'examples', 'saas-backend', 'release.config.json'),
    path.join(dir, 'release.config.json'),
  );
  config = await loadReleaseConfig(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function scope(
  values: Record<string, string> = { DATABASE_URL: `postgresql://app:${SECRET}@127.0.0.1:5432/app` },
): EnvScope {
  return { values, sources: {}, filesFound: [] };
}

function result(stdout: string, exitCode = 0): RunResult {
  return { exitCode, stdout, stderr: '', all: stdout, durationMs: 1, notFound: false, interrupted: false };
}

/** What tools/alembic_inspect.py prints (format db-release-alembic-inspect/1), without --sql. */
function inspection(heads: string[], unknownCurrent: string[] = []): string {
  return JSON.stringify({
    format: 'db-release-alembic-inspect/1',
    alembic_version: '1.14.0',
    heads,
    current: [],
    unknown_current: unknownCurrent,
    revisions: [],
    pending: [],
  });
}

/** A database whose version table holds `rows` (null: no table), or one that cannot be reached. */
function database(rows: string[] | null | Error) {
  const queries: string[] = [];
  const connectDb = (): Promise<DbClient> => {
    if (rows instanceof Error) return Promise.reject(rows);
    return Promise.resolve({
      query<R extends object>(sql: string) {
        queries.push(sql);
        if (sql.includes('to_regclass'))
          return Promise.resolve({
            rows: [{ found: rows === null ? null : 'alembic_version' }] as unknown as R[],
            rowCount: 1,
          });
        return Promise.resolve({
          rows: (rows ?? []).map((version_num) => ({ version_num })) as unknown as R[],
          rowCount: rows?.length ?? 0,
        });
      },
      end: () => Promise.resolve(),
    });
  };
  return { connectDb, queries };
}

function runner(answer: (command: readonly string[]) => RunResult) {
  const commands: string[][] = [];
  const run = (request: RunRequest) => {
    commands.push([...request.command]);
    return Promise.resolve(answer(request.command));
  };
  return { run, commands };
}

const isInspector = (command: readonly string[]) => command.some((arg) => arg.endsWith('alembic_inspect.py'));
const clean = (text: string) => text.split(SECRET).join('***');

describe('status summary: the Alembic line', () => {
  test('at head: the version table through pg, the heads from one inspector run, no alembic CLI', async () => {
    const db = database([HEAD]);
    const r = runner((command) => (isInspector(command) ? result(inspection([HEAD])) : result('', 1)));
    const deps: StatusDeps = { run: r.run, connectDb: db.connectDb };
    const alembic = await alembicChecks(deps, dir, scope(), config, clean);
    expect(alembic).toEqual({ current: HEAD, current_raw: HEAD, heads: [HEAD], at_head: true, error: null });
    expect(r.commands).toHaveLength(1);
    expect(isInspector(r.commands[0] ?? [])).toBe(true);
    // The inspector is told the set the database is at, and is not asked to render SQL (no env.py run).
    expect(r.commands[0]).toEqual(expect.arrayContaining(['--current', HEAD, '--config', 'alembic.ini']));
    expect(r.commands[0]).not.toContain('--sql');
    expect(r.commands.flat()).not.toContain('current');
    expect(db.queries.some((q) => q.includes('alembic_version'))).toBe(true);
  });

  test('a database at base (no version table): pending migrations, the same one process', async () => {
    const r = runner((command) => (isInspector(command) ? result(inspection([HEAD])) : result('', 1)));
    const alembic = await alembicChecks(
      { run: r.run, connectDb: database(null).connectDb },
      dir,
      scope(),
      config,
      clean,
    );
    expect(alembic).toMatchObject({
      current: null,
      heads: [HEAD],
      at_head: false,
      error: `database at base, head is ${HEAD}: pending migrations`,
    });
    expect(r.commands).toHaveLength(1);
  });

  test('a python without alembic: falls back to `alembic heads`, still no `alembic current`', async () => {
    const r = runner((command) =>
      isInspector(command)
        ? result(JSON.stringify({ error: 'alembic_not_importable', detail: 'No module named alembic' }), 3)
        : result(`${HEAD} (head)\n`),
    );
    const alembic = await alembicChecks(
      { run: r.run, connectDb: database([HEAD]).connectDb },
      dir,
      scope(),
      config,
      clean,
    );
    expect(alembic).toMatchObject({ current: HEAD, heads: [HEAD], at_head: true, error: null });
    expect(r.commands.map((c) => c.at(-1))).toEqual([HEAD, 'heads']);
  });

  test('an unreachable database: the heads are still read, the error names the version table, the password stays hidden', async () => {
    const r = runner((command) => (isInspector(command) ? result(inspection([HEAD])) : result('', 1)));
    const down = database(
      new Error(`connect ECONNREFUSED 127.0.0.1:1 (postgresql://app:${SECRET}@127.0.0.1:1/app)`),
    );
    const alembic = await alembicChecks(
      { run: r.run, connectDb: down.connectDb },
      dir,
      scope(),
      config,
      clean,
    );
    expect(alembic.heads).toEqual([HEAD]);
    expect(alembic.at_head).toBe(false);
    expect(alembic.error).toMatch(/^cannot read alembic_version: connect ECONNREFUSED/);
    expect(alembic.error).not.toContain(SECRET);
    expect(r.commands).toHaveLength(1);
  });

  test('a revision this checkout lacks is named', async () => {
    const r = runner((command) =>
      isInspector(command) ? result(inspection([HEAD], ['ffff'])) : result('', 1),
    );
    const alembic = await alembicChecks(
      { run: r.run, connectDb: database(['ffff']).connectDb },
      dir,
      scope(),
      config,
      clean,
    );
    expect(alembic.error).toBe(
      "the database's alembic_version holds ffff, which this checkout's migrations do not have",
    );
  });
});
