/**
 * Issue 12 items 2, 3 and 4 against the second sample, examples/starter-monorepo, as the issue
 * met them: billing_plans without stripe_price_id, ENABLE_BILLING=false by default, price ids only
 * in .env.local, and products its own setup command made under `starter_console_plan_code`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PEER_SECRET_KEY } from '../../src/devstack/stack';
import type { ReleaseSummary } from '../../src/release/types';
import { runCli } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import {
  bringStarterTo,
  STARTER_REVISIONS,
  starterBackendOf,
  starterCatalog,
  unknownConfigKeysPatch,
} from '../support/starter-backend';
import { seedStarterStripe, STARTER_PLAN_CODE_KEY } from '../support/starter-stripe';

let e2e: E2eStack;
let backend: string;

beforeAll(async () => {
  e2e = await startE2eStack('billing-starter', {
    environment: 'e2e',
    sample: 'starter-monorepo',
    starter: { billing: false, configPatch: unknownConfigKeysPatch() },
  });
  backend = e2e.stack.backendDir;
  // A single-row state after the merge whose downgrade raises, so a compensation could run.
  await bringStarterTo(starterBackendOf(backend), e2e.stack.databaseUrl, [STARTER_REVISIONS.atRaisingMerge]);
});
afterAll(async () => {
  await e2e?.close();
});

const envFile = () => path.join(backend, '.env.local');

/** Sets keys in the backend's .env.local, every other line kept. */
async function setEnv(values: Record<string, string>): Promise<void> {
  const lines = (await readFile(envFile(), 'utf8'))
    .split('\n')
    .filter((l) => l !== '' && !Object.keys(values).some((k) => l.startsWith(`${k}=`)));
  await writeFile(
    envFile(),
    [...lines, ...Object.entries(values).map(([k, v]) => `${k}=${v}`)].join('\n') + '\n',
  );
}

async function release(name: string, extra: string[] = []) {
  const result = await runCli([
    'release',
    'db',
    '--project-root',
    backend,
    '--environment',
    'e2e',
    '--non-interactive',
    '--json',
    '--summary-path',
    `var/reports/${name}.json`,
    ...e2e.temporalArgs,
    ...extra,
  ]);
  return { ...result, summary: result.stdout ? (JSON.parse(result.stdout) as ReleaseSummary) : null };
}

interface BillingOnRelease {
  result: Awaited<ReturnType<typeof release>>;
  seeded: Awaited<ReturnType<typeof seedStarterStripe>>;
  productsBefore: string[];
  /** .env.local just before the release. */
  envBefore: string;
}
let billingOffRun: ReturnType<typeof release> | null = null;
/** The billing-off release (case 3), run once: it also brings the database to head for the later releases. */
function billingOffRelease(): ReturnType<typeof release> {
  billingOffRun ??= setEnv({ ENABLE_BILLING: 'false' }).then(() => release('billing-off'));
  return billingOffRun;
}
let billingOnRun: Promise<BillingOnRelease> | null = null;
/**
 * The billing-on release (the backend's products seeded, ids only in .env.local), run once: by
 * the test that checks it, or by the rollback test when that one runs alone (-t).
 */
function billingOnRelease(): Promise<BillingOnRelease> {
  billingOnRun ??= (async () => {
    await billingOffRelease(); // the migrations are applied: this release's rollback undoes only billing
    const seeded = await seedStarterStripe({
      apiBase: e2e.stack.stripe.url,
      secretKey: PEER_SECRET_KEY,
      plans: starterCatalog(),
    });
    await setEnv({ ENABLE_BILLING: 'true', STRIPE_PRODUCT_PRICE_MAP: JSON.stringify(seeded.priceMap) });
    const productsBefore = e2e.stack.stripe
      .state()
      .products.map((p) => p.id)
      .sort();
    const envBefore = await readFile(envFile(), 'utf8');
    const result = await release(
      'billing-on',
      starterCatalog().flatMap((p) => ['--plan', `${p.code}=${p.amount}`]),
    );
    return { result, seeded, productsBefore, envBefore };
  })();
  return billingOnRun;
}

const stepOf = (summary: ReleaseSummary | null, name: string) => summary?.steps.find((s) => s.name === name);
const codes = starterCatalog().map((p) => p.code);

test('ENABLE_BILLING=maybe: exit 2 naming it, its file and the allowed values; nothing started', async () => {
  await setEnv({ ENABLE_BILLING: 'maybe' });
  const result = await release('maybe');
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('ENABLE_BILLING="maybe" in .env.local is neither true nor false');
  // The dev server is shared by every test file and db-release-e2e is a common id: what matters is
  // that no run of it was ever scheduled on this stack's task queue.
  const runs = e2e.ctx.client.workflow.list({
    query: `WorkflowId = 'db-release-e2e' AND TaskQueue = '${e2e.taskQueue}'`,
  });
  const found: string[] = [];
  for await (const run of runs) found.push(run.runId);
  expect(found).toEqual([]);
});

test('case 3: billing off (the backend default) migrates and skips Stripe and the plan check with the reason: success, nothing rolled back', async () => {
  const result = await billingOffRelease();
  expect(result.code).toBe(0);
  const summary = result.summary as ReleaseSummary;
  expect(summary.status).toBe('success');
  expect(summary.compensations).toEqual([]);
  expect(stepOf(summary, 'stripe_setup')).toMatchObject({
    status: 'skipped',
    detail: 'ENABLE_BILLING=false in .env.local',
  });
  expect(stepOf(summary, 'billing_plan_verification')).toMatchObject({
    status: 'skipped',
    detail: 'ENABLE_BILLING=false in .env.local',
  });
  expect(summary.billing_plans).toEqual([]);
  expect(e2e.stack.stripe.state().products).toEqual([]);
});

test("cases 2 and 4: billing on, the backend's products reused (never a second), ids only in .env.local, each checked in Stripe", async () => {
  const { result, seeded, productsBefore } = await billingOnRelease();
  expect(result.stderr).not.toMatch(/run the backend migrations/);
  expect(result.code).toBe(0);
  const summary = result.summary as ReleaseSummary;
  expect(summary.status).toBe('success');

  // No second product for any code: each plan reused the product the backend's setup made.
  expect(
    e2e.stack.stripe
      .state()
      .products.map((p) => p.id)
      .sort(),
  ).toEqual(productsBefore);
  expect(
    summary.stripe?.plans.map((p) => [p.code, p.productId, p.productAction, p.productMatchedBy]),
  ).toEqual(codes.map((c) => [c, seeded.productIds[c], 'reused', STARTER_PLAN_CODE_KEY]));

  // The ids went to .env.local only, and the check read them there and found them in Stripe.
  const priceMap = Object.fromEntries((summary.stripe?.plans ?? []).map((p) => [p.code, p.priceId]));
  expect(await readFile(envFile(), 'utf8')).toContain(
    `STRIPE_PRODUCT_PRICE_MAP=${JSON.stringify(priceMap)}\n`,
  );
  expect(stepOf(summary, 'stripe_setup')?.metadata).toMatchObject({ price_id_column: null, rows_updated: 0 });
  expect(summary.billing_plans.map((p) => [p.code, p.status, p.stripe_price_id, p.price_id_source])).toEqual(
    codes.map((c) => [c, 'ok', priceMap[c], 'STRIPE_PRODUCT_PRICE_MAP in .env.local']),
  );
  const columns = await e2e.query<{ column_name: string }>(
    "select column_name from information_schema.columns where table_name = 'billing_plans'",
  );
  expect(columns.map((c) => c.column_name)).not.toContain('stripe_price_id');
});

test('release rollback of that release restores .env.local byte for byte and archives what it created, writing no billing_plans row', async () => {
  const { result: billingOn, envBefore } = await billingOnRelease();
  expect(billingOn.summary?.status).toBe('success');
  const summary = billingOn.summary as ReleaseSummary;
  const rollback = await runCli([
    'release',
    'rollback',
    'e2e',
    '--json',
    '--operator',
    'dave',
    ...e2e.temporalArgs,
  ]);
  expect(rollback.code).toBe(0);
  const result = JSON.parse(rollback.stdout) as { compensations: Array<{ name: string; status: string }> };
  expect(result.compensations.map((c) => [c.name, c.status])).toEqual([
    ['env_file', 'success'],
    ['billing_plans', 'skipped'],
    ...[...codes].reverse().map((c) => [`stripe:${c}`, 'success']),
  ]);
  // The map the backend's setup wrote is back, every other line as it was.
  expect(await readFile(envFile(), 'utf8')).toBe(envBefore);
  const state = e2e.stack.stripe.state();
  for (const plan of summary.stripe?.plans ?? []) {
    expect(state.prices.find((p) => p.id === plan.priceId)?.active).toBe(false);
    expect(state.products.find((p) => p.id === plan.productId)?.active).toBe(true);
  }
});

test('status summary reads the plans as the backend keeps them: no stripe_price_id column, ids in .env.local', async () => {
  await billingOnRelease(); // billing on, ids in .env.local (also when this test runs alone)
  const result = await runCli([
    'status',
    'summary',
    '--project-root',
    backend,
    '--json',
    ...e2e.temporalArgs,
  ]);
  const status = JSON.parse(result.stdout) as {
    billing_plans: { ok: boolean; error: string | null; plans: Array<{ code: string; status: string }> };
  };
  expect(status.billing_plans.error).toBeNull();
  expect(status.billing_plans.ok).toBe(true);
  expect(status.billing_plans.plans.map((p) => [p.code, p.status])).toEqual(codes.map((c) => [c, 'ok']));
});
