/**
 * The monorepo sample (examples/starter-monorepo) as its own developers use it: its venv's Alembic
 * (the tools venv off PATH), `just migrate` from the backend directory, one head, the revision
 * states the release tests rely on, the merge whose downgrade raises, Stripe objects as its setup
 * command makes them. Last, one plain release through the CLI, to show the stack wiring (worker
 * project root apps/api-service); the issue 12 cases are tested where they are fixed. Needs
 * `npm run build` for that one.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import Stripe from 'stripe';
import { startStripePeer, type StripePeer } from '../../dev/stripe-peer';
import { stripeConnectionOptions } from '../../src/activities/stripe-gateway';
import { venvBin } from '../../src/devstack/paths';
import { createDatabase, dropDatabase } from '../../src/devstack/postgres';
import { removeTempDirs, tempDir } from '../support/fakes';
import {
  alembicVersionRows,
  bringStarterTo,
  prepareStarterBackend,
  STARTER_REVISIONS,
  starterBackendOf,
  unknownConfigKeysPatch,
  starterAlembic,
  starterAlembicOk,
  starterCatalog,
  type StarterBackend,
} from '../support/starter-backend';
import { runCli } from '../support/cli';
import { startE2eStack } from '../support/e2e-stack';
import {
  LEGACY_STARTER_PLAN_CODE_KEY,
  seedStarterStripe,
  STARTER_PLAN_CODE_KEY,
} from '../support/starter-stripe';

const PEER_KEY = 'sk_test_starter_sample_peer_0000';

const suffix = randomUUID().slice(0, 8);
const DB = `dbr_test_starter_${suffix}`;
const DB_BRANCHED = `dbr_test_starter_br_${suffix}`;
let databaseUrl = '';
let branchedUrl = '';
let backend: StarterBackend;

beforeAll(async () => {
  databaseUrl = await createDatabase(DB);
  branchedUrl = await createDatabase(DB_BRANCHED);
  backend = await prepareStarterBackend({
    dir: path.join(tempDir('db-release-starter-'), 'repo'),
    databaseName: DB,
    serverUrl: 'postgresql://postgres@127.0.0.1:5432',
    stripeApiBase: 'http://127.0.0.1:9',
    stripeSecretKey: 'sk_test_starter_sample_unused_0000',
    stripeWebhookSecret: 'whsec_starter_sample_unused',
  });
});

afterAll(async () => {
  await dropDatabase(DB);
  await dropDatabase(DB_BRANCHED);
  removeTempDirs();
});

async function query<R extends object>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function tables(url: string): Promise<string[]> {
  const rows = await query<{ t: string }>(
    url,
    "select tablename as t from pg_tables where schemaname = 'public' order by 1",
  );
  return rows.map((r) => r.t);
}

test('the copy is a monorepo: backend in apps/api-service with its own venv, git at the root', () => {
  expect(backend.backendDir).toBe(path.join(backend.repoRoot, 'apps', 'api-service'));
  for (const file of ['.env.compose', 'justfile', '.git'])
    expect(existsSync(path.join(backend.repoRoot, file))).toBe(true);
  for (const file of [
    'alembic.ini',
    '.env.local',
    'release.config.json',
    'migrations/env.py',
    'src/starter_api/models.py',
    '.venv/bin/alembic',
  ]) {
    expect(existsSync(path.join(backend.backendDir, file))).toBe(true);
  }
  expect(existsSync(path.join(backend.backendDir, '.env'))).toBe(false);
});

test('the venv alembic runs with the tools venv off PATH and shows one head', async () => {
  const heads = await starterAlembicOk(backend, databaseUrl, ['heads']);
  expect(heads.trim()).toBe(`${STARTER_REVISIONS.head} (head)`);
  const history = await starterAlembicOk(backend, databaseUrl, ['history']);
  const lines = history.trim().split('\n');
  expect(lines).toHaveLength(STARTER_REVISIONS.total);
  expect(lines.filter((l) => l.includes('(mergepoint)'))).toHaveLength(3);
  expect(history).toMatch(/2025_02_ab_usage/);
  // depends_on is what `alembic show` reports as "Also depends on"
  const show = await starterAlembicOk(backend, databaseUrl, ['show', '2025_02_ba_audit_log']);
  expect(show).toMatch(/Also depends on: 2025_02_ab_usage/);
});

test('env.py imports the application package, and renders the whole history offline', async () => {
  // A delay that is not a number breaks the package's import: proof that env.py imports it.
  const broken = await starterAlembic(backend, databaseUrl, ['current'], {
    STARTER_IMPORT_DELAY_S: 'not-a-number',
  });
  expect(broken.code).not.toBe(0);
  expect(broken.stderr).toMatch(/starter_api[\s\S]*could not convert string to float/);

  const sql = await starterAlembicOk(backend, databaseUrl, ['upgrade', 'heads', '--sql']);
  expect(sql).toMatch(/CREATE TABLE billing_plans/);
  expect(sql).toMatch(/INSERT INTO alembic_version \(version_num\) VALUES \('0001_initial'\)/);
  expect(sql).not.toMatch(/backfill progress/);
  expect(await alembicVersionRows(databaseUrl)).toEqual([]);
});

test('upgrade heads on a fresh database, then downgrade: safe down to the raising merge, raises past it', async () => {
  await starterAlembicOk(backend, databaseUrl, ['upgrade', 'heads']);
  expect(await alembicVersionRows(databaseUrl)).toEqual([STARTER_REVISIONS.head]);

  const plans = await query<{ code: string; is_active: boolean; amount_cents: number }>(
    databaseUrl,
    'select code, is_active, amount_cents from billing_plans order by amount_cents',
  );
  expect(plans).toEqual(
    starterCatalog().map((p) => ({ code: p.code, is_active: true, amount_cents: p.amount })),
  );
  const columns = await query<{ column_name: string }>(
    databaseUrl,
    "select column_name from information_schema.columns where table_name = 'billing_plans'",
  );
  expect(columns.map((c) => c.column_name)).not.toContain('stripe_price_id');

  await starterAlembicOk(backend, databaseUrl, ['downgrade', STARTER_REVISIONS.atRaisingMerge]);
  expect(await alembicVersionRows(databaseUrl)).toEqual([STARTER_REVISIONS.atRaisingMerge]);

  const offline = await starterAlembic(backend, databaseUrl, [
    'downgrade',
    `${STARTER_REVISIONS.atRaisingMerge}:${STARTER_REVISIONS.beforeRaisingMerge}`,
    '--sql',
  ]);
  expect(offline.code).not.toBe(0);
  expect(offline.stderr).toMatch(/NotImplementedError: irreversible merge/);

  const down = await starterAlembic(backend, databaseUrl, [
    'downgrade',
    STARTER_REVISIONS.beforeRaisingMerge,
  ]);
  expect(down.code).not.toBe(0);
  expect(down.stderr).toMatch(/NotImplementedError: irreversible merge/);
  // Each migration is its own transaction: the raise leaves the database at the merge.
  expect(await alembicVersionRows(databaseUrl)).toEqual([STARTER_REVISIONS.atRaisingMerge]);
});

test('branched states: two rows in alembic_version, on either side of the raising merge', async () => {
  await bringStarterTo(backend, branchedUrl, STARTER_REVISIONS.branchedBeforeRaisingMerge);
  expect(await alembicVersionRows(branchedUrl)).toEqual(
    [...STARTER_REVISIONS.branchedBeforeRaisingMerge].sort(),
  );
  // Below the raising merge the whole way down to base is reversible.
  await starterAlembicOk(backend, branchedUrl, ['downgrade', 'base']);
  expect(await alembicVersionRows(branchedUrl)).toEqual([]);
  expect(await tables(branchedUrl)).toEqual(['alembic_version']);

  // depends_on: one row in the table, two lines from `alembic current`.
  await bringStarterTo(backend, branchedUrl, ['2025_02_ba_audit_log']);
  expect(await alembicVersionRows(branchedUrl)).toEqual([...STARTER_REVISIONS.dependsOnState.rows]);
  const current = await starterAlembicOk(backend, branchedUrl, ['current']);
  expect(current.trim().split('\n').sort()).toEqual([...STARTER_REVISIONS.dependsOnState.currentLines]);
  await starterAlembicOk(backend, branchedUrl, ['downgrade', 'base']);

  await bringStarterTo(backend, branchedUrl, STARTER_REVISIONS.branchedAfterRaisingMerge);
  expect(await alembicVersionRows(branchedUrl)).toEqual(
    [...STARTER_REVISIONS.branchedAfterRaisingMerge].sort(),
  );
  await starterAlembicOk(backend, branchedUrl, ['upgrade', 'heads']);
  expect(await alembicVersionRows(branchedUrl)).toEqual([STARTER_REVISIONS.head]);
  // Downgrading to one row of the set alone leaves the other branch's new revision applied ...
  await starterAlembicOk(backend, branchedUrl, ['downgrade', 'c1_api_keys']);
  expect(await alembicVersionRows(branchedUrl)).toEqual(['c1_api_keys', 'd2_notification_preferences']);
  await starterAlembicOk(backend, branchedUrl, ['upgrade', 'heads']);
  await starterAlembicOk(backend, branchedUrl, ['downgrade', 'd1_notifications']);
  expect(await alembicVersionRows(branchedUrl)).toEqual(['c2_api_key_scopes', 'd1_notifications']);
  // ... and downgrading to each row in turn restores the set exactly.
  await starterAlembicOk(backend, branchedUrl, ['downgrade', 'c1_api_keys']);
  expect(await alembicVersionRows(branchedUrl)).toEqual(
    [...STARTER_REVISIONS.branchedAfterRaisingMerge].sort(),
  );
  const restored = await tables(branchedUrl);
  expect(restored).toEqual(expect.arrayContaining(['api_keys', 'notifications']));
  expect(restored).not.toContain('api_key_scopes');
  expect(restored).not.toContain('notification_preferences');
});

test('`just migrate` from the backend directory uses the root justfile and the venv alembic', async () => {
  await starterAlembicOk(backend, branchedUrl, ['upgrade', 'heads']);
  await starterAlembicOk(backend, branchedUrl, ['downgrade', 'm3_merge_keys_notifications']);
  const just = path.join(venvBin(), 'just');
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      just,
      ['migrate'],
      {
        cwd: backend.backendDir,
        env: {
          HOME: process.env.HOME ?? '/tmp',
          PATH: '/usr/bin:/bin',
          DATABASE_URL: branchedUrl,
          STARTER_NOISY_MIGRATION_MB: '1',
        },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
    );
  });
  expect(result.stderr).toMatch(/cd apps\/api-service && \.venv\/bin\/alembic -c alembic\.ini upgrade heads/);
  expect(result.code).toBe(0);
  // The noisy backfill printed its megabyte to stdout.
  expect(result.stdout.length).toBeGreaterThanOrEqual(1024 * 1024);
  expect(await alembicVersionRows(branchedUrl)).toEqual([STARTER_REVISIONS.head]);
});

test("Stripe objects as the backend's own setup command leaves them, and the seed helper's legacy ones", async () => {
  const peer: StripePeer = await startStripePeer({ port: 0, apiKeys: [PEER_KEY] });
  try {
    const run = () =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          path.join(backend.venvDir, 'bin', 'python'),
          ['scripts/setup_stripe.py'],
          {
            cwd: backend.backendDir,
            env: { PATH: '/usr/bin:/bin', STRIPE_SECRET_KEY: PEER_KEY, STRIPE_API_BASE: peer.url },
          },
          (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
        );
      });
    const first = await run();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const line = /^STRIPE_PRODUCT_PRICE_MAP=(.*)$/m.exec(first.stdout)?.[1] ?? '';
    const map = JSON.parse(line) as Record<string, string>;
    expect(Object.keys(map).sort()).toEqual(
      starterCatalog()
        .map((p) => p.code)
        .sort(),
    );
    // Run again: it finds its own products and prices instead of making more.
    expect((await run()).stdout).toBe(first.stdout);

    const legacy = await seedStarterStripe({
      apiBase: peer.url,
      secretKey: PEER_KEY,
      plans: [{ code: 'legacy', name: 'Legacy', amount: 900 }],
      metadataKey: LEGACY_STARTER_PLAN_CODE_KEY,
    });

    const stripe = new Stripe(PEER_KEY, { maxNetworkRetries: 0, ...stripeConnectionOptions(peer.url) });
    const products = (await stripe.products.list({ limit: 100 })).data;
    expect(products).toHaveLength(starterCatalog().length + 1);
    const byCode = Object.fromEntries(
      products.map((p) => [p.metadata[STARTER_PLAN_CODE_KEY] ?? p.metadata[LEGACY_STARTER_PLAN_CODE_KEY], p]),
    );
    expect(byCode.legacy?.id).toBe(legacy.productIds.legacy);
    expect(byCode.legacy?.metadata).toEqual({ [LEGACY_STARTER_PLAN_CODE_KEY]: 'legacy' });
    for (const plan of starterCatalog()) {
      const price = await stripe.prices.retrieve(map[plan.code] ?? '');
      expect({
        product: price.product,
        unit_amount: price.unit_amount,
        currency: price.currency,
        interval: price.recurring?.interval,
      }).toEqual({
        product: byCode[plan.code]?.id,
        unit_amount: plan.amount,
        currency: 'usd',
        interval: 'month',
      });
    }
  } finally {
    await peer.close();
  }
});

test('a release through the CLI and a worker whose project root is apps/api-service reaches the head', async () => {
  const e2e = await startE2eStack('starter-smoke', {
    environment: 'e2e',
    sample: 'starter-monorepo',
    // Billing stays off here (other tests cover it); only keys this branch's schema knows.
    starter: { billing: false, configPatch: unknownConfigKeysPatch() },
  });
  try {
    expect(e2e.stack.backendDir).toBe(path.join(e2e.stack.sampleRoot, 'apps', 'api-service'));
    await bringStarterTo(starterBackendOf(e2e.stack.backendDir), e2e.stack.databaseUrl, [
      STARTER_REVISIONS.atRaisingMerge,
    ]);
    const result = await runCli([
      'release',
      'db',
      '--project-root',
      e2e.stack.backendDir,
      '--environment',
      'e2e',
      '--non-interactive',
      '--skip-db-checks',
      '--json',
      '--summary-path',
      'var/reports/smoke.json',
      ...e2e.temporalArgs,
    ]);
    expect(result.stderr).toContain('Release success');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      status: string;
      steps: Array<{ name: string; status: string; metadata?: { output?: string } }>;
    };
    const migrations = summary.steps.find((s) => s.name === 'migrations');
    expect(migrations?.status).toBe('success');
    // `just migrate` found the root justfile and ran the backend venv's alembic.
    expect(migrations?.metadata?.output).toMatch(
      /cd apps\/api-service && \.venv\/bin\/alembic -c alembic\.ini upgrade heads/,
    );
    expect(await alembicVersionRows(e2e.stack.databaseUrl)).toEqual([STARTER_REVISIONS.head]);
  } finally {
    await e2e.close();
  }
});
