import pg from 'pg';
import type { DbClient } from '../activities/deps';

/** A pg connection as the activities and the CLI's status checks use it (5 s to connect). */
export async function connectDb(databaseUrl: string): Promise<DbClient> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  return {
    query: async <R extends object>(sql: string, params?: unknown[]) => {
      const result = await client.query<R>(sql, params);
      return { rows: result.rows, rowCount: result.rowCount };
    },
    end: () => client.end(),
  };
}
