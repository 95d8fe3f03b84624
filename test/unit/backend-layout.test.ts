/**
 * Where a backend keeps its env files, virtualenv and programs (issue 12 item 7): the layout the
 * worker checks at start and every backend command runs with.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  alembicConfigOf,
  backendCommandEnv,
  describeLayout,
  resolveBackendLayout,
} from '../../src/config/backend-layout';
import { parseReleaseConfig, type ReleaseConfig } from '../../src/config/release-config';
import { removeTempDirs, tempDir } from '../support/fakes';

const savedToolsDir = process.env.DB_RELEASE_TOOLS_DIR;
let emptyTools = '';

beforeAll(() => {
  // The checkout's own .tools/venv/bin would otherwise answer for every program.
  emptyTools = tempDir('layout-no-tools-');
  process.env.DB_RELEASE_TOOLS_DIR = emptyTools;
});

afterAll(() => {
  if (savedToolsDir === undefined) delete process.env.DB_RELEASE_TOOLS_DIR;
  else process.env.DB_RELEASE_TOOLS_DIR = savedToolsDir;
  removeTempDirs();
});

function file(at: string, text = '', mode = 0o644): string {
  mkdirSync(path.dirname(at), { recursive: true });
  writeFileSync(at, text);
  chmodSync(at, mode);
  return at;
}

const program = (at: string) => file(at, '#!/bin/sh\nexit 0\n', 0o755);

/** A virtualenv as far as the layout cares: bin/python, plus the named programs. */
function venv(dir: string, ...programs: string[]): string {
  program(path.join(dir, 'bin', 'python'));
  for (const name of programs) program(path.join(dir, 'bin', name));
  return dir;
}

function config(json: object = {}): ReleaseConfig {
  return parseReleaseConfig(JSON.stringify(json));
}

/** A backend folder with alembic.ini, inside a git repository at `repo` when asked. */
function backend(options: { monorepo?: boolean } = {}): { repo: string; root: string } {
  const repo = tempDir('layout-repo-');
  mkdirSync(path.join(repo, '.git'));
  const root = options.monorepo ? path.join(repo, 'apps', 'api-service') : repo;
  file(path.join(root, 'alembic.ini'), '[alembic]\n');
  return { repo, root };
}

/** A PATH holding only a folder with the given programs (and nothing of this machine's). */
function pathWith(...programs: string[]): string {
  const bin = tempDir('layout-path-');
  for (const name of programs) program(path.join(bin, name));
  return bin;
}

describe('the backend virtualenv', () => {
  test('.venv in the project root comes first on PATH and answers for alembic', async () => {
    const { root } = backend();
    venv(path.join(root, '.venv'), 'alembic');
    const elsewhere = pathWith('alembic', 'just');
    const layout = await resolveBackendLayout(root, config(), { PATH: elsewhere });
    expect(layout.venv).toEqual({ path: path.join(root, '.venv'), source: 'project root' });
    expect(layout.pathPrefix).toEqual([path.join(root, '.venv', 'bin')]);
    expect(layout.path.split(path.delimiter)).toEqual([path.join(root, '.venv', 'bin'), elsewhere]);
    expect(layout.commands).toEqual({
      migrate: path.join(elsewhere, 'just'),
      alembic: path.join(root, '.venv', 'bin', 'alembic'),
    });
    expect(layout.problems).toEqual([]);
  });

  test('monorepo: the venv at the repository root is found from apps/api-service', async () => {
    const { repo, root } = backend({ monorepo: true });
    venv(path.join(repo, '.venv'), 'alembic', 'just');
    const layout = await resolveBackendLayout(root, config(), { PATH: '/nonexistent-bin' });
    expect(layout.repositoryRoot).toBe(repo);
    expect(layout.venv).toEqual({ path: path.join(repo, '.venv'), source: 'repository root' });
    expect(layout.commands.alembic).toBe(path.join(repo, '.venv', 'bin', 'alembic'));
    expect(layout.problems).toEqual([]);
  });

  test('the project root wins over the repository root; .venv over venv; a folder without bin/python is no venv', async () => {
    const { repo, root } = backend({ monorepo: true });
    venv(path.join(repo, '.venv'), 'alembic');
    file(path.join(root, '.venv', 'bin', 'alembic'), '', 0o755); // no bin/python: not a virtualenv
    venv(path.join(root, 'venv'), 'alembic');
    const layout = await resolveBackendLayout(root, config(), { PATH: '' });
    expect(layout.venv).toEqual({ path: path.join(root, 'venv'), source: 'project root' });
  });

  test('config "venv" (relative to the project root, may leave it) wins over auto-detection', async () => {
    const { repo, root } = backend({ monorepo: true });
    venv(path.join(root, '.venv'), 'alembic');
    venv(path.join(repo, 'envs', 'api'), 'alembic');
    const layout = await resolveBackendLayout(root, config({ venv: '../../envs/api' }), { PATH: '' });
    expect(layout.venv).toEqual({ path: path.join(repo, 'envs', 'api'), source: 'config' });
    expect(layout.commands.alembic).toBe(path.join(repo, 'envs', 'api', 'bin', 'alembic'));
  });

  test('a configured venv that is not there is a problem naming the key and the fix', async () => {
    const { root } = backend();
    const layout = await resolveBackendLayout(root, config({ venv: '.venv-missing' }), {
      PATH: pathWith('alembic', 'just'),
    });
    expect(layout.venv).toBeNull();
    expect(layout.problems).toEqual([
      expect.stringMatching(
        /^release\.config\.json "venv": \.venv-missing \(.*\.venv-missing\) is not a virtualenv \(no bin\/python\); create it \(python3 -m venv \.venv-missing/,
      ),
    ]);
  });

  test('VIRTUAL_ENV is the last resort', async () => {
    const { root } = backend();
    const active = venv(path.join(tempDir('layout-active-'), 'env'), 'alembic');
    const layout = await resolveBackendLayout(root, config(), {
      PATH: pathWith('just'),
      VIRTUAL_ENV: active,
    });
    expect(layout.venv).toEqual({ path: active, source: 'VIRTUAL_ENV' });
    expect(layout.commands.alembic).toBe(path.join(active, 'bin', 'alembic'));
  });

  test('no venv: programs come from PATH; a missing one is a problem naming the key and the fix', async () => {
    const { root } = backend();
    const layout = await resolveBackendLayout(root, config(), { PATH: pathWith('just') });
    expect(layout.venv).toBeNull();
    expect(layout.pathPrefix).toEqual([]);
    expect(layout.commands.alembic).toBeNull();
    expect(layout.problems).toEqual([
      'alembicCommand "alembic -c alembic.ini": "alembic" was not found in the worker\'s PATH (no virtualenv found); ' +
        `create the backend's virtualenv (.venv in ${root}) or set "venv" in release.config.json, install "alembic", or change "alembicCommand" in release.config.json`,
    ]);
  });

  test("this checkout's .tools/venv/bin is searched last, after the worker's PATH", async () => {
    const { root } = backend();
    const tools = tempDir('layout-tools-');
    program(path.join(tools, 'venv', 'bin', 'alembic'));
    program(path.join(tools, 'venv', 'bin', 'just'));
    const own = pathWith('just');
    process.env.DB_RELEASE_TOOLS_DIR = tools;
    try {
      const layout = await resolveBackendLayout(root, config(), { PATH: own });
      expect(layout.pathSuffix).toEqual([path.join(tools, 'venv', 'bin')]);
      expect(layout.commands).toEqual({
        migrate: path.join(own, 'just'),
        alembic: path.join(tools, 'venv', 'bin', 'alembic'),
      });
    } finally {
      process.env.DB_RELEASE_TOOLS_DIR = emptyTools;
    }
  });

  test('commands run with the venv first on PATH and VIRTUAL_ENV set; the scope is otherwise unchanged', async () => {
    const { root } = backend();
    venv(path.join(root, '.venv'), 'alembic', 'just');
    const layout = await resolveBackendLayout(root, config(), { PATH: '/usr/bin:/bin' });
    expect(backendCommandEnv(layout, { PATH: '/usr/bin:/bin', DATABASE_URL: 'postgresql://x' })).toEqual({
      PATH: [path.join(root, '.venv', 'bin'), '/usr/bin', '/bin'].join(path.delimiter),
      VIRTUAL_ENV: path.join(root, '.venv'),
      DATABASE_URL: 'postgresql://x',
    });
  });

  test('a program given as a path resolves from the project root', async () => {
    const { root } = backend();
    program(path.join(root, 'bin', 'migrate.sh'));
    const layout = await resolveBackendLayout(
      root,
      config({ migrateCommand: ['./bin/migrate.sh'], alembicCommand: ['./bin/nope', '-c', 'alembic.ini'] }),
      { PATH: '' },
    );
    expect(layout.commands).toEqual({ migrate: path.join(root, 'bin', 'migrate.sh'), alembic: null });
  });
});

describe('the Alembic config file', () => {
  test.each([
    [['alembic', '-c', 'db/alembic.ini'], 'db/alembic.ini'],
    [['alembic', '--config', 'x.ini', 'upgrade'], 'x.ini'],
    [['alembic', '--config=y.ini'], 'y.ini'],
    [['/opt/venv/bin/alembic'], 'alembic.ini'],
    [['python3', '-m', 'alembic'], 'alembic.ini'],
  ])('%p names %p', (command, expected) => {
    expect(alembicConfigOf(command, '/srv/api', {})).toBe(path.join('/srv/api', expected));
  });

  test('ALEMBIC_CONFIG counts when the command gives none; a recipe (just) is not checked', () => {
    expect(alembicConfigOf(['alembic'], '/srv/api', { ALEMBIC_CONFIG: 'conf/a.ini' })).toBe(
      '/srv/api/conf/a.ini',
    );
    expect(alembicConfigOf(['just', 'alembic'], '/srv/api', {})).toBeNull();
  });

  test('a missing alembic.ini is a problem naming the file and the fix', async () => {
    const root = tempDir('layout-no-ini-');
    const layout = await resolveBackendLayout(root, config(), { PATH: pathWith('alembic', 'just') });
    expect(layout.problems).toEqual([
      `the Alembic config ${path.join(root, 'alembic.ini')} (from alembicCommand "alembic -c alembic.ini") is missing; ` +
        'point --project-root at the backend folder that holds alembic.ini, or fix the -c path in "alembicCommand" in release.config.json',
    ]);
  });
});

describe('the env files', () => {
  test('the default list may be partly absent; the files are listed as configured', async () => {
    const { root } = backend();
    file(path.join(root, '.env.local'), 'A=1\n');
    const layout = await resolveBackendLayout(root, config(), { PATH: pathWith('alembic', 'just') });
    expect(layout.envFilesExplicit).toBe(false);
    expect(layout.envFiles.map((f) => [f.configured, f.kind])).toEqual([
      ['.env.local', 'file'],
      ['.env', 'missing'],
      ['.env.compose', 'missing'],
    ]);
    expect(layout.problems).toEqual([]);
  });

  test('an explicit list entry that is missing, or a directory, is a problem', async () => {
    const { repo, root } = backend({ monorepo: true });
    file(path.join(root, '.env.local'), 'A=1\n');
    mkdirSync(path.join(repo, '.env.compose'));
    const layout = await resolveBackendLayout(
      root,
      config({ envFiles: ['.env.local', '.env', '../../.env.compose'] }),
      {
        PATH: pathWith('alembic', 'just'),
      },
    );
    expect(layout.envFilesExplicit).toBe(true);
    expect(layout.envFiles[2]).toEqual({
      configured: '../../.env.compose',
      path: path.join(repo, '.env.compose'),
      kind: 'directory',
    });
    expect(layout.problems).toEqual([
      `env file .env (${path.join(root, '.env')}), listed in release.config.json "envFiles", does not exist; create it or remove it from "envFiles"`,
      `env file ../../.env.compose (${path.join(repo, '.env.compose')}) is a directory, not an env file; remove the directory or list a file in release.config.json "envFiles"`,
    ]);
  });

  test('config: envFiles must be relative, non-empty and without duplicates', () => {
    expect(() => config({ envFiles: [] })).toThrow(/envFiles: list at least one env file/);
    expect(() => config({ envFiles: ['/etc/app.env'] })).toThrow(
      /envFiles\.0: use a path relative to the backend/,
    );
    expect(() => config({ envFiles: ['.env', './.env'] })).toThrow(/envFiles: an env file is listed twice/);
    expect(() => config({ venv: '' })).toThrow(/venv: give the virtualenv folder/);
    expect(config({ envFiles: ['.env.local', '../../.env.compose'], venv: '.venv' })).toMatchObject({
      envFiles: ['.env.local', '../../.env.compose'],
      venv: '.venv',
    });
  });
});

describe("the worker's start line", () => {
  test('names the backend, the alembic it runs (absolute) and the env files it read', async () => {
    const { repo, root } = backend({ monorepo: true });
    venv(path.join(root, '.venv'), 'alembic', 'just');
    file(path.join(root, '.env.local'), 'A=1\n');
    file(path.join(repo, '.env.compose'), 'B=1\n');
    const cfg = config({ envFiles: ['.env.local', '../../.env.compose'] });
    const layout = await resolveBackendLayout(root, cfg, { PATH: '' });
    expect(describeLayout(layout, cfg.alembicCommand)).toBe(
      `worker: backend ${root} · alembic ${path.join(root, '.venv', 'bin', 'alembic')} · env .env.local, ../../.env.compose · venv ${path.join(root, '.venv')} (project root)`,
    );
  });

  test('with no env file it says where it looked', async () => {
    const { root } = backend();
    const alembicBin = pathWith('alembic', 'just');
    const cfg = config();
    const layout = await resolveBackendLayout(root, cfg, { PATH: alembicBin });
    expect(describeLayout(layout, cfg.alembicCommand)).toBe(
      `worker: backend ${root} · alembic ${path.join(alembicBin, 'alembic')} · env none (looked for .env.local, .env, .env.compose)`,
    );
  });
});
