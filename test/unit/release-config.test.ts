import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  approvalPolicyFor,
  catalogOf,
  CONFIG_FILE_NAME,
  loadReleaseConfig,
  parseReleaseConfig,
  type ReleaseConfig,
} from '../../src/config/release-config';
import { removeTempDirs, tempDir } from '../support/fakes';

afterAll(removeTempDirs);

function configError(text: string): { name: string; message: string } {
  try {
    parseReleaseConfig(text, '/srv/backend/release.config.json');
  } catch (error) {
    if (error instanceof Error) return { name: error.name, message: error.message };
    throw error;
  }
  throw new Error(`expected ${text} to be rejected`);
}

const DEFAULTS: Partial<ReleaseConfig> = {
  migrateCommand: ['just', 'migrate'],
  alembicCommand: ['alembic', '-c', 'alembic.ini'],
  catalog: [
    { code: 'starter', name: 'Starter', amount: 2000 },
    { code: 'pro', name: 'Pro', amount: 9900 },
  ],
  currency: 'usd',
  trialDays: 14,
  environments: {},
};

describe('loadReleaseConfig', () => {
  test('a missing file means all defaults', async () => {
    expect(await loadReleaseConfig(tempDir('config-'))).toMatchObject(DEFAULTS);
  });

  test('reads release.config.json from the project root', async () => {
    const root = tempDir('config-');
    writeFileSync(
      path.join(root, CONFIG_FILE_NAME),
      JSON.stringify({ currency: 'eur', trialDays: 0, migrateCommand: ['make', 'db'] }),
    );
    const config = await loadReleaseConfig(root);
    expect(config.currency).toBe('eur');
    expect(config.trialDays).toBe(0);
    expect(config.migrateCommand).toEqual(['make', 'db']);
    expect(config.catalog).toEqual(DEFAULTS.catalog);
  });

  test('bad JSON in the file is a ConfigError naming the file', async () => {
    const root = tempDir('config-');
    writeFileSync(path.join(root, CONFIG_FILE_NAME), '{ "currency": ');
    await expect(loadReleaseConfig(root)).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining(path.join(root, CONFIG_FILE_NAME)),
    });
  });
});

describe('parseReleaseConfig', () => {
  test('{} gives the defaults', () => {
    const config = parseReleaseConfig('{}');
    expect(config).toMatchObject(DEFAULTS);
    expect(config.environments).toEqual({});
  });

  test('a $comment is allowed', () => {
    expect(parseReleaseConfig('{"$comment": "see README"}').currency).toBe('usd');
  });

  test('bad JSON', () => {
    const error = configError('{ nope');
    expect(error.name).toBe('ConfigError');
    expect(error.message).toMatch(/^\/srv\/backend\/release\.config\.json: not valid JSON/);
  });

  test.each([
    ['unknown top-level key', { currency: 'usd', curency: 'eur' }, /\(top level\).*curency/],
    [
      'unknown catalog key',
      { catalog: [{ code: 'pro', name: 'Pro', amount: 1, price: 2 }] },
      /catalog\.0.*price/,
    ],
    [
      'unknown approval key',
      { environments: { production: { approval: { approver: ['a'] } } } },
      /environments\.production\.approval.*approver/,
    ],
    [
      'bad plan code',
      { catalog: [{ code: 'Pro Plan', name: 'Pro', amount: 1 }] },
      /catalog\.0\.code: plan codes are lower-case/,
    ],
    ['negative amount', { catalog: [{ code: 'pro', name: 'Pro', amount: -1 }] }, /catalog\.0\.amount/],
    ['decimal amount', { catalog: [{ code: 'pro', name: 'Pro', amount: 9.99 }] }, /catalog\.0\.amount/],
    ['empty catalog', { catalog: [] }, /catalog/],
    ['empty command', { migrateCommand: [] }, /migrateCommand: give the program and its arguments/],
    ['command as a string', { migrateCommand: 'just migrate' }, /migrateCommand/],
    ['trial days too long', { trialDays: 731 }, /trialDays/],
    [
      'bad approval timeout',
      { environments: { production: { approval: { timeout: 'tomorrow' } } } },
      /timeout: use a duration/,
    ],
  ])('%s is rejected', (_label, json, expected) => {
    const error = configError(JSON.stringify(json));
    expect(error.name).toBe('ConfigError');
    expect(error.message.startsWith('/srv/backend/release.config.json: ')).toBe(true);
    expect(error.message).toMatch(expected);
  });

  test('a duplicate plan code is rejected, naming the code', () => {
    const error = configError(
      JSON.stringify({
        catalog: [
          { code: 'pro', name: 'Pro', amount: 9900 },
          { code: 'starter', name: 'Starter', amount: 0 },
          { code: 'pro', name: 'Pro again', amount: 1 },
        ],
      }),
    );
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain('plan code "pro" appears twice');
  });

  test('a 0-amount plan is valid', () => {
    expect(
      parseReleaseConfig(JSON.stringify({ catalog: [{ code: 'free', name: 'Free', amount: 0 }] })).catalog,
    ).toEqual([{ code: 'free', name: 'Free', amount: 0 }]);
  });

  test('catalogOf returns copies', () => {
    const config = parseReleaseConfig('{}');
    const catalog = catalogOf(config);
    catalog[0]!.amount = 1;
    expect(config.catalog[0]?.amount).toBe(2000);
  });
});

describe('approvalPolicyFor', () => {
  test('production requires approval by default; other environments do not', () => {
    const config = parseReleaseConfig('{}');
    expect(approvalPolicyFor(config, 'production')).toEqual({
      required: true,
      approvers: [],
      fourEyes: false,
      timeout: '24 hours',
    });
    expect(approvalPolicyFor(config, 'staging')).toEqual({
      required: false,
      approvers: [],
      fourEyes: false,
      timeout: '24 hours',
    });
    expect(approvalPolicyFor(config, 'local').required).toBe(false);
  });

  test('configured policies apply; required still defaults by environment', () => {
    const config = parseReleaseConfig(
      JSON.stringify({
        environments: {
          production: { approval: { approvers: ['alice', 'bob'], fourEyes: true, timeout: '2 hours' } },
          staging: { approval: { required: true } },
          sandbox: {},
        },
      }),
    );
    expect(approvalPolicyFor(config, 'production')).toEqual({
      required: true,
      approvers: ['alice', 'bob'],
      fourEyes: true,
      timeout: '2 hours',
    });
    expect(approvalPolicyFor(config, 'staging')).toEqual({
      required: true,
      approvers: [],
      fourEyes: false,
      timeout: '24 hours',
    });
    expect(approvalPolicyFor(config, 'sandbox').required).toBe(false);
  });

  test('production approval can be switched off explicitly', () => {
    const config = parseReleaseConfig(
      JSON.stringify({ environments: { production: { approval: { required: false } } } }),
    );
    expect(approvalPolicyFor(config, 'production').required).toBe(false);
  });
});
