/**
 * syncPriceIds and restorePriceIds with an in-memory billing_plans: what a retried attempt of
 * the same run journals (the state before the release, never its own first attempt's writes), the
 * column and no-column paths, and --skip-db-checks. (billing-plans.test.ts covers the column
 * settings against the plan check.)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DbClient } from '../../src/activities/deps';
import { createPriceIdSyncActivities } from '../../src/activities/price-id-sync';
import { parseReleaseConfig } from '../../src/config/release-config';
import { activityEnv, failureOf, fakeDeps, removeTempDirs, runActivity, tempDir } from '../support/fakes';

afterAll(removeTempDirs);

const ORIGINAL_ENV =
  'APP_NAME=shop\nexport STRIPE_PRODUCT_PRICE_MAP={"starter":"price_old_s","pro":"price_old_p"}\nENABLE_BILLING=false\nSTRIPE_SECRET_KEY=sk_test_51KeptByteForByte0001';
const NEW_MAP = { starter: 'price_new_s', pro: 'price_new_p' };

/** billing_plans in memory, honouring `is distinct from` so a repeated write updates no row. */
class Plans implements DbClient {
  readonly writes: string[] = [];
  readonly rows = new Map<string, string | null>([
    ['starter', 'price_old_s'],
    ['pro', 'price_old_p'],
  ]);
  constructor(readonly columns: string[]) {}

  query<R extends object>(
    sql: string,
    params: unknown[] = [],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    const text = sql.replace(/\s+/g, ' ').trim();
    const answer = (rows: object[], rowCount = rows.length) =>
      Promise.resolve({ rows: rows as R[], rowCount });
    if (text.includes('from pg_attribute'))
      return answer(this.columns.map((column_name) => ({ column_name })));
    if (text.startsWith('select code, "stripe_price_id"::text')) {
      const wanted = params[0] as string[];
      return answer(
        [...this.rows]
          .filter(([code]) => wanted.includes(code))
          .map(([code, id]) => ({ code, stripe_price_id: id })),
      );
    }
    const update =
      /^update billing_plans set "stripe_price_id" = \$2(, updated_at = now\(\))? where code = \$1( and "stripe_price_id" is distinct from \$2)?$/.exec(
        text,
      );
    if (update) {
      this.writes.push(text);
      const [code, id] = params as [string, string | null];
      if (!this.rows.has(code) || (update[2] && this.rows.get(code) === id)) return answer([], 0);
      this.rows.set(code, id);
      return answer([], 1);
    }
    return Promise.reject(new Error(`Plans: unexpected statement ${text}`));
  }

  end(): Promise<void> {
    return Promise.resolve();
  }
}

function rig(db: Plans, envText: string | null = ORIGINAL_ENV) {
  const root = tempDir('price-id-sync-');
  const envFile = path.join(root, '.env.local');
  const stateDir = tempDir('price-id-sync-state-');
  if (envText !== null) writeFileSync(envFile, envText);
  const activities = createPriceIdSyncActivities(
    fakeDeps({
      env: { DATABASE_URL: 'postgresql://app@db/app' },
      projectRoot: root,
      stateDir,
      loadConfig: () => Promise.resolve(parseReleaseConfig('{}')),
      connectDb: () => Promise.resolve(db),
    }),
  );
  return {
    envFile,
    /** The run's journal file (one run here). */
    journal: () => path.join(stateDir, readdirSync(stateDir).find((f) => f.endsWith('.json')) ?? 'none'),
    envText: () => readFileSync(envFile, 'utf8'),
    /** One attempt of the same run (workflow wf, run run1), as a retry after a crash would be. */
    sync: (attempt: number, skipDbWrites = false) =>
      runActivity(activityEnv('wf', 'run1', attempt), activities.syncPriceIds, {
        priceMap: NEW_MAP,
        ...(skipDbWrites ? { skipDbWrites } : {}),
      }),
    restore: () => runActivity(activityEnv('wf', 'run1'), activities.restorePriceIds, {}),
  };
}

test('a retry after the first attempt wrote everything reports the state before the release, and the restore brings back those bytes and ids', async () => {
  const db = new Plans(['id', 'code', 'is_active', 'stripe_price_id', 'updated_at']);
  const r = rig(db);
  const first = await r.sync(1);
  expect(first.rowsUpdated).toBe(2);
  expect(r.envText()).toContain('STRIPE_PRODUCT_PRICE_MAP={"starter":"price_new_s","pro":"price_new_p"}');

  // The first attempt's answer was lost; the retry sees its writes already there.
  const retry = await r.sync(2);
  expect(retry.previousEnv).toEqual({
    STRIPE_PRODUCT_PRICE_MAP: '{"starter":"price_old_s","pro":"price_old_p"}',
    ENABLE_BILLING: 'false',
  });
  expect(retry.previousPriceIds).toEqual({ starter: 'price_old_s', pro: 'price_old_p' });
  expect(retry.envFileChanged).toBe(true);
  expect(retry.rowsUpdated).toBe(0);
  expect(retry.priceIdColumn).toBe('stripe_price_id');

  const records = await r.restore();
  expect(records.map((x) => [x.name, x.status])).toEqual([
    ['env_file', 'success'],
    ['billing_plans', 'success'],
  ]);
  expect(r.envText()).toBe(ORIGINAL_ENV);
  expect(Object.fromEntries(db.rows)).toEqual({ starter: 'price_old_s', pro: 'price_old_p' });
  expect(db.writes.at(-1)).toContain(', updated_at = now()');
});

test('without a price id column the ids go only to the env file: billing_plans is never written and its restore is skipped with the reason', async () => {
  const db = new Plans(['id', 'code', 'is_active']);
  const r = rig(db);
  const result = await r.sync(1);
  expect(result.priceIdColumn).toBeNull();
  expect(result.rowsUpdated).toBe(0);
  expect(result.previousPriceIds).toEqual({});
  const records = await r.restore();
  expect(records[1]).toEqual({
    name: 'billing_plans',
    status: 'skipped',
    detail: 'no price id column: the ids live only in .env.local',
    manual_action: null,
  });
  expect(db.writes).toEqual([]);
  expect(r.envText()).toBe(ORIGINAL_ENV);
});

test('--skip-db-checks: billing_plans is neither read nor written, and the restore touches no row', async () => {
  const db = new Plans(['id', 'code', 'is_active', 'stripe_price_id']);
  const r = rig(db);
  const queried = jest.spyOn(db, 'query');
  const result = await r.sync(1, true);
  expect(result.rowsUpdated).toBe(0);
  expect(result.priceIdColumn).toBeNull();
  const records = await r.restore();
  expect(records[1]?.status).toBe('skipped');
  expect(queried).not.toHaveBeenCalled();
});

test('an env file the release created is removed again by the restore', async () => {
  const r = rig(new Plans(['id', 'code', 'is_active']), null);
  const result = await r.sync(1);
  expect(result.previousEnv).toEqual({ STRIPE_PRODUCT_PRICE_MAP: null, ENABLE_BILLING: null });
  expect(r.envText()).toContain('ENABLE_BILLING=true');
  const records = await r.restore();
  expect(records[0]?.status).toBe('success');
  expect(() => readFileSync(r.envFile)).toThrow(/ENOENT/);
});

test('an env file edited after the sync: the synced lines go back, the edit is kept, and the restore says it is not byte for byte, with the manual action', async () => {
  const r = rig(new Plans(['id', 'code', 'is_active']));
  await r.sync(1);
  writeFileSync(r.envFile, `${r.envText()}\nEXTRA=added by an operator\n`);
  const records = await r.restore();
  expect(records[0]).toMatchObject({
    name: 'env_file',
    status: 'failed',
    detail: '.env.local changed since the release read it',
  });
  expect(records[0]?.manual_action).toContain('STRIPE_PRODUCT_PRICE_MAP and ENABLE_BILLING in .env.local');
  expect(r.envText()).toContain('EXTRA=added by an operator');
  expect(r.envText()).toContain(
    'export STRIPE_PRODUCT_PRICE_MAP={"starter":"price_old_s","pro":"price_old_p"}\nENABLE_BILLING=false\n',
  );
});

describe('a journal the restore cannot trust fails it, naming the file and what is wrong, instead of restoring nothing', () => {
  test('not JSON (a truncated file)', async () => {
    const r = rig(new Plans(['id', 'code', 'is_active', 'stripe_price_id']));
    await r.sync(1);
    writeFileSync(r.journal(), '{"env-local:before": {"existed": tr');
    const failure = await failureOf(r.restore());
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(`the run's journal ${r.journal()} is not JSON`);
    expect(failure.message).toContain(
      'restore the file from a backup, or undo the changes the release summary lists by hand',
    );
    expect(r.envText()).toContain('price_new_s');
  });

  test('an entry of the wrong shape names the entry and the field', async () => {
    const r = rig(new Plans(['id', 'code', 'is_active', 'stripe_price_id']));
    await r.sync(1);
    const journal = JSON.parse(readFileSync(r.journal(), 'utf8')) as Record<string, Record<string, unknown>>;
    journal['billing-plans:before'] = { starter: 'price_old_s', pro: 42 };
    writeFileSync(r.journal(), JSON.stringify(journal));
    const failure = await failureOf(r.restore());
    expect(failure.message).toContain(
      `the run's journal ${r.journal()} has an entry "billing-plans:before" that is not what the release wrote (pro: `,
    );
  });

  test('a retry checks what it reads back too', async () => {
    const r = rig(new Plans(['id', 'code', 'is_active', 'stripe_price_id']));
    await r.sync(1);
    writeFileSync(r.journal(), JSON.stringify({ 'env-local:before': { existed: 'yes' } }));
    const failure = await failureOf(r.sync(2));
    expect(failure.message).toMatch(
      /has an entry "env-local:before" that is not what the release wrote \(existed: /,
    );
  });

  test('an array is not a journal', async () => {
    const r = rig(new Plans(['id', 'code', 'is_active']));
    await r.sync(1);
    writeFileSync(r.journal(), '[]');
    expect((await failureOf(r.restore())).message).toContain('is not a JSON object of entries');
  });
});
