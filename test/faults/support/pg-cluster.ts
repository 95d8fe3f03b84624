/**
 * A throwaway PostgreSQL cluster for one outage case: initdb into a temp dir, started on its
 * own port with pg_ctl, stopped (immediate: like a crash or a network cut for every session) and
 * started again on the same data. The machine's main server is never touched.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { eventually, freePort } from './eventually';

const run = promisify(execFile);

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', name)))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no ${name} under ${root}/*/bin: install the PostgreSQL server package`);
  return path.join(root, newest, 'bin', name);
}

/** initdb and postgres refuse to run as root: as root, run them as the postgres user. */
async function asOwner(file: string, args: string[]): Promise<string> {
  const root = process.getuid?.() === 0;
  const { stdout } = root
    ? await run('runuser', ['-u', 'postgres', '--', file, ...args])
    : await run(file, args);
  return stdout;
}

export class PgCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(name: string): Promise<PgCluster> {
    const dir = await mkdtemp(path.join(os.tmpdir(), `db-release-faults-pg-${name}-`));
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await asOwner(pgBin('initdb'), [
      '-D',
      path.join(dir, 'data'),
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-instructions',
    ]);
    const cluster = new PgCluster(dir, await freePort());
    await cluster.start();
    return cluster;
  }

  get serverUrl(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}`;
  }

  urlFor(database: string): string {
    return `${this.serverUrl}/${database}`;
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c shared_buffers=16MB -c max_connections=40 -c fsync=off`;
    await asOwner(pgBin('pg_ctl'), [
      '-D',
      path.join(this.dir, 'data'),
      '-l',
      path.join(this.dir, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    await eventually(() => this.answers(), {
      timeoutMs: 30_000,
      what: `the throwaway cluster on port ${this.port} to accept connections`,
    });
  }

  /** Every session is cut at once, as in a crash; the data stays for the next start. */
  async stopImmediate(): Promise<void> {
    await asOwner(pgBin('pg_ctl'), ['-D', path.join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  async answers(): Promise<boolean> {
    const client = new pg.Client({
      connectionString: this.urlFor('postgres'),
      connectionTimeoutMillis: 2_000,
    });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async createDatabase(name: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.urlFor('postgres') });
    await client.connect();
    try {
      await client.query(`create database "${name}"`);
    } finally {
      await client.end();
    }
  }

  async destroy(): Promise<void> {
    await this.stopImmediate().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
