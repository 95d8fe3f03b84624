/**
 * The revision graph a worker last inspected, kept while the files it came from stay byte for byte
 * the same (issue 15). A release whose database is already at the script heads then needs no
 * Python at all: nothing is pending, so there is no downgrade to judge and no SQL to render, and
 * the heads are the ones the last inspection read from these very files.
 *
 * The key is what the inspection depends on: the backend, its Alembic config, the interpreter
 * and the inspector itself. The fingerprint is a content hash of the config file and of every
 * file under each version location (`__pycache__` aside), taken by tools/alembic_inspect.py
 * before it loads the scripts and recomputed here, with the same walk and the same bytes, before
 * every use. Any edit, added or removed file gives another hash: a miss, and Python runs again.
 * Alembic configured `sourceless` (revisions read from .pyc files) is never cached.
 */
import { createHash, type Hash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';

/** What the inspector reports it read the graph from, with the hash it took before reading. */
export interface GraphSources {
  config_files: string[];
  version_dirs: string[];
  fingerprint: string | null;
}

export interface CachedGraph {
  heads: string[];
  sources: GraphSources & { fingerprint: string };
  /** When the Python inspection this entry comes from ran (ISO time). */
  inspectedAt: string;
}

const graphs = new Map<string, CachedGraph>();

export function graphKey(parts: {
  projectRoot: string;
  configFile: string;
  pythonCommand: readonly string[];
  inspector: string;
}): string {
  return JSON.stringify([parts.projectRoot, parts.configFile, parts.pythonCommand, parts.inspector]);
}

async function addFile(digest: Hash, file: string): Promise<void> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    digest.update(`M\0${file}\0`);
    return;
  }
  digest.update(`F\0${file}\0${data.length}\0`);
  digest.update(data);
}

async function walk(digest: Hash, dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    digest.update(`M\0${dir}\0`);
    return;
  }
  digest.update(`D\0${dir}\0`);
  // Python's sorted() on str: code point order, which equals UTF-16 order outside the astral planes.
  for (const name of names.sort()) {
    if (name === '__pycache__') continue;
    // As os.path.join builds it: the strings are hashed, so both sides must spell them alike.
    const child = dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
    const kind = await stat(child).catch(() => null);
    if (kind?.isDirectory()) await walk(digest, child);
    else if (kind?.isFile()) await addFile(digest, child);
  }
}

/** The same hash tools/alembic_inspect.py takes (`_fingerprint`), over the same files. */
export async function fingerprintOf(
  sources: Pick<GraphSources, 'config_files' | 'version_dirs'>,
): Promise<string> {
  const digest = createHash('sha256');
  for (const file of sources.config_files) await addFile(digest, file);
  for (const dir of sources.version_dirs) await walk(digest, dir);
  return digest.digest('hex');
}

/** Remembers what a Python inspection read, when it says where from and took the hash. */
export function rememberGraph(
  key: string,
  inspection: { heads: string[]; sources?: GraphSources | undefined },
  inspectedAt: Date,
): void {
  const sources = inspection.sources;
  if (!sources?.fingerprint) {
    graphs.delete(key);
    return;
  }
  graphs.set(key, {
    heads: [...inspection.heads],
    sources: { ...sources, fingerprint: sources.fingerprint },
    inspectedAt: inspectedAt.toISOString(),
  });
}

/**
 * The remembered graph, when the database is exactly at its heads and every file it came from is
 * unchanged; otherwise null (the caller runs the Python inspection).
 */
export async function unchangedGraphAtHeads(
  key: string,
  current: readonly string[],
): Promise<CachedGraph | null> {
  const entry = graphs.get(key);
  if (!entry) return null;
  const heads = [...entry.heads].sort();
  const at = [...current].sort();
  if (heads.length === 0 || heads.length !== at.length || heads.some((h, i) => h !== at[i])) return null;
  if ((await fingerprintOf(entry.sources)) !== entry.sources.fingerprint) {
    graphs.delete(key);
    return null;
  }
  return entry;
}

/** For tests: forget every remembered graph. */
export function forgetGraphs(): void {
  graphs.clear();
}
