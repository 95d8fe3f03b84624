/**
 * The runbook's other commands through the compiled CLI, on the real stack: providers validate
 * against the Stripe peer, config dump-schema, status summary before and after a real release,
 * release show --evidence, and stripe setup through the stripeSetup workflow on the worker.
 */
import { Worker } from '@temporalio/worker';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { rewriteEnvText } from '../../src/config/env-local';
import { maskSecret } from '../../src/masking';
import { PEER_SECRET_KEY, PEER_WEBHOOK_SECRET, SAMPLE_DB_PASSWORD } from '../../src/devstack/stack';
import type { ProvidersResult } from '../../src/cli/providers';
import type { SchemaDump, SettingView } from '../../src/cli/config-schema';
import type { StatusSummary } from '../../src/cli/status-summary';
import { prepareStripeSetup, type StripeSetupSummary } from '../../src/cli/commands/stripe-setup';
import type { Prompter } from '../../src/cli/prompts';
import type { ReleaseSummary } from '../../src/release/types';
import { runCli } from '../support/cli';
import { historyFromFile, historyText } from '../support/history';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { uniqueName } from '../support/temporal';

const HEAD = '20251107_090000';
const RESEND_KEY = 're_e2eResendKey_0123456789';
const OPENAI_KEY = 'sk-proj-e2eOpenAiKey0123456789';

let e2e: E2eStack;
let scratch: string;
// Its own environment, so the latest release of it is this file's and no other's.
const environment = uniqueName('runbook');

beforeAll(async () => {
  e2e = await startE2eStack('runbook', { environment });
  scratch = await mkdtemp(path.join(os.tmpdir(), 'db-release-runbook-'));
});
afterAll(async () => {
  await e2e?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const backend = () => e2e.stack.backendDir;
const envLocal = () => path.join(backend(), '.env.local');

/** A copy of the sample backend whose .env.local gets `updates`: for cases that must not touch the shared one. */
async function backendCopy(name: string, updates: Record<string, string | null>): Promise<string> {
  const dir = path.join(scratch, name);
  await cp(backend(), dir, { recursive: true });
  const file = path.join(dir, '.env.local');
  await writeFile(file, rewriteEnvText(await readFile(file, 'utf8'), updates));
  return dir;
}

/**
 * Reads a history file back as a replayer does. The SDK's historyFromJSON fails with "type must be
 * a Type" when npm installs two protobufjs 8 copies (see historyJson in src/cli/evidence.ts); the
 * fallback parses with the copy @temporalio/proto uses.
 */

function expectNoSecrets(text: string, extra: string[] = []): void {
  for (const secret of [PEER_SECRET_KEY, PEER_WEBHOOK_SECRET, SAMPLE_DB_PASSWORD, ...extra])
    expect(text).not.toContain(secret);
}

describe('providers validate', () => {
  test('optional providers left empty (.env.compose) are notes, not failures: exit 0; the Stripe key authenticates against the peer', async () => {
    const result = await runCli(['providers', 'validate', '--project-root', backend(), '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as ProvidersResult;
    expect(report.ok).toBe(true);
    expect(report.stripe_api_base).toBe(e2e.stack.stripe.url);
    expect(report.providers.map((p) => [p.provider, p.status])).toEqual([
      ['stripe', 'ok'],
      ['resend', 'missing'],
      ['openai', 'missing'],
    ]);
    expect(report.providers[0]?.keys).toEqual([
      {
        name: 'STRIPE_SECRET_KEY',
        status: 'ok',
        reason: `authenticated against ${e2e.stack.stripe.url}`,
        source: '.env.local',
        value: maskSecret(PEER_SECRET_KEY),
      },
      {
        name: 'STRIPE_WEBHOOK_SECRET',
        status: 'ok',
        reason: 'format ok',
        source: '.env.local',
        value: maskSecret(PEER_WEBHOOK_SECRET),
      },
    ]);
    expectNoSecrets(result.stdout + result.stderr);
  });

  test('with every key in .env.local: all ok, exit 0, keys masked on the screen', async () => {
    await writeFile(
      envLocal(),
      rewriteEnvText(await readFile(envLocal(), 'utf8'), {
        RESEND_API_KEY: RESEND_KEY,
        OPENAI_API_KEY: OPENAI_KEY,
      }),
    );
    const result = await runCli(['providers', 'validate', '--project-root', backend()]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /stripe\s+ok\s+STRIPE_SECRET_KEY sk_t…4f7a \(\.env\.local\): authenticated against/,
    );
    expect(result.stdout).toMatch(/resend\s+ok\s+RESEND_API_KEY re_e…6789 \(\.env\.local\)/);
    expect(result.stdout).toContain('all providers ok');
    expectNoSecrets(result.stdout, [RESEND_KEY, OPENAI_KEY]);
  });

  test('a well-formed Stripe key that Stripe refuses (401) is invalid: exit 1', async () => {
    const refused = 'sk_live_e2eRefusedByThePeer_0000';
    const dir = await backendCopy('refused-key', { STRIPE_SECRET_KEY: refused });
    const result = await runCli(['providers', 'validate', '--project-root', dir, '--json']);
    expect(result.code).toBe(1);
    const stripe = (JSON.parse(result.stdout) as ProvidersResult).providers[0];
    expect(stripe?.status).toBe('invalid');
    expect(stripe?.keys[0]).toMatchObject({
      status: 'invalid',
      reason: expect.stringMatching(/Stripe refused the key \(401\)/) as string,
      value: maskSecret(refused),
    });
    expect(result.stdout).not.toContain(refused);
  });

  test('no project root, or no env file in it: exit 2 with the fix', async () => {
    const missing = await runCli([
      'providers',
      'validate',
      '--project-root',
      path.join(scratch, 'does-not-exist'),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /--project-root ".*does-not-exist" is not a directory; point it at the backend checkout/,
    );
    const empty = path.join(scratch, 'empty-backend');
    await mkdir(empty, { recursive: true });
    const noEnv = await runCli(['providers', 'validate', '--project-root', empty, '--json']);
    expect(noEnv.code).toBe(2);
    expect(noEnv.stdout).toBe('');
    expect(noEnv.stderr).toMatch(
      /no env file in .*empty-backend \(looked for \.env\.local, \.env, \.env\.compose\)/,
    );
  });
});

describe('config dump-schema', () => {
  test('every setting with where this backend has it; DATABASE_URL without its password, secrets masked', async () => {
    const result = await runCli(['config', 'dump-schema', '--project-root', backend(), '--json']);
    expect(result.code).toBe(0);
    const dump = JSON.parse(result.stdout) as SchemaDump;
    const byName = new Map<string, SettingView>(dump.settings.map((s) => [s.name, s]));
    const databaseUrl = byName.get('DATABASE_URL');
    expect(databaseUrl).toMatchObject({ kind: 'env', found_in: '.env.local', secret: false });
    expect(databaseUrl?.value).toMatch(
      new RegExp(`^postgresql://[^:]+:\\*\\*\\*@[^/]+/${e2e.stack.databaseName}$`),
    );
    expect(byName.get('STRIPE_SECRET_KEY')).toMatchObject({
      found_in: '.env.local',
      secret: true,
      value: maskSecret(PEER_SECRET_KEY),
    });
    expect(byName.get('ENABLE_BILLING')).toMatchObject({
      found_in: '.env.compose',
      value: 'true',
      default: 'false',
    });
    expect(byName.get('ENVIRONMENT')).toMatchObject({ found_in: '.env.local', value: environment });
    expect(byName.get('TEMPORAL_ADDRESS')).toMatchObject({
      read_from: 'process env',
      found_in: 'default',
      value: 'localhost:7233',
    });
    expect(byName.get('DB_RELEASE_MAX_CONCURRENT_WORKFLOW_TASKS')).toMatchObject({
      found_in: 'default',
      default: '40',
    });
    expect(byName.get('catalog')).toMatchObject({ kind: 'file', found_in: 'release.config.json' });
    expect(byName.get('trialDays')).toMatchObject({ kind: 'file', found_in: 'default', value: '14' });
    expect(byName.get('--plan')).toMatchObject({ kind: 'flag' });
    expect(byName.get('--trial-days')).toMatchObject({ kind: 'flag', default: '14' });
    expect(byName.get('--task-queue')?.description).toContain('(env DB_RELEASE_TASK_QUEUE)');
    expectNoSecrets(result.stdout, [RESEND_KEY, OPENAI_KEY]);
  });
});

function releaseArgs(summaryPath: string): string[] {
  return [
    'release',
    'db',
    '--project-root',
    backend(),
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
  ];
}

describe('status summary, release show and stripe setup around a real release', () => {
  let release: ReleaseSummary;

  test('before the release: everything reachable, but pending migrations and no plan rows: exit 1', async () => {
    const result = await runCli([
      'status',
      'summary',
      '--project-root',
      backend(),
      '--json',
      ...e2e.temporalArgs,
    ]);
    expect(result.code).toBe(1);
    const status = JSON.parse(result.stdout) as StatusSummary;
    expect(status.environment).toBe(environment);
    expect(status.temporal).toMatchObject({ reachable: true, error: null });
    expect(status.worker.polling).toBe(true);
    expect(status.worker.pollers.length).toBeGreaterThan(0);
    expect(status.database.reachable).toBe(true);
    expect(status.database.version).toMatch(/^PostgreSQL/);
    expect(status.alembic).toMatchObject({
      current: null,
      heads: [HEAD],
      at_head: false,
      error: `database at base, head is ${HEAD}: pending migrations`,
    });
    expect(status.billing_plans.ok).toBe(false);
    expect(status.billing_plans.error).toMatch(
      /billing_plans query failed: relation "billing_plans" does not exist/,
    );
    expect(status.latest_release).toMatchObject({
      workflow_id: `db-release-${environment}`,
      run_id: null,
      ok: true,
    });
    expect(status.ok).toBe(false);
    expectNoSecrets(result.stdout + result.stderr);
  });

  test('release db, then status summary: at head, plans ok, the release named: exit 0', async () => {
    const run = await runCli(releaseArgs('var/reports/runbook.json'));
    expect(run.code).toBe(0);
    release = JSON.parse(run.stdout) as ReleaseSummary;
    expect(release.status).toBe('success');

    const result = await runCli([
      'status',
      'summary',
      '--project-root',
      backend(),
      '--json',
      ...e2e.temporalArgs,
    ]);
    expect(result.stderr).toBe('');
    const status = JSON.parse(result.stdout) as StatusSummary;
    expect(status.alembic).toMatchObject({ current: HEAD, heads: [HEAD], at_head: true, error: null });
    expect(status.billing_plans.plans.map((p) => [p.code, p.status])).toEqual([
      ['starter', 'ok'],
      ['pro', 'ok'],
    ]);
    expect(status.latest_release).toMatchObject({
      workflow_id: release.workflow_id,
      run_id: release.run_id,
      workflow_type: 'releaseDb',
      execution_status: 'COMPLETED',
      status: 'success',
      started_by: release.started_by,
      ok: true,
    });
    expect(status.ok).toBe(true);
    expect(result.code).toBe(0);
  });

  test('an unreachable database is a FAIL line, not a crash, and its password stays hidden: exit 1', async () => {
    const text = await readFile(envLocal(), 'utf8');
    const current = /^DATABASE_URL=(.*)$/m.exec(text)?.[1] ?? '';
    const dir = await backendCopy('db-down', { DATABASE_URL: current.replace(/@[^/]+\//, '@127.0.0.1:1/') });
    const result = await runCli(['status', 'summary', '--project-root', dir, ...e2e.temporalArgs]);
    expect(result.code).toBe(1);
    expect(result.stderr).not.toContain('unexpected error');
    expect(result.stdout).toMatch(
      /FAIL database\s+postgresql:\/\/[^:]+:\*\*\*@127\.0\.0\.1:1\/\S+: cannot connect: .*ECONNREFUSED/,
    );
    expect(result.stdout).toMatch(/FAIL alembic .*cannot read alembic_version: .*ECONNREFUSED.*\n/);
    expect(result.stdout).toMatch(/FAIL billing_plans .*not checked: database not reachable/);
    expect(result.stdout.trim().split('\n')).toHaveLength(8); // one screen: a title, seven lines
    expect(result.stdout).toMatch(/ok {3}temporal/);
    expect(result.stdout).toContain('not ready: see the FAIL lines');
    expectNoSecrets(result.stdout + result.stderr);
  });

  test('release show prints the summary; --evidence writes summary.json, report.md and a replayable history.json', async () => {
    const shown = await runCli(['release', 'show', environment, ...e2e.temporalArgs]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual(release);

    const dir = path.join(scratch, 'evidence');
    const result = await runCli([
      'release',
      'show',
      release.workflow_id,
      '--run-id',
      release.run_id,
      '--evidence',
      dir,
      ...e2e.temporalArgs,
    ]);
    expect(result.stderr).toMatch(/^evidence of /);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      path.join(dir, 'summary.json'),
      path.join(dir, 'report.md'),
      path.join(dir, 'history.json'),
    ]);
    expect(JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8'))).toEqual(release);
    const report = await readFile(path.join(dir, 'report.md'), 'utf8');
    expect(report.startsWith(`# Database release: ${environment} — success\n`)).toBe(true);
    expect(report).toContain(`| Workflow | \`${release.workflow_id}\` run \`${release.run_id}\` |`);
    const historyJson = await readFile(path.join(dir, 'history.json'), 'utf8');
    const history = JSON.parse(historyJson) as { events: Array<{ eventType: string }> };
    expect(history.events.length).toBeGreaterThan(10);
    expect(history.events[0]?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
    expect(history.events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    // The file is what replayers read: the release replays from it without a nondeterminism error.
    await Worker.runReplayHistory(
      { workflowBundle: e2e.ctx.bundle },
      historyFromFile(history),
      release.workflow_id,
    );
    expectNoSecrets(historyJson + report);
  });

  test('release show of an unknown release: exit 2 naming it (not found is bad input)', async () => {
    const result = await runCli(['release', 'show', 'no-such-environment', ...e2e.temporalArgs]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no release db-release-no-such-environment');
  });

  test('stripe setup refuses bad input with exit 2 and changes nothing', async () => {
    const before = await readFile(envLocal(), 'utf8');
    const base = ['stripe', 'setup', '--project-root', backend(), '--non-interactive', ...e2e.temporalArgs];
    const cases: Array<[string[], RegExp]> = [
      [['--plan', 'pro=99.00'], /--plan "pro=99\.00": the amount must be a whole number of cents/],
      [['--plan', 'gold=100'], /unknown plan code "gold"/],
      [['--currency', 'XYZ'], /--currency "XYZ": not a currency Stripe accepts/],
      [['--trial-days', 'two'], /--trial-days "two": use a whole number of days/],
      [['--secret-key', 'pk_test_e2ePublishableKey0000'], /--secret-key: this is a publishable key/],
      [
        ['--webhook-secret', PEER_SECRET_KEY],
        /--webhook-secret: this is an API key; it belongs in STRIPE_SECRET_KEY/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli([...base, ...args]);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
    expect(await readFile(envLocal(), 'utf8')).toBe(before);
  });

  test('stripe setup on a terminal asks for what is not given: blank keeps, a bad amount is asked again, secrets hidden', async () => {
    const asked: Array<{ question: string; hidden: boolean }> = [];
    const warnings: string[] = [];
    const answers = ['', 'pk_test_notASecretKey0000', 'whsec_promptedWebhookSecret01', '', 'abc', '4900'];
    const prompter: Prompter = {
      ask: (question, options = {}) => {
        asked.push({ question, hidden: Boolean(options.hidden) });
        return Promise.resolve(answers.shift() ?? '');
      },
      warn: (text) => warnings.push(text),
      close: () => undefined,
    };
    const prepared = await prepareStripeSetup({ projectRoot: backend(), plan: ['starter=0'] }, prompter, {});
    expect(asked).toEqual([
      { question: `STRIPE_SECRET_KEY [keep ${maskSecret(PEER_SECRET_KEY) ?? ''}]: `, hidden: true },
      { question: `STRIPE_WEBHOOK_SECRET [keep ${maskSecret(PEER_WEBHOOK_SECRET) ?? ''}]: `, hidden: true },
      { question: `STRIPE_WEBHOOK_SECRET [keep ${maskSecret(PEER_WEBHOOK_SECRET) ?? ''}]: `, hidden: true },
      { question: 'Monthly price of Starter (starter) in cents [0]: ', hidden: false },
      { question: 'Monthly price of Pro (pro) in cents [9900]: ', hidden: false },
      { question: 'Monthly price of Pro (pro) in cents [9900]: ', hidden: false },
    ]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^STRIPE_WEBHOOK_SECRET this is a publishable key \(pk_…\), not a webhook signing secret; expected a webhook signing secret whsec_/,
      ) as string,
      'the amount must be a whole number of cents (minor units), e.g. pro=9900 for 99.00',
    ]);
    expect(warnings.join('\n')).not.toContain('pk_test_notASecretKey0000');
    expect(prepared.envUpdates).toEqual({ STRIPE_WEBHOOK_SECRET: 'whsec_promptedWebhookSecret01' });
    expect(prepared.input).toMatchObject({
      currency: 'usd',
      trialDays: 7,
      plans: [
        { code: 'starter', amount: 0 },
        { code: 'pro', amount: 4900 },
      ],
    });
    expect(prepared.workflowId).toBe(`db-release-stripe-setup-${environment}`);
  });

  test('stripe setup: new secrets into .env.local only, new prices through the workflow, price ids where the backend reads them', async () => {
    const secretKey = `sk_test_${uniqueName('rotated').replace(/-/g, '_')}_key`;
    e2e.stack.stripe.addApiKey(secretKey); // the rotated key exists on the account, as it would on Stripe
    const webhookSecret = `whsec_${uniqueName('rotated').replace(/-/g, '_')}`;
    const before = await readFile(envLocal(), 'utf8');
    const result = await runCli([
      'stripe',
      'setup',
      '--project-root',
      backend(),
      '--non-interactive',
      '--secret-key',
      secretKey,
      '--webhook-secret',
      webhookSecret,
      '--currency',
      'USD',
      '--plan',
      'starter=0',
      '--plan',
      'pro=12900',
      ...e2e.temporalArgs,
    ]);
    expect(result.stderr).toContain('stripe setup done');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as StripeSetupSummary;
    expect(summary.workflow_id).toBe(`db-release-stripe-setup-${environment}`);
    expect(summary.stripe_secret_key).toBe(maskSecret(secretKey));
    expect(summary.stripe_webhook_secret).toBe(maskSecret(webhookSecret));
    expect(summary.enable_billing).toBe(true);
    expect(summary.plans.map((p) => [p.code, p.amount, p.currency, p.trial_days, p.price_action])).toEqual([
      ['starter', 0, 'usd', 7, 'created'], // 7 trial days (the standalone default) differ from the release's 14
      ['pro', 12900, 'usd', 7, 'created'],
    ]);
    const releasePrices = Object.fromEntries((release.stripe?.plans ?? []).map((p) => [p.code, p.priceId]));
    for (const plan of summary.plans) expect(plan.previous_price_id).toBe(releasePrices[plan.code]);
    const priceMap = Object.fromEntries(summary.plans.map((p) => [p.code, p.price_id]));
    expect(summary.stripe_product_price_map).toEqual(priceMap);

    // .env.local: the four keys rewritten, every other line kept
    const after = await readFile(envLocal(), 'utf8');
    expect(after).toContain(`STRIPE_SECRET_KEY=${secretKey}\n`);
    expect(after).toContain(`STRIPE_WEBHOOK_SECRET=${webhookSecret}\n`);
    expect(after).toContain(`STRIPE_PRODUCT_PRICE_MAP=${JSON.stringify(priceMap)}\n`);
    const untouched = (text: string) =>
      text
        .split('\n')
        .filter(
          (l) =>
            !/^(STRIPE_SECRET_KEY|STRIPE_WEBHOOK_SECRET|STRIPE_PRODUCT_PRICE_MAP|ENABLE_BILLING)=/.test(l),
        );
    expect(untouched(after)).toEqual(untouched(before));
    const rows = await e2e.query<{ code: string; stripe_price_id: string }>(
      'select code, stripe_price_id from billing_plans order by code',
    );
    expect(Object.fromEntries(rows.map((r) => [r.code, r.stripe_price_id]))).toEqual(priceMap);

    // the secrets went to the file, never into the workflow's history or onto stdout
    expect(result.stdout + result.stderr).not.toContain(secretKey);
    const history = await historyText(e2e.ctx.client, summary.workflow_id, summary.run_id);
    expect(history).toContain(summary.plans[1]?.price_id ?? 'missing');
    for (const secret of [secretKey, webhookSecret, PEER_SECRET_KEY, SAMPLE_DB_PASSWORD])
      expect(history).not.toContain(secret);

    // the same provisioning code as the release: a re-run finds everything and creates nothing
    const again = await runCli([
      'stripe',
      'setup',
      '--project-root',
      backend(),
      '--non-interactive',
      '--plan',
      'starter=0',
      '--plan',
      'pro=12900',
      ...e2e.temporalArgs,
    ]);
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout) as StripeSetupSummary;
    expect(second.plans.map((p) => [p.code, p.product_action, p.price_action, p.price_id])).toEqual(
      summary.plans.map((p) => [p.code, 'reused', 'reused', p.price_id]),
    );
    expect(second.env_file_changed).toBe(false);
  });
});
