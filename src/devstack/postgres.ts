import pg from 'pg';

/** The server to create databases on: `DATABASE_URL` when given, else the local one. */
export function adminUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.DB_RELEASE_ADMIN_DATABASE_URL ?? env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
  );
}

/** The same server with another database name (and the same credentials). */
export function databaseUrlFor(name: string, base = adminUrl()): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe database name ${name}`);
  return `"${name}"`;
}

export async function createDatabase(name: string): Promise<string> {
  await admin(async (c) => {
    await c.query(`drop database if exists ${ident(name)} with (force)`);
    await c.query(`create database ${ident(name)}`);
  });
  return databaseUrlFor(name);
}

export async function ensureDatabase(name: string): Promise<string> {
  await admin(async (c) => {
    const { rowCount } = await c.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await c.query(`create database ${ident(name)}`);
  });
  return databaseUrlFor(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`drop database if exists ${ident(name)} with (force)`));
}
