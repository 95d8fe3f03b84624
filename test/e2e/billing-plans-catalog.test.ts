/**
 * billing_plans' shape read from the catalog (issue 15: information_schema took 7–9 ms a read)
 * against the machine's real PostgreSQL: the same columns in the same order as
 * information_schema.columns for the table the search path reaches, whatever the schema, with
 * dropped columns left out, a view read like a table, and none when the path reaches no
 * billing_plans. And the price-id sync, which reads the shape, the previous ids and writes the new
 * ones, does it on one connection.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DbClient } from '../../src/activities/deps';
import { billingPlansShape } from '../../src/activities/billing-plans';
import { createPriceIdSyncActivities } from '../../src/activities/price-id-sync';
import { parseReleaseConfig } from '../../src/config/release-config';
import { createDatabase, dropDatabase } from '../../src/devstack/postgres';
import { connectDb } from '../../src/worker';
import { activityEnv, envScope, failureOf, fakeDeps, runActivity, tempDir } from '../support/fakes';

const name = `dbr_e2e_catalog_${randomUUID().slice(0, 8)}`;
let url: string;
let db: DbClient;
const scope = { env: envScope({}), secrets: [], clean: (text: string) => text };

beforeAll(async () => {
  url = await createDatabase(name);
  db = await connectDb(url);
});
afterAll(async () => {
  await db.end().catch(() => undefined);
  await dropDatabase(name);
});

/** What information_schema says about the billing_plans the search path reaches (the old query). */
async function viaInformationSchema(): Promise<string[]> {
  const { rows } = await db.query<{ column_name: string }>(
    `select column_name from information_schema.columns
      where table_name = 'billing_plans'
        and table_schema = (select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass('billing_plans'))
      order by ordinal_position`,
  );
  return rows.map((r) => r.column_name);
}

/** The columns billingPlansShape read, seen through the one query it sends. */
async function viaCatalog(): Promise<string[]> {
  let columns: string[] = [];
  const spy: DbClient = {
    query: async <R extends object>(sql: string, params?: unknown[]) => {
      const result = await db.query<R>(sql, params);
      columns = result.rows.map((r) => (r as { column_name: string }).column_name);
      return result;
    },
    end: () => Promise.resolve(),
  };
  await billingPlansShape(spy, scope, null).catch(() => undefined);
  return columns;
}

test('a table in another schema on the search path, with a dropped column: the columns information_schema lists, in order', async () => {
  await db.query('create schema billing');
  await db.query(
    'create table billing.billing_plans (id serial, code text, legacy text, is_active boolean, "Price Id" text, updated_at timestamptz)',
  );
  await db.query('alter table billing.billing_plans drop column legacy');
  await db.query('set search_path = billing, public');
  expect(await viaCatalog()).toEqual(['id', 'code', 'is_active', 'Price Id', 'updated_at']);
  expect(await viaCatalog()).toEqual(await viaInformationSchema());
  expect(await billingPlansShape(db, scope, 'auto')).toEqual({ priceIdColumn: null, hasUpdatedAt: true });
  await db.query('reset search_path');
  // Off the search path: no billing_plans at all, named with the fix.
  expect(await viaCatalog()).toEqual([]);
  expect(await viaInformationSchema()).toEqual([]);
  const refused = await failureOf(billingPlansShape(db, scope, 'auto'));
  expect(refused.type).toBe('BillingPlansTableInvalid');
  expect(refused.message).toContain('no billing_plans table on its search path');
});

test('a view named billing_plans is read like a table', async () => {
  await db.query('create table plans_source (code text, is_active boolean, stripe_price_id text)');
  await db.query('create view billing_plans as select code, is_active, stripe_price_id from plans_source');
  expect(await viaCatalog()).toEqual(['code', 'is_active', 'stripe_price_id']);
  expect(await viaCatalog()).toEqual(await viaInformationSchema());
  expect(await billingPlansShape(db, scope, 'auto')).toEqual({
    priceIdColumn: 'stripe_price_id',
    hasUpdatedAt: false,
  });
  await db.query('drop view billing_plans');
});

test('what information_schema leaves out is left out: a materialized view, a sequence, a table this user may not touch', async () => {
  await db.query('create schema odd');
  await db.query('set search_path = odd, public');
  await db.query('create materialized view odd.billing_plans as select 1 as code, true as is_active');
  expect(await viaInformationSchema()).toEqual([]);
  expect(await viaCatalog()).toEqual([]);
  await db.query('drop materialized view odd.billing_plans');
  await db.query('create sequence odd.billing_plans');
  expect(await viaInformationSchema()).toEqual([]);
  expect(await viaCatalog()).toEqual([]);
  await db.query('drop sequence odd.billing_plans');
  await db.query('create table odd.billing_plans (code text, is_active boolean, secret_note text)');
  const role = `dbr_catalog_${randomUUID().slice(0, 8)}`;
  await db.query(`create role ${role}`);
  await db.query(`grant usage on schema odd to ${role}`);
  await db.query(`grant select (code, is_active) on odd.billing_plans to ${role}`);
  await db.query(`set role ${role}`);
  try {
    expect(await viaInformationSchema()).toEqual(['code', 'is_active']);
    expect(await viaCatalog()).toEqual(['code', 'is_active']);
  } finally {
    await db.query('reset role');
    await db.query('drop table odd.billing_plans');
    await db.query(`drop owned by ${role}`);
    await db.query(`drop role ${role}`);
    await db.query('reset search_path');
  }
});

test('the price-id sync reads the shape and the old ids and writes the new ones on one connection', async () => {
  await db.query(
    'create table billing_plans (code text primary key, is_active boolean, stripe_price_id text, updated_at timestamptz)',
  );
  await db.query(
    "insert into billing_plans values ('starter', true, 'price_old', null), ('pro', true, null, null)",
  );
  const projectRoot = tempDir('catalog-sync-');
  writeFileSync(path.join(projectRoot, '.env.local'), 'ENVIRONMENT=e2e\n');
  let connections = 0;
  const deps = fakeDeps({
    projectRoot,
    env: { DATABASE_URL: url },
    loadConfig: () => Promise.resolve(parseReleaseConfig('{}')),
    connectDb: async (target) => {
      connections++;
      return connectDb(target);
    },
  });
  const sync = createPriceIdSyncActivities(deps);
  const out = await runActivity(activityEnv('wf-catalog', 'run1'), sync.syncPriceIds, {
    priceMap: { starter: 'price_s2', pro: 'price_p2' },
  });
  expect(connections).toBe(1);
  expect(out).toMatchObject({
    rowsUpdated: 2,
    priceIdColumn: 'stripe_price_id',
    previousPriceIds: { starter: 'price_old', pro: null },
  });
  const { rows } = await db.query<{ code: string; stripe_price_id: string }>(
    'select code, stripe_price_id from billing_plans order by code',
  );
  expect(rows).toEqual([
    { code: 'pro', stripe_price_id: 'price_p2' },
    { code: 'starter', stripe_price_id: 'price_s2' },
  ]);
  expect(readFileSync(path.join(projectRoot, '.env.local'), 'utf8')).toContain(
    'STRIPE_PRODUCT_PRICE_MAP={"starter":"price_s2","pro":"price_p2"}',
  );
});
