/**
 * Issue 12 items 2, 3 and 4 end to end on the real stack, against the sample backend shaped like
 * the starter the issue tried: its billing_plans has no stripe_price_id column (the migration that
 * adds it is removed from the copy), price ids live in .env.local, and the backend's own setup
 * command made a product keyed `starter_console_plan_code`.
 */
import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Stripe from 'stripe';
import { PEER_SECRET_KEY } from '../../src/devstack/stack';
import type { ReleaseSummary } from '../../src/release/types';
import { runCli } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';

let e2e: E2eStack;
let backend: string;
let baseEnvLocal: string;

beforeAll(async () => {
  e2e = await startE2eStack('billing-as-kept', { environment: 'e2e' });
  backend = e2e.stack.backendDir;
  await rm(path.join(backend, 'migrations', 'versions', '20251107_090000_stripe_price_id.py'));
  execFileSync(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-qam', 'no stripe_price_id column'],
    { cwd: backend },
  );
  baseEnvLocal = await readFile(path.join(backend, '.env.local'), 'utf8');
});
afterAll(async () => {
  await e2e?.close();
});

function envLocal(): Promise<string> {
  return readFile(path.join(backend, '.env.local'), 'utf8');
}

async function setBilling(value: string): Promise<void> {
  const current = await envLocal();
  const without = current
    .split('\n')
    .filter((l) => !l.startsWith('ENABLE_BILLING='))
    .join('\n');
  await writeFile(
    path.join(backend, '.env.local'),
    `${without.replace(/\n*$/, '\n')}ENABLE_BILLING=${value}\n`,
  );
}

async function release(name: string, plans: string[] = ['starter=0', 'pro=9900']) {
  const result = await runCli([
    'release',
    'db',
    '--project-root',
    backend,
    '--environment',
    'e2e',
    '--non-interactive',
    ...plans.flatMap((p) => ['--plan', p]),
    '--json',
    '--summary-path',
    `var/reports/${name}.json`,
    ...e2e.temporalArgs,
  ]);
  const summary = result.stdout ? (JSON.parse(result.stdout) as ReleaseSummary) : null;
  return { ...result, summary };
}

function step(summary: ReleaseSummary | null, name: string) {
  const found = summary?.steps.find((s) => s.name === name);
  if (!found) throw new Error(`no step ${name} in ${JSON.stringify(summary?.steps.map((s) => s.name))}`);
  return found;
}

test('ENABLE_BILLING=maybe is bad input: exit 2 naming the value, its file and the allowed values; nothing started', async () => {
  await writeFile(path.join(backend, '.env.local'), `${baseEnvLocal}ENABLE_BILLING=maybe\n`);
  const result = await release('maybe');
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('ENABLE_BILLING="maybe" in .env.local is neither true nor false');
  expect(result.stderr).toMatch(/1\/true\/yes\/on for on, 0\/false\/no\/off or empty for off/);
  // The dev server is shared by every test file and db-release-e2e is a common id: what matters is
  // that no run of it was ever scheduled on this stack's task queue.
  const runs = e2e.ctx.client.workflow.list({
    query: `WorkflowId = 'db-release-e2e' AND TaskQueue = '${e2e.taskQueue}'`,
  });
  const found: string[] = [];
  for await (const run of runs) found.push(run.runId);
  expect(found).toEqual([]);
  expect(await e2e.query("select to_regclass('alembic_version') as t")).toEqual([{ t: null }]);
});

test('case 3: billing off skips Stripe and the plan check with the reason: the release succeeds', async () => {
  await setBilling('false');
  const result = await release('billing-off');
  expect(result.stderr).not.toMatch(/rolled back|rollback/i);
  expect(result.code).toBe(0);
  const summary = result.summary as ReleaseSummary;
  expect(summary.status).toBe('success');
  expect(step(summary, 'stripe_setup')).toMatchObject({
    status: 'skipped',
    detail: 'ENABLE_BILLING=false in .env.local',
  });
  expect(step(summary, 'billing_plan_verification')).toMatchObject({
    status: 'skipped',
    detail: 'ENABLE_BILLING=false in .env.local',
  });
  expect(e2e.stack.stripe.state().products).toEqual([]);
  expect(
    (await e2e.query<{ version_num: string }>('select version_num from alembic_version')).map(
      (r) => r.version_num,
    ),
  ).toEqual(['20251106_120000']);
});

describe('billing on, price ids only in .env.local, a product the backend made', () => {
  let seeded: { product: string; price: string };

  test("cases 2 and 4: the backend's product is reused (no second one), ids go only to .env.local and are checked in Stripe", async () => {
    const dashboard = new Stripe(PEER_SECRET_KEY, {
      host: '127.0.0.1',
      port: e2e.stack.stripe.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    const product = await dashboard.products.create({
      name: 'Pro',
      metadata: { starter_console_plan_code: 'pro' },
    });
    const price = await dashboard.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 9900,
      recurring: { interval: 'month', trial_period_days: 14 },
      metadata: { starter_console_plan_code: 'pro' },
    });
    seeded = { product: product.id, price: price.id };
    await setBilling('true');

    const result = await release('billing-on');
    expect(result.code).toBe(0);
    const summary = result.summary as ReleaseSummary;
    const pro = summary.stripe?.plans.find((p) => p.code === 'pro');
    expect(pro).toMatchObject({
      productId: product.id,
      productAction: 'reused',
      productMatchedBy: 'starter_console_plan_code',
      priceId: price.id,
      priceAction: 'lookup_key_assigned',
    });
    const proProducts = e2e.stack.stripe
      .state()
      .products.filter((p) => Object.values(p.metadata).includes('pro'));
    expect(proProducts.map((p) => p.id)).toEqual([product.id]);

    expect(step(summary, 'stripe_setup').metadata).toMatchObject({ price_id_column: null, rows_updated: 0 });
    const starter = summary.stripe?.plans.find((p) => p.code === 'starter');
    expect(summary.billing_plans).toEqual([
      {
        code: 'starter',
        status: 'ok',
        stripe_price_id: starter?.priceId,
        is_active: true,
        price_id_source: 'STRIPE_PRODUCT_PRICE_MAP in .env.local',
      },
      {
        code: 'pro',
        status: 'ok',
        stripe_price_id: price.id,
        is_active: true,
        price_id_source: 'STRIPE_PRODUCT_PRICE_MAP in .env.local',
      },
    ]);
    expect(await envLocal()).toContain(
      `STRIPE_PRODUCT_PRICE_MAP=${JSON.stringify({ starter: starter?.priceId, pro: price.id })}\n`,
    );
    const columns = await e2e.query<{ column_name: string }>(
      "select column_name from information_schema.columns where table_name = 'billing_plans'",
    );
    expect(columns.map((c) => c.column_name)).not.toContain('stripe_price_id');
  });

  test('a failed check is undone without column writes: .env.local byte for byte, the new price archived, the reused product kept', async () => {
    const before = await envLocal();
    await e2e.query("update billing_plans set is_active = false where code = 'starter'");
    try {
      const result = await release('rolled-back', ['starter=0', 'pro=12900']);
      expect(result.code).toBe(1);
      const summary = result.summary as ReleaseSummary;
      expect(summary.status).toBe('rolled_back');
      expect(summary.error?.message).toContain('starter (inactive)');
      expect(summary.compensations.map((c) => [c.name, c.status])).toEqual([
        ['env_file', 'success'],
        ['billing_plans', 'skipped'],
        ['stripe:pro', 'success'],
        ['stripe:starter', 'skipped'],
      ]);
      expect(await envLocal()).toBe(before);
      const created = summary.stripe?.plans.find((p) => p.code === 'pro');
      const state = e2e.stack.stripe.state();
      expect(state.prices.find((p) => p.id === created?.priceId)?.active).toBe(false);
      expect(state.prices.find((p) => p.id === seeded.price)).toMatchObject({
        active: true,
        lookup_key: 'db_release:pro:monthly',
      });
      expect(state.products.find((p) => p.id === seeded.product)?.active).toBe(true);
    } finally {
      await e2e.query("update billing_plans set is_active = true where code = 'starter'");
    }
  });
});
