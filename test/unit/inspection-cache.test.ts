/**
 * The remembered revision graph (issue 15): the content hash Node recomputes must be the one the
 * Python inspector took, and any change to what the graph is read from must change it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { venvBin } from '../../src/devstack/paths';
import { parseInspection } from '../../src/runtime/alembic-inspection';
import {
  fingerprintOf,
  forgetGraphs,
  rememberGraph,
  unchangedGraphAtHeads,
  type GraphSources,
} from '../../src/runtime/inspection-cache';
import { tempDir } from '../support/fakes';

const REPO = path.join(__dirname, '..', '..');
const SCRIPT = path.join(REPO, 'tools', 'alembic_inspect.py');

/** A copy of a sample's Alembic files, inspected by the real inspector (no database, no env.py). */
function inspectCopy(sample: string, current: string) {
  const dir = tempDir('db-release-graph-');
  cpSync(path.join(REPO, 'examples', sample), dir, { recursive: true });
  const inspect = () => {
    const stdout = execFileSync(
      path.join(venvBin(), 'python3'),
      [SCRIPT, '--config', 'alembic.ini', '--current', current],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
        encoding: 'utf8',
      },
    );
    const read = parseInspection(stdout);
    if (!read.ok) throw new Error(read.detail);
    return read.inspection;
  };
  return { dir, inspect };
}

function sourcesOf(doc: { sources?: GraphSources | undefined }): GraphSources {
  if (!doc.sources) throw new Error('the inspector reported no sources');
  return doc.sources;
}

afterEach(() => forgetGraphs());

describe('the graph fingerprint', () => {
  test.each([
    ['saas-backend', '20251107_090000'],
    ['starter-monorepo/apps/api-service', 'a2_billing_invoices,b7_add_teams'],
  ])('Node computes the hash Python took, on %s', async (sample, current) => {
    const { dir, inspect } = inspectCopy(sample, current);
    const doc = inspect();
    const sources = sourcesOf(doc);
    expect(sources.config_files).toEqual([path.join(dir, 'alembic.ini')]);
    expect(sources.version_dirs.length).toBeGreaterThan(0);
    expect(sources.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprintOf(sources)).toBe(sources.fingerprint);
  });

  test('an edited, added or removed revision file, or an edited alembic.ini, changes it; __pycache__ does not', async () => {
    const { dir, inspect } = inspectCopy('saas-backend', '20251107_090000');
    const sources = sourcesOf(inspect());
    const versions = sources.version_dirs[0] as string;
    const base = await fingerprintOf(sources);
    // Python compiled the revisions while inspecting: their bytecode is not part of the graph.
    mkdirSync(path.join(versions, '__pycache__'), { recursive: true });
    writeFileSync(path.join(versions, '__pycache__', 'x.cpython-311.pyc'), 'bytes');
    expect(await fingerprintOf(sources)).toBe(base);

    const added = path.join(versions, '20251201_000000_extra.py');
    writeFileSync(added, 'revision = "20251201_000000"\ndown_revision = "20251107_090000"\n');
    const withAdded = await fingerprintOf(sources);
    expect(withAdded).not.toBe(base);
    writeFileSync(added, 'revision = "20251201_000001"\ndown_revision = "20251107_090000"\n');
    expect(await fingerprintOf(sources)).not.toBe(withAdded);
    rmSync(added);
    expect(await fingerprintOf(sources)).toBe(base);

    writeFileSync(path.join(dir, 'alembic.ini'), '[alembic]\nscript_location = elsewhere\n');
    expect(await fingerprintOf(sources)).not.toBe(base);
  });
});

describe('unchangedGraphAtHeads', () => {
  test('answers only for a database exactly at the heads of files unchanged since', async () => {
    const { inspect } = inspectCopy('saas-backend', '20251107_090000');
    const doc = inspect();
    const key = 'saas';
    rememberGraph(key, doc, new Date('2026-11-26T00:00:00Z'));
    const hit = await unchangedGraphAtHeads(key, ['20251107_090000']);
    expect(hit).toMatchObject({
      heads: ['20251107_090000'],
      inspectedAt: '2026-11-26T00:00:00.000Z',
      sources: { fingerprint: doc.sources?.fingerprint },
    });
    // Not at the heads: something is pending, so the inspection must run.
    expect(await unchangedGraphAtHeads(key, ['20251106_120000'])).toBeNull();
    expect(await unchangedGraphAtHeads(key, [])).toBeNull();
    expect(await unchangedGraphAtHeads(key, ['20251107_090000', 'other'])).toBeNull();
    expect(await unchangedGraphAtHeads('another backend', ['20251107_090000'])).toBeNull();

    const versions = sourcesOf(doc).version_dirs[0] as string;
    writeFileSync(path.join(versions, 'new.py'), 'revision = "x"\n');
    expect(await unchangedGraphAtHeads(key, ['20251107_090000'])).toBeNull();
    // Dropped on the first miss: restoring the files does not bring a stale entry back.
    rmSync(path.join(versions, 'new.py'));
    expect(await unchangedGraphAtHeads(key, ['20251107_090000'])).toBeNull();
  });

  test('an inspection without a hash (an older inspector, sourceless Alembic) is not remembered', async () => {
    const { inspect } = inspectCopy('saas-backend', '20251107_090000');
    const doc = inspect();
    rememberGraph('k', { ...doc, sources: { ...sourcesOf(doc), fingerprint: null } }, new Date());
    expect(await unchangedGraphAtHeads('k', ['20251107_090000'])).toBeNull();
    rememberGraph('k2', { heads: doc.heads }, new Date());
    expect(await unchangedGraphAtHeads('k2', ['20251107_090000'])).toBeNull();
  });
});
