/**
 * The target lease's SQL against the machine's real PostgreSQL, in a database of its own: one
 * holder at a time whatever the release is called, re-entrant for the same run, expiring, and
 * released only by its holder.
 */
import { randomUUID } from 'node:crypto';
import type { DbClient } from '../../src/activities/deps';
import {
  acquireLease,
  createTargetLeaseActivities,
  readLease,
  releaseLease,
  renewLease,
  type LeaseClaim,
} from '../../src/activities/target-lease';
import { parseReleaseConfig } from '../../src/config/release-config';
import { createDatabase, dropDatabase } from '../../src/devstack/postgres';
import { connectDb } from '../../src/worker';
import { activityEnv, failureOf, fakeDeps, runActivity } from '../support/fakes';

const name = `dbr_unit_lease_${randomUUID().slice(0, 8)}`;
let url: string;
const open: DbClient[] = [];
async function connect(): Promise<DbClient> {
  const db = await connectDb(url);
  open.push(db);
  return db;
}

beforeAll(async () => {
  url = await createDatabase(name);
});
afterAll(async () => {
  for (const db of open.splice(0)) await db.end().catch(() => undefined);
  await dropDatabase(name);
});

const claim = (n: number, environment = `env${n}`): LeaseClaim => ({
  workflowId: `db-release-${environment}`,
  runId: `run-${n}`,
  environment,
  startedBy: `op${n}`,
});
const TTL = 5 * 60_000;

async function clear(db: DbClient): Promise<void> {
  if (await readLease(db)) await db.query('delete from db_release.lease');
}

test('twenty releases under twenty names racing on twenty connections, the first ones ever: exactly one holds the target', async () => {
  const dbs = await Promise.all(Array.from({ length: 20 }, () => connect()));
  const outcomes = await Promise.all(dbs.map((db, i) => acquireLease(db, claim(i), TTL)));
  const winners = outcomes.filter((o) => o.acquired);
  expect(winners).toHaveLength(1);
  const holder = winners[0]?.holder;
  // every loser is told who holds it
  for (const o of outcomes.filter((o) => !o.acquired)) expect(o.holder.workflowId).toBe(holder?.workflowId);
  const row = await readLease(dbs[0] as DbClient);
  expect(row).toMatchObject({ workflowId: holder?.workflowId, runId: holder?.runId });
  await clear(dbs[0] as DbClient);
});

test('the lease lives in its own schema, not in public where Alembic autogenerate looks', async () => {
  const db = await connect();
  await acquireLease(db, claim(1), TTL);
  const tables = await db.query<{ table_schema: string; table_name: string }>(
    "select table_schema, table_name from information_schema.tables where table_name = 'lease'",
  );
  expect(tables.rows).toEqual([{ table_schema: 'db_release', table_name: 'lease' }]);
  await clear(db);
});

test('the same run takes it again (a retried preflight) and keeps its acquired time; another release is refused; a later run of the same id takes over', async () => {
  const db = await connect();
  const first = await acquireLease(db, claim(1), TTL);
  const again = await acquireLease(db, claim(1), TTL);
  expect(first.acquired && again.acquired).toBe(true);
  expect(again.holder.acquiredAt).toBe(first.holder.acquiredAt);
  expect(Date.parse(again.holder.expiresAt)).toBeGreaterThanOrEqual(Date.parse(first.holder.expiresAt));
  // another workflow id is refused, told who holds it
  expect(await acquireLease(db, claim(2), TTL)).toMatchObject({
    acquired: false,
    holder: { runId: 'run-1', startedBy: 'op1', environment: 'env1' },
  });
  // a later run of the same workflow id takes over: Temporal runs one execution per id at a time, so
  // the earlier run has ended (e.g. terminated, which never frees the lease) and cannot renew it back
  const nextRun = await acquireLease(db, { ...claim(1), runId: 'run-1b' }, TTL);
  expect(nextRun).toMatchObject({ acquired: true, holder: { runId: 'run-1b' } });
  expect(await renewLease(db, claim(1), TTL)).toBeNull();
  await clear(db);
});

test('renewal extends only the holder’s lease; release deletes only the holder’s', async () => {
  const db = await connect();
  const taken = await acquireLease(db, claim(1), 60_000);
  expect(taken.acquired).toBe(true);
  const renewed = await renewLease(db, claim(1), TTL);
  expect(Date.parse(renewed?.expiresAt ?? '')).toBeGreaterThan(Date.parse(taken.holder.expiresAt));
  expect(await renewLease(db, claim(2), TTL)).toBeNull();
  // a refused release's cleanup never frees the holder's lease
  expect(await releaseLease(db, claim(2))).toBe(false);
  expect((await readLease(db))?.workflowId).toBe('db-release-env1');
  expect(await releaseLease(db, claim(1))).toBe(true);
  expect(await readLease(db)).toBeNull();
  // free again: the next release takes it
  expect((await acquireLease(db, claim(2), TTL)).acquired).toBe(true);
  await clear(db);
});

test('a lease whose release vanished expires: the next release takes it, and the vanished one cannot renew it back', async () => {
  const db = await connect();
  expect((await acquireLease(db, claim(1), TTL)).acquired).toBe(true);
  expect((await acquireLease(db, claim(2), TTL)).acquired).toBe(false);
  // the holder stopped renewing long ago (its expiry is in the past)
  await db.query("update db_release.lease set expires_at = clock_timestamp() - interval '1 second'");
  const next = await acquireLease(db, claim(2), TTL);
  expect(next).toMatchObject({
    acquired: true,
    holder: { workflowId: 'db-release-env2', runId: 'run-2', startedBy: 'op2' },
  });
  expect(await renewLease(db, claim(1), TTL)).toBeNull();
  expect(await releaseLease(db, claim(1))).toBe(false);
  expect((await readLease(db))?.workflowId).toBe('db-release-env2');
  await clear(db);
});

describe('acquireTargetLease (rollback, stripe setup): the worker checks the environment named and answers with its own policy', () => {
  const workerConfig = JSON.stringify({
    environments: { production: { approval: { required: true, approvers: ['bob'], fourEyes: true } } },
  });
  const activities = () =>
    createTargetLeaseActivities(
      fakeDeps({
        env: { ENVIRONMENT: 'production', DATABASE_URL: url },
        connectDb,
        loadConfig: () => Promise.resolve(parseReleaseConfig(workerConfig)),
      }),
    );

  test('another environment named: TargetMismatch naming both, and no lease taken', async () => {
    const db = await connect();
    await clear(db);
    const failure = await failureOf(
      runActivity(activityEnv('db-release-staging', 'run-a'), activities().acquireTargetLease, {
        startedBy: 'alice',
        ttlMs: TTL,
        environment: 'staging',
      }),
    );
    expect(failure.type).toBe('TargetMismatch');
    expect(failure.message).toContain('"staging"');
    expect(failure.message).toContain('"production"');
    expect(await readLease(db)).toBeNull();
  });

  test("the worker's environment named: the lease is taken and the worker's policy comes back, whatever the caller's config says", async () => {
    const db = await connect();
    await clear(db);
    const lease = await runActivity(
      activityEnv('db-release-production', 'run-b'),
      activities().acquireTargetLease,
      { startedBy: 'alice', ttlMs: TTL, environment: 'production' },
    );
    expect(lease).toMatchObject({
      environment: 'production',
      workflowId: 'db-release-production',
      runId: 'run-b',
    });
    expect(lease.approval).toMatchObject({ required: true, approvers: ['bob'], fourEyes: true });
    expect((await readLease(db))?.runId).toBe('run-b');
    await clear(db);
  });
});
