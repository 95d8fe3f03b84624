/**
 * End to end through the CLI on the real stack: dev server, Postgres, Alembic, the Stripe peer.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PEER_SECRET_KEY, PEER_WEBHOOK_SECRET, SAMPLE_DB_PASSWORD } from '../../src/devstack/stack';
import type { ReleaseSummary } from '../../src/release/types';
import { runCli } from '../support/cli';
import { historyText } from '../support/history';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';

const ORIGINAL_KEYS = [
  'status',
  'executed_at',
  'environment',
  'git_sha',
  'alembic_revision',
  'steps',
  'billing_plans',
  'options',
  'stripe_price_map',
  'secrets',
];

let e2e: E2eStack;
beforeAll(async () => {
  e2e = await startE2eStack('release', { environment: 'e2e' });
});
afterAll(async () => {
  await e2e?.close();
});

function releaseArgs(environment: string, summaryPath: string, extra: string[] = []): string[] {
  return [
    'release',
    'db',
    '--project-root',
    e2e.stack.backendDir,
    '--environment',
    environment,
    '--non-interactive',
    '--plan',
    'starter=0',
    '--plan',
    'pro=9900',
    '--json',
    '--summary-path',
    summaryPath,
    ...e2e.temporalArgs,
    ...extra,
  ];
}

describe('release db on the real stack', () => {
  /** The first release on the fresh stack, run once: by the test that checks it, or by a later test run alone (-t). */
  let firstRun: Promise<{ result: Awaited<ReturnType<typeof runCli>>; envBefore: string }> | null = null;
  const firstRelease = () =>
    (firstRun ??= (async () => {
      const envBefore = await readFile(path.join(e2e.stack.backendDir, '.env.local'), 'utf8');
      return { result: await runCli(releaseArgs('e2e', 'var/reports/first.json')), envBefore };
    })());
  const firstSummary = async () => JSON.parse((await firstRelease()).result.stdout) as ReleaseSummary;

  test('a full release migrates, provisions Stripe, writes the ids and a complete summary', async () => {
    const { result, envBefore: envText } = await firstRelease();
    const envBefore = { text: envText };
    expect(result.stderr).toContain('Release success');
    expect(result.code).toBe(0);

    // --json: the summary is the only thing on stdout
    const first = JSON.parse(result.stdout) as ReleaseSummary;
    const file = JSON.parse(
      await readFile(path.join(e2e.stack.backendDir, 'var/reports/first.json'), 'utf8'),
    ) as ReleaseSummary;
    expect(file).toEqual(first);
    for (const key of ORIGINAL_KEYS) expect(first).toHaveProperty(key);
    expect(first.status).toBe('success');
    expect(first.steps.map((s) => [s.name, s.status])).toEqual([
      ['preflight', 'success'],
      ['migrations', 'success'],
      ['alembic_revision', 'success'],
      ['stripe_setup', 'success'],
      ['billing_plan_verification', 'success'],
    ]);
    expect(first.steps.every((s) => typeof s.duration_ms === 'number' && s.started_at && s.ended_at)).toBe(
      true,
    );
    expect(first.git_sha).toMatch(/^[0-9a-f]{40}$/);
    expect(first.pre_release_revision).toBeNull();
    expect(first.pending_revisions.map((r) => r.revision)).toEqual(['20251106_120000', '20251107_090000']);
    expect(first.started_by).toBeTruthy();
    expect(first.workflow_id).toBe('db-release-e2e');

    // migrations applied and revision captured
    const versions = await e2e.query<{ version_num: string }>('select version_num from alembic_version');
    expect(versions.map((v) => v.version_num)).toEqual(['20251107_090000']);
    // Read from alembic_version through pg (no `alembic current`): the set, joined by ",".
    expect(first.alembic_revision).toBe('20251107_090000');
    expect(first.alembic_revisions).toEqual(['20251107_090000']);
    expect(first.pre_release_revisions).toEqual([]);

    // prices exist in the Stripe peer, with the catalog amounts in minor units
    const state = e2e.stack.stripe.state();
    const byCode = Object.fromEntries(first.stripe!.plans.map((p) => [p.code, p]));
    const starter = state.prices.find((p) => p.id === byCode.starter?.priceId);
    const pro = state.prices.find((p) => p.id === byCode.pro?.priceId);
    expect(starter).toMatchObject({
      unit_amount: 0,
      currency: 'usd',
      active: true,
      lookup_key: 'db_release:starter:monthly',
    });
    expect(pro).toMatchObject({ unit_amount: 9900, currency: 'usd', active: true });
    expect(pro?.recurring).toMatchObject({ interval: 'month', trial_period_days: 14 });

    // billing_plans carries the ids; .env.local has the map, every other line kept
    const rows = await e2e.query<{ code: string; stripe_price_id: string }>(
      'select code, stripe_price_id from billing_plans order by code',
    );
    expect(Object.fromEntries(rows.map((r) => [r.code, r.stripe_price_id]))).toEqual({
      pro: pro?.id,
      starter: starter?.id,
    });
    expect(first.billing_plans.map((p) => [p.code, p.status])).toEqual([
      ['starter', 'ok'],
      ['pro', 'ok'],
    ]);
    const envAfter = await readFile(path.join(e2e.stack.backendDir, '.env.local'), 'utf8');
    expect(envAfter.startsWith(envBefore.text)).toBe(true);
    expect(envAfter.slice(envBefore.text.length)).toBe(
      `STRIPE_PRODUCT_PRICE_MAP=${JSON.stringify({ starter: starter?.id, pro: pro?.id })}\nENABLE_BILLING=true\n`,
    );
    expect(first.stripe_price_map).toEqual({ starter: starter?.id, pro: pro?.id });
    expect(first.secrets).toEqual({ stripe_secret_key: 'sk_t…4f7a', stripe_webhook_secret: 'whse…9c2e' });
  });

  test('a second release creates no new Stripe objects', async () => {
    const first = await firstSummary();
    const before = e2e.stack.stripe.state();
    const result = await runCli(releaseArgs('e2e', 'var/reports/second.json'));
    expect(result.code).toBe(0);
    const second = JSON.parse(result.stdout) as ReleaseSummary;
    const after = e2e.stack.stripe.state();
    expect(after.products).toHaveLength(before.products.length);
    expect(after.prices).toHaveLength(before.prices.length);
    expect(second.stripe!.plans.map((p) => [p.code, p.productAction, p.priceAction])).toEqual([
      ['starter', 'reused', 'reused'],
      ['pro', 'reused', 'reused'],
    ]);
    expect(second.pending_revisions).toEqual([]);
    expect(second.run_id).not.toBe(first.run_id);
  });

  test('no secret value appears anywhere in the event history', async () => {
    const first = await firstSummary();
    const text = await historyText(e2e.ctx.client, first.workflow_id, first.run_id);
    // the masked forms are there, so the scan reads the decoded payloads
    expect(text.includes('sk_t…4f7a')).toBe(true);
    expect(text.includes('"revisions":["20251107_090000"]')).toBe(true);
    for (const secret of [PEER_SECRET_KEY, PEER_WEBHOOK_SECRET, SAMPLE_DB_PASSWORD]) {
      expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
    }
  });

  test('bad input exits 2 with one clear line and starts nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--plan', 'starter=abc'], /--plan "starter=abc"/],
      [['--plan', 'starter=-5'], /must not be negative/],
      [['--plan', 'gold=100'], /unknown plan code "gold"/],
      [['--currency', 'xyz'], /--currency "xyz"/],
    ];
    for (const [extra, message] of cases) {
      const args = releaseArgs('e2e-bad', 'var/reports/bad.json').filter(
        (a, i, all) => !(a === '--plan' || all[i - 1] === '--plan'),
      );
      const result = await runCli([
        ...args,
        ...(extra[0] === '--plan' ? ['--plan', 'pro=9900'] : ['--plan', 'starter=0', '--plan', 'pro=9900']),
        ...extra,
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stdout).toBe('');
    }
    await expect(e2e.ctx.client.workflow.getHandle('db-release-e2e-bad').describe()).rejects.toThrow(
      /not found/i,
    );
  });

  test('a missing Stripe secret under --non-interactive exits 2', async () => {
    // a project root without env files: billing on (from the process env) but no Stripe secrets
    const bare = await runCli(
      [
        'release',
        'db',
        '--project-root',
        path.join(e2e.stack.backendDir, 'migrations'),
        '--environment',
        'e2e-bad',
        '--non-interactive',
        '--plan',
        'starter=0',
        '--plan',
        'pro=9900',
        ...e2e.temporalArgs,
      ],
      { ENABLE_BILLING: 'true' },
    );
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET not set/);
  });

  test('an unreachable Temporal address exits 2 naming it', async () => {
    const result = await runCli(
      releaseArgs('e2e-bad', 'var/reports/bad.json').map((a) =>
        a === e2e.temporalArgs[1] ? '127.0.0.1:1' : a,
      ),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Temporal is not reachable at 127\.0\.0\.1:1/);
  });
});
