import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { prepareRelease, utcStamp, type ReleaseDbFlags } from '../../src/cli/commands/release-db';
import type { Prompter } from '../../src/cli/prompts';
import { removeTempDirs, tempDir } from '../support/fakes';

const SECRET_KEY = 'sk_test_51UnitSecretNeverInWorkflowInput';
const WEBHOOK_SECRET = 'whsec_UnitWebhookNeverInWorkflowInput';
const DB_PASSWORD = 'dbPassw0rdNeverInInput';
const NOW = new Date('2025-11-07T09:00:05.123Z');

const FULL_ENV_LOCAL = [
  '# backend settings',
  'ENVIRONMENT=staging',
  'ENABLE_BILLING=true',
  `STRIPE_SECRET_KEY=${SECRET_KEY}`,
  `STRIPE_WEBHOOK_SECRET=${WEBHOOK_SECRET}`,
  `DATABASE_URL=postgresql://app:${DB_PASSWORD}@db:5432/app`,
  '',
].join('\n');

// resolveTemporalTarget reads TEMPORAL_* from process.env through @temporalio/envconfig: keep them out.
const savedTemporalEnv: Record<string, string | undefined> = {};
beforeAll(() => {
  for (const key of Object.keys(process.env).filter((k) => k.startsWith('TEMPORAL_'))) {
    savedTemporalEnv[key] = process.env[key];
    delete process.env[key];
  }
});
afterAll(() => {
  for (const [key, value] of Object.entries(savedTemporalEnv))
    if (value !== undefined) process.env[key] = value;
  removeTempDirs();
});

function project(files: Record<string, string> = { '.env.local': FULL_ENV_LOCAL }): string {
  const root = tempDir('release-input-');
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(root, name), text);
  return root;
}

function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra };
}

function flagsFor(root: string, extra: Partial<ReleaseDbFlags> = {}): ReleaseDbFlags {
  return {
    projectRoot: root,
    nonInteractive: true,
    plan: ['starter=0', 'pro=9900'],
    operator: 'alice',
    ...extra,
  };
}

interface CapturedCliError {
  name: string;
  message: string;
  exitCode: unknown;
}

async function cliErrorOf(promise: Promise<unknown>): Promise<CapturedCliError> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return {
      name: error.name,
      message: error.message,
      exitCode: (error as Error & { exitCode?: unknown }).exitCode,
    };
  }
  throw new Error('expected prepareRelease to reject the input, but it accepted it');
}

describe('prepareRelease rejects bad input with a CliError (exit 2) naming the flag', () => {
  const cases: Array<[string, (root: string) => Partial<ReleaseDbFlags>, RegExp]> = [
    ['malformed --plan', () => ({ plan: ['starter', 'pro=9900'] }), /--plan "starter": expected CODE=CENTS/],
    ['negative --plan amount', () => ({ plan: ['starter=-5', 'pro=9900'] }), /--plan "starter=-5".*negative/],
    [
      'decimal --plan amount',
      () => ({ plan: ['starter=0', 'pro=99.00'] }),
      /--plan "pro=99\.00".*whole number/,
    ],
    [
      'unknown plan code',
      () => ({ plan: ['gold=100', 'starter=0', 'pro=9900'] }),
      /--plan "gold=100": unknown plan code "gold"/,
    ],
    ['unknown currency', () => ({ currency: 'xyz' }), /--currency "xyz"/],
    [
      'catalog plan without --plan',
      () => ({ plan: ['starter=0'] }),
      /--non-interactive needs a --plan for every catalog plan; missing: --plan pro=CENTS/,
    ],
    ['no --plan at all', () => ({ plan: undefined }), /missing: --plan starter=CENTS --plan pro=CENTS/],
    ['--environment with a space', () => ({ environment: 'prod env' }), /--environment "prod env"/],
    ['--environment with a slash', () => ({ environment: '../prod' }), /--environment "\.\.\/prod"/],
    ['--environment starting with -', () => ({ environment: '-prod' }), /--environment "-prod"/],
    ['negative --trial-days', () => ({ trialDays: '-1' }), /--trial-days "-1"/],
    ['decimal --trial-days', () => ({ trialDays: '7.5' }), /--trial-days "7\.5"/],
    ['too many --trial-days', () => ({ trialDays: '731' }), /--trial-days "731".*0 to 730/],
    ['non-number --trial-days', () => ({ trialDays: 'two weeks' }), /--trial-days "two weeks"/],
    [
      '--address without a port',
      () => ({ address: 'temporal.internal' }),
      /--address "temporal\.internal": expected HOST:PORT/,
    ],
    [
      '--address as a URL',
      () => ({ address: 'http://localhost:7233' }),
      /--address "http:\/\/localhost:7233"/,
    ],
    [
      '--project-root that does not exist',
      (root) => ({ projectRoot: path.join(root, 'nope') }),
      /--project-root ".*nope" is not a directory/,
    ],
    [
      '--project-root that is a file',
      (root) => {
        const file = path.join(root, 'file.txt');
        writeFileSync(file, 'x');
        return { projectRoot: file };
      },
      /--project-root ".*file\.txt" is not a directory/,
    ],
  ];

  test.each(cases)('%s', async (_label, flags, expected) => {
    const root = project();
    const error = await cliErrorOf(prepareRelease(flagsFor(root, flags(root)), baseEnv(), NOW));
    expect(error.name).toBe('CliError');
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(expected);
  });

  test('missing STRIPE_SECRET_KEY under --non-interactive names the key and the way out', async () => {
    const root = project({ '.env.local': FULL_ENV_LOCAL.replace(/^STRIPE_SECRET_KEY=.*\n/m, '') });
    const error = await cliErrorOf(prepareRelease(flagsFor(root), baseEnv(), NOW));
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/^STRIPE_SECRET_KEY not set in /);
    expect(error.message).toContain('--skip-stripe');
    expect(error.message).not.toContain(WEBHOOK_SECRET);
  });

  test('both Stripe secrets missing are both named', async () => {
    const root = project({ '.env.local': 'ENABLE_BILLING=true\n' });
    const error = await cliErrorOf(prepareRelease(flagsFor(root), baseEnv(), NOW));
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/^STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET not set/);
  });

  test('a bad release.config.json is a CliError naming the file', async () => {
    const root = project({
      '.env.local': FULL_ENV_LOCAL,
      'release.config.json': '{"currency": "usd", "curency": "eur"}',
    });
    const error = await cliErrorOf(prepareRelease(flagsFor(root), baseEnv(), NOW));
    expect(error.name).toBe('CliError');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('release.config.json');
    expect(error.message).toContain('curency');
  });

  test('an invalid ENVIRONMENT from the env files is rejected like the flag', async () => {
    const root = project({
      '.env.local': FULL_ENV_LOCAL.replace('ENVIRONMENT=staging', 'ENVIRONMENT=my staging'),
    });
    const error = await cliErrorOf(prepareRelease(flagsFor(root), baseEnv(), NOW));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('"my staging"');
  });
});

describe('prepareRelease relaxations', () => {
  test('--skip-stripe needs neither Stripe secrets nor a --plan per catalog plan', async () => {
    const root = project({ '.env.local': 'ENABLE_BILLING=true\n' });
    const prepared = await prepareRelease(flagsFor(root, { skipStripe: true, plan: [] }), baseEnv(), NOW);
    expect(prepared.input.options.skip_stripe).toBe(true);
    expect(prepared.input.plans.map((p) => p.amount)).toEqual([2000, 9900]);
  });

  test('billing disabled (ENABLE_BILLING not true) needs no Stripe secrets', async () => {
    const root = project({ '.env.local': 'ENABLE_BILLING=false\n' });
    await expect(prepareRelease(flagsFor(root, { plan: [] }), baseEnv(), NOW)).resolves.toMatchObject({
      workflowId: 'db-release-local',
    });
  });

  test.each(['0', 'no', 'OFF', ''])(
    'ENABLE_BILLING=%p is off: no Stripe secrets needed, and the claim says off',
    async (value) => {
      const root = project({ '.env.local': `ENABLE_BILLING=${value}\n` });
      const prepared = await prepareRelease(flagsFor(root, { plan: [] }), baseEnv(), NOW);
      expect(prepared.input.claims?.billingEnabled).toBe(false);
    },
  );

  test.each(['maybe', 'ture', '2'])(
    'ENABLE_BILLING=%p is bad input (exit 2) naming the value, its file and the allowed values',
    async (value) => {
      const root = project({
        '.env': `ENABLE_BILLING=${value}\n`,
        '.env.local': FULL_ENV_LOCAL.replace('ENABLE_BILLING=true\n', ''),
      });
      const error = await cliErrorOf(prepareRelease(flagsFor(root), baseEnv(), NOW));
      expect(error).toMatchObject({ name: 'CliError', exitCode: 2 });
      expect(error.message).toContain(`ENABLE_BILLING="${value}" in .env is neither true nor false`);
      expect(error.message).toMatch(/1\/true\/yes\/on for on, 0\/false\/no\/off or empty for off/);
      expect(error.message).toContain('nothing was started');
    },
  );

  test('ENABLE_BILLING=maybe is refused with --skip-stripe too: the plan check depends on it', async () => {
    const root = project({ '.env.local': 'ENABLE_BILLING=maybe\n' });
    const error = await cliErrorOf(prepareRelease(flagsFor(root, { skipStripe: true }), baseEnv(), NOW));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('ENABLE_BILLING="maybe" in .env.local');
  });

  test('an interactive run does not need every --plan', async () => {
    const root = project();
    const prepared = await prepareRelease(
      flagsFor(root, { nonInteractive: false, plan: ['pro=12900'] }),
      baseEnv(),
      NOW,
    );
    expect(prepared.input.plans).toEqual([
      { code: 'starter', name: 'Starter', amount: 2000 },
      { code: 'pro', name: 'Pro', amount: 12900 },
    ]);
  });
});

/** Answers questions in order and records them; warnings (a rejected answer) are kept too. */
function scriptedPrompter(answers: string[]): Prompter & { questions: string[]; warnings: string[] } {
  const questions: string[] = [];
  const warnings: string[] = [];
  return {
    questions,
    warnings,
    ask(question) {
      questions.push(question);
      const answer = answers.shift();
      return answer === undefined
        ? Promise.reject(new Error(`unexpected question: ${question}`))
        : Promise.resolve(answer);
    },
    warn: (text) => warnings.push(text),
    close: () => undefined,
  };
}

describe('an interactive release db asks, as stripe setup does, for what the flags and env files lack', () => {
  const NO_SECRETS = 'ENVIRONMENT=staging\nENABLE_BILLING=true\n';

  test('only the plans without a --plan are asked, with the catalog amount as the default', async () => {
    const root = project();
    const prompter = scriptedPrompter(['abc', '1500']);
    const prepared = await prepareRelease(
      flagsFor(root, { nonInteractive: false, plan: ['pro=12900'] }),
      baseEnv(),
      NOW,
      prompter,
    );
    expect(prompter.questions).toEqual([
      'Monthly price of Starter (starter) in cents [2000]: ',
      'Monthly price of Starter (starter) in cents [2000]: ',
    ]);
    expect(prompter.warnings).toHaveLength(1);
    expect(prepared.input.plans.map((p) => [p.code, p.amount])).toEqual([
      ['starter', 1500],
      ['pro', 12900],
    ]);
    expect(prepared.envUpdates).toEqual({});
  });

  test('missing Stripe secrets are asked and go to .env.local only, never into the workflow input', async () => {
    const root = project({ '.env.local': NO_SECRETS });
    const prompter = scriptedPrompter(['not-a-key', SECRET_KEY, WEBHOOK_SECRET]);
    const prepared = await prepareRelease(
      flagsFor(root, { nonInteractive: false }),
      baseEnv(),
      NOW,
      prompter,
    );
    expect(prompter.questions).toEqual([
      'STRIPE_SECRET_KEY: ',
      'STRIPE_SECRET_KEY: ',
      'STRIPE_WEBHOOK_SECRET: ',
    ]);
    expect(prompter.warnings[0]).toMatch(/^STRIPE_SECRET_KEY /);
    expect(prepared.envUpdates).toEqual({
      STRIPE_SECRET_KEY: SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    expect(JSON.stringify(prepared.input)).not.toContain(SECRET_KEY);
    expect(JSON.stringify(prepared.input)).not.toContain(WEBHOOK_SECRET);
  });

  test('an empty answer for a missing secret is refused with the fix; --non-interactive and --skip-stripe never ask', async () => {
    const root = project({ '.env.local': NO_SECRETS });
    const error = await cliErrorOf(
      prepareRelease(flagsFor(root, { nonInteractive: false }), baseEnv(), NOW, scriptedPrompter([''])),
    );
    expect(error.message).toMatch(
      /^STRIPE_SECRET_KEY is needed for Stripe setup: type it, add it to .*\.env\.local, or pass --skip-stripe$/,
    );
    expect(error.exitCode).toBe(2);
    const silent = scriptedPrompter([]);
    await prepareRelease(
      flagsFor(root, { nonInteractive: false, skipStripe: true, plan: [] }),
      baseEnv(),
      NOW,
      silent,
    );
    await expect(prepareRelease(flagsFor(root, { plan: [] }), baseEnv(), NOW, silent)).rejects.toThrow(
      /--non-interactive needs a --plan/,
    );
    expect(silent.questions).toEqual([]);
  });
});

describe('prepareRelease builds the workflow input', () => {
  test('the default summary path is var/reports/db-release-<UTC stamp>.json under the project root', async () => {
    const root = project();
    const prepared = await prepareRelease(flagsFor(root), baseEnv(), NOW);
    expect(prepared.summaryPath).toBe(path.join(root, 'var', 'reports', 'db-release-20251107T090005Z.json'));
    expect(prepared.projectRoot).toBe(root);
  });

  test('utcStamp formats %Y%m%dT%H%M%SZ in UTC', () => {
    expect(utcStamp(new Date('2025-01-02T03:04:05.999Z'))).toBe('20250102T030405Z');
  });

  test('a relative --summary-path is resolved against the project root, not the cwd', async () => {
    const root = project();
    const prepared = await prepareRelease(
      flagsFor(root, { summaryPath: 'out/release.json' }),
      baseEnv(),
      NOW,
    );
    expect(prepared.summaryPath).toBe(path.join(root, 'out', 'release.json'));
  });

  test('an absolute --summary-path is kept', async () => {
    const root = project();
    const elsewhere = path.join(tempDir('summary-'), 's.json');
    const prepared = await prepareRelease(flagsFor(root, { summaryPath: elsewhere }), baseEnv(), NOW);
    expect(prepared.summaryPath).toBe(elsewhere);
  });

  test('the currency is lower-cased', async () => {
    const root = project();
    const prepared = await prepareRelease(flagsFor(root, { currency: 'USD' }), baseEnv(), NOW);
    expect(prepared.input.currency).toBe('usd');
  });

  test('the currency and trial days default from release.config.json', async () => {
    const root = project({
      '.env.local': FULL_ENV_LOCAL,
      'release.config.json': JSON.stringify({ currency: 'EUR', trialDays: 30 }),
    });
    const prepared = await prepareRelease(flagsFor(root), baseEnv(), NOW);
    expect(prepared.input.currency).toBe('eur');
    expect(prepared.input.trialDays).toBe(30);
  });

  test('--trial-days overrides; 0 is allowed', async () => {
    const root = project();
    const prepared = await prepareRelease(flagsFor(root, { trialDays: '0' }), baseEnv(), NOW);
    expect(prepared.input.trialDays).toBe(0);
  });

  test('the workflow id is db-release-<environment>, the environment coming from the env files by default', async () => {
    const root = project();
    expect((await prepareRelease(flagsFor(root), baseEnv(), NOW)).workflowId).toBe('db-release-staging');
    const prod = await prepareRelease(flagsFor(root, { environment: 'production' }), baseEnv(), NOW);
    expect(prod.workflowId).toBe('db-release-production');
    expect(prod.input.environment).toBe('production');
    expect(prod.input.approval.required).toBe(true);
  });

  test('amounts are cents and starter=0 is kept as a free plan', async () => {
    const root = project();
    const prepared = await prepareRelease(flagsFor(root), baseEnv(), NOW);
    expect(prepared.input.plans).toEqual([
      { code: 'starter', name: 'Starter', amount: 0 },
      { code: 'pro', name: 'Pro', amount: 9900 },
    ]);
    expect(prepared.input.trialDays).toBe(14);
    expect(prepared.input.options).toEqual({
      non_interactive: true,
      skip_stripe: false,
      skip_db_checks: false,
      no_rollback: false,
    });
    expect(prepared.input.startedBy).toBe('alice');
    expect(prepared.input.approval.required).toBe(false);
  });

  test('options map from the flags', async () => {
    const root = project();
    const prepared = await prepareRelease(
      flagsFor(root, { skipDbChecks: true, noRollback: true }),
      baseEnv(),
      NOW,
    );
    expect(prepared.input.options).toEqual({
      non_interactive: true,
      skip_stripe: false,
      skip_db_checks: true,
      no_rollback: true,
    });
  });

  test('the input carries no secret values', async () => {
    const root = project();
    const prepared = await prepareRelease(flagsFor(root), baseEnv(), NOW);
    for (const text of [JSON.stringify(prepared.input), JSON.stringify(prepared)]) {
      expect(text).not.toContain(SECRET_KEY);
      expect(text).not.toContain(WEBHOOK_SECRET);
      expect(text).not.toContain(DB_PASSWORD);
    }
  });

  test('the project root, operator and task queue can come from the given env', async () => {
    const root = project();
    const prepared = await prepareRelease(
      { nonInteractive: true, plan: ['starter=0', 'pro=9900'] },
      baseEnv({
        DB_RELEASE_PROJECT_ROOT: root,
        DB_RELEASE_OPERATOR: 'ci-bot',
        DB_RELEASE_TASK_QUEUE: 'releases-eu',
      }),
      NOW,
    );
    expect(prepared.projectRoot).toBe(root);
    expect(prepared.input.startedBy).toBe('ci-bot');
    expect(prepared.target.taskQueue).toBe('releases-eu');
  });

  test('Stripe secrets from the given env satisfy --non-interactive and still stay out of the input', async () => {
    const root = project({ '.env.local': 'ENABLE_BILLING=true\n' });
    const prepared = await prepareRelease(
      flagsFor(root),
      baseEnv({ STRIPE_SECRET_KEY: SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET }),
      NOW,
    );
    expect(JSON.stringify(prepared)).not.toContain(SECRET_KEY);
    expect(JSON.stringify(prepared)).not.toContain(WEBHOOK_SECRET);
  });

  test('--address HOST:PORT is used as given; the default is the local dev server', async () => {
    const root = project();
    expect(
      (await prepareRelease(flagsFor(root, { address: 'temporal.internal:7233' }), baseEnv(), NOW)).target
        .address,
    ).toBe('temporal.internal:7233');
    const local = await prepareRelease(flagsFor(root), baseEnv(), NOW);
    expect(local.target.address).toBe('localhost:7233');
    expect(local.target.uiUrl).toBe('http://localhost:8233');
  });
});
