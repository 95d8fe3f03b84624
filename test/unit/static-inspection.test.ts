/**
 * The inspector's static read (issue 15): a database at the single head is answered from the
 * scripts' own declarations without importing Alembic, and only when they are plain. Each case
 * runs the real tools/alembic_inspect.py; the static answer must equal Alembic's.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { venvBin } from '../../src/devstack/paths';
import { removeTempDirs, tempDir } from '../support/fakes';

const REPO = path.join(__dirname, '..', '..');
const SCRIPT = path.join(REPO, 'tools', 'alembic_inspect.py');

afterAll(removeTempDirs);

interface Document {
  reader?: string;
  error?: string;
  heads?: string[];
  pending?: string[];
  revisions?: unknown[];
  sources?: { fingerprint: string | null };
  alembic_version?: string;
}

function inspect(cwd: string, current: string, ...extra: string[]): Document {
  let stdout: string;
  try {
    stdout = execFileSync(
      path.join(venvBin(), 'python3'),
      [SCRIPT, '--config', 'alembic.ini', '--current', current, ...extra],
      { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' }, encoding: 'utf8' },
    );
  } catch (error) {
    stdout = (error as { stdout?: string }).stdout ?? '';
  }
  return JSON.parse(stdout.trim().split('\n')[0] ?? '{}') as Document;
}

/** A backend with an alembic.ini and these revision files. */
function backend(
  files: Record<string, string>,
  ini = '[alembic]\nscript_location = %(here)s/migrations\n',
): string {
  const dir = tempDir('db-release-static-');
  mkdirSync(path.join(dir, 'migrations', 'versions'), { recursive: true });
  writeFileSync(path.join(dir, 'alembic.ini'), ini);
  for (const [name, text] of Object.entries(files))
    writeFileSync(path.join(dir, 'migrations', 'versions', name), text);
  return dir;
}

const rev = (id: string, down: string | null, extra = '') =>
  `"""${id} message\n\nlonger text"""\nfrom typing import Sequence, Union\n\nrevision: str = ${JSON.stringify(id)}\n` +
  `down_revision: Union[str, Sequence[str], None] = ${down === null ? 'None' : JSON.stringify(down)}\n${extra}\n` +
  'def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    raise NotImplementedError\n';

describe('the static read at the head', () => {
  test('answers the saas sample at its head exactly as Alembic does, without importing it', () => {
    const dir = tempDir('db-release-static-');
    cpSync(path.join(REPO, 'examples', 'saas-backend'), dir, { recursive: true });
    const quick = inspect(dir, '20251107_090000');
    const full = inspect(dir, '20251107_090000', '--alembic');
    expect(quick.reader).toBe('static');
    expect(full.reader).toBeUndefined();
    expect(full.alembic_version).toMatch(/^\d+\.\d+/);
    expect(quick.heads).toEqual(full.heads);
    expect(quick.pending).toEqual([]);
    expect(quick.revisions).toEqual(full.revisions);
    expect(quick.sources).toEqual(full.sources);
  });

  test('a plain chain written the way `alembic revision` writes it (annotated assignments) is read statically', () => {
    const dir = backend({ 'a.py': rev('a', null), 'b.py': rev('b', 'a'), '__init__.py': '' });
    const quick = inspect(dir, 'b');
    expect(quick.reader).toBe('static');
    expect(quick.heads).toEqual(['b']);
    expect(quick.revisions).toEqual(inspect(dir, 'b', '--alembic').revisions);
  });

  test.each([
    ['a computed id', { 'a.py': rev('a', null), 'b.py': rev('b', 'a').replace('= "b"', '= "b" + ""') }, 'b'],
    [
      'a down_revision set under a condition',
      {
        'a.py': rev('a', null),
        'b.py': rev('b', 'a').replace(
          'down_revision: Union[str, Sequence[str], None] = "a"',
          'if True:\n    down_revision = "a"',
        ),
      },
      'b',
    ],
    ['branch labels', { 'a.py': rev('a', null, 'branch_labels = ("x",)'), 'b.py': rev('b', 'a') }, 'b'],
    ['depends_on', { 'a.py': rev('a', null), 'b.py': rev('b', 'a', 'depends_on = "a"') }, 'b'],
    ['an imported id', { 'a.py': rev('a', null), 'b.py': `from ids import revision\n${rev('b', 'a')}` }, 'b'],
    ['two heads', { 'a.py': rev('a', null), 'b.py': rev('b', 'a'), 'c.py': rev('c', 'a') }, 'b,c'],
    ['a database below the head', { 'a.py': rev('a', null), 'b.py': rev('b', 'a') }, 'a'],
    ['a file without an id', { 'a.py': rev('a', null), 'b.py': rev('b', 'a'), 'notes.py': 'x = 1\n' }, 'b'],
  ])('%s is left to Alembic', (_what, files, current) => {
    const doc = inspect(backend(files), current);
    expect(doc.reader).toBeUndefined();
  });

  test('version_locations in alembic.ini is left to Alembic', () => {
    const dir = backend(
      { 'a.py': rev('a', null) },
      '[alembic]\nscript_location = %(here)s/migrations\nversion_locations = %(here)s/migrations/versions\n',
    );
    const doc = inspect(dir, 'a');
    expect(doc.reader).toBeUndefined();
    expect(doc.heads).toEqual(['a']);
  });

  test('the starter monorepo (depends_on, merges) is inspected by Alembic even at its head', () => {
    const dir = path.join(REPO, 'examples', 'starter-monorepo', 'apps', 'api-service');
    const doc = inspect(dir, '0018_plan_display_order');
    expect(doc.reader).toBeUndefined();
    expect(doc.heads).toEqual(['0018_plan_display_order']);
    expect(doc.pending).toEqual([]);
  });
});
