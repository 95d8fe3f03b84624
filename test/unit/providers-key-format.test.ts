import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EnvScope } from '../../src/config/env-files';
import {
  classifyKey,
  describeProviders,
  validateProviders,
  verifyStripeKey,
  worstStatus,
  type ProviderKeyName,
  type StripeAuthProbe,
} from '../../src/cli/providers';
import { requireBackendScope } from '../../src/cli/input';

const STRIPE_KEY = 'sk_test_51AbCdEfGhIjKlMnOp1234';
const WEBHOOK = 'whsec_0123456789abcdefWXYZ';
const RESEND = 're_AbCdEf12_345678';
const OPENAI = 'sk-proj-AbCdEfGhIjKlMnOpQr5678';

function scopeOf(values: Record<string, string>): EnvScope {
  return {
    values: { ...values },
    sources: Object.fromEntries(Object.keys(values).map((k) => [k, '.env.local'])),
    filesFound: ['.env.local'],
  };
}

function stripeError(type: string, message: string, statusCode?: number): Error {
  return Object.assign(new Error(message), { type, statusCode });
}

describe('classifyKey: presence and shape, no network', () => {
  test.each<[ProviderKeyName, string]>([
    ['STRIPE_SECRET_KEY', STRIPE_KEY],
    ['STRIPE_SECRET_KEY', 'sk_live_51AbCdEfGhIjKlMn'],
    ['STRIPE_SECRET_KEY', 'rk_live_51AbCdEfGhIjKlMn'],
    ['STRIPE_SECRET_KEY', 'sk_test_dbrelease_local_peer_4f7a'],
    ['STRIPE_WEBHOOK_SECRET', WEBHOOK],
    ['RESEND_API_KEY', RESEND],
    ['OPENAI_API_KEY', OPENAI],
    ['OPENAI_API_KEY', 'sk-AbCdEfGhIjKl'],
  ])('%s %s is ok', (name, value) => {
    expect(classifyKey(name, value)).toEqual({ status: 'ok', reason: 'format ok' });
  });

  test.each<[ProviderKeyName, string | undefined]>([
    ['STRIPE_SECRET_KEY', undefined],
    ['STRIPE_WEBHOOK_SECRET', ''],
    ['RESEND_API_KEY', '   '],
    ['OPENAI_API_KEY', undefined],
  ])('%s %p is missing, and the reason says where to add it', (name, value) => {
    const verdict = classifyKey(name, value);
    expect(verdict.status).toBe('missing');
    expect(verdict.reason).toContain(`add ${name}=`);
  });

  test.each<[ProviderKeyName, string, RegExp]>([
    ['STRIPE_SECRET_KEY', 'pk_test_51AbCdEfGhIjKlMn', /publishable key/],
    ['STRIPE_SECRET_KEY', WEBHOOK, /belongs in STRIPE_WEBHOOK_SECRET/],
    ['STRIPE_SECRET_KEY', 'sk_prod_51AbCdEfGhIjKlMn', /unexpected format; expected a secret key sk_test_/],
    ['STRIPE_SECRET_KEY', 'sk_test_short', /unexpected format/],
    ['STRIPE_SECRET_KEY', `${STRIPE_KEY} `, /whitespace/],
    ['STRIPE_WEBHOOK_SECRET', STRIPE_KEY, /belongs in STRIPE_SECRET_KEY/],
    [
      'STRIPE_WEBHOOK_SECRET',
      'pk_live_51AbCdEfGhIjKlMn',
      /publishable key \(pk_…\), not a webhook signing secret/,
    ],
    ['STRIPE_WEBHOOK_SECRET', 'whsec_abc', /unexpected format/],
    ['RESEND_API_KEY', 'rs_AbCdEf12345678', /expected a Resend API key re_/],
    ['OPENAI_API_KEY', STRIPE_KEY, /looks like a Stripe key/],
    ['OPENAI_API_KEY', '"sk-AbCdEfGhIjKl"', /quotes/],
  ])('%s %s is invalid (%s) and the reason never repeats the value', (name, value, reason) => {
    const verdict = classifyKey(name, value);
    expect(verdict.status).toBe('invalid');
    expect(verdict.reason).toMatch(reason);
    expect(verdict.reason).not.toContain(value.trim().replace(/^"|"$/g, ''));
  });

  test('worstStatus: invalid over missing over ok', () => {
    expect(worstStatus(['ok', 'ok'])).toBe('ok');
    expect(worstStatus(['ok', 'missing'])).toBe('missing');
    expect(worstStatus(['missing', 'invalid', 'ok'])).toBe('invalid');
    expect(worstStatus([])).toBe('ok');
  });
});

describe('verifyStripeKey: one authenticated read', () => {
  const probe = (outcome: Error | null): StripeAuthProbe => ({
    checkAuth: () => (outcome ? Promise.reject(outcome) : Promise.resolve()),
  });

  test('an answer is ok and names the host', async () => {
    expect(await verifyStripeKey(probe(null), STRIPE_KEY, 'http://127.0.0.1:12111')).toEqual({
      status: 'ok',
      reason: 'authenticated against http://127.0.0.1:12111',
    });
  });

  test('401 is invalid, and a key echoed in the error is redacted', async () => {
    const verdict = await verifyStripeKey(
      probe(stripeError('StripeAuthenticationError', `Invalid API Key provided: ${STRIPE_KEY}`, 401)),
      STRIPE_KEY,
      'https://api.stripe.com',
    );
    expect(verdict.status).toBe('invalid');
    expect(verdict.reason).toMatch(/refused the key \(401\)/);
    expect(verdict.reason).not.toContain(STRIPE_KEY);
  });

  test('a 401 classified only by status code is still invalid', async () => {
    const verdict = await verifyStripeKey(
      probe(stripeError('StripeInvalidRequestError', 'Invalid API Key provided', 401)),
      STRIPE_KEY,
      'x',
    );
    expect(verdict).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/401/) as string });
  });

  test('403 is invalid: the key lacks permissions', async () => {
    const verdict = await verifyStripeKey(
      probe(stripeError('StripePermissionError', 'not allowed', 403)),
      STRIPE_KEY,
      'x',
    );
    expect(verdict).toMatchObject({
      status: 'invalid',
      reason: expect.stringMatching(/lacks permissions \(403\)/) as string,
    });
  });

  test('403 with a named permission says which permission and what a release needs', async () => {
    const error = Object.assign(stripeError('StripePermissionError', 'the key may not create prices', 403), {
      permission: 'rak_price_write',
      request: 'create prices (POST /v1/prices)',
    });
    const verdict = await verifyStripeKey(probe(error), STRIPE_KEY, 'x');
    expect(verdict.status).toBe('invalid');
    expect(verdict.reason).toBe(
      'the key lacks the rak_price_write permission (403) to create prices (POST /v1/prices); a release needs Products: Write and Prices: Write: grant them to the restricted key (Dashboard → Developers → API keys) or use the secret key',
    );
  });

  test('an unreachable Stripe cannot verify the key, which also fails', async () => {
    const verdict = await verifyStripeKey(
      probe(stripeError('StripeConnectionError', 'connect ECONNREFUSED')),
      STRIPE_KEY,
      'http://127.0.0.1:1',
    );
    expect(verdict.status).toBe('invalid');
    expect(verdict.reason).toMatch(
      /could not be verified: Stripe at http:\/\/127\.0\.0\.1:1 did not answer \(connect ECONNREFUSED\)/,
    );
  });
});

describe('validateProviders', () => {
  const all = {
    STRIPE_SECRET_KEY: STRIPE_KEY,
    STRIPE_WEBHOOK_SECRET: WEBHOOK,
    RESEND_API_KEY: RESEND,
    OPENAI_API_KEY: OPENAI,
    STRIPE_API_BASE: 'http://127.0.0.1:12111',
  };

  test('all present and accepted: ok, values masked, sources named, the SDK built with the key and scope', async () => {
    const built: Array<{ key: string; base: string | undefined }> = [];
    const result = await validateProviders(scopeOf(all), '/backend', {
      stripe: (key, env) => {
        built.push({ key, base: env.values.STRIPE_API_BASE });
        return { checkAuth: () => Promise.resolve() };
      },
    });
    expect(result.ok).toBe(true);
    expect(built).toEqual([{ key: STRIPE_KEY, base: 'http://127.0.0.1:12111' }]);
    expect(result.providers.map((p) => [p.provider, p.status])).toEqual([
      ['stripe', 'ok'],
      ['resend', 'ok'],
      ['openai', 'ok'],
    ]);
    expect(result.providers[0]?.keys[0]).toEqual({
      name: 'STRIPE_SECRET_KEY',
      status: 'ok',
      reason: 'authenticated against http://127.0.0.1:12111',
      source: '.env.local',
      value: 'sk_t…1234',
    });
    const text = JSON.stringify(result);
    for (const secret of [STRIPE_KEY, WEBHOOK, RESEND, OPENAI]) expect(text).not.toContain(secret);
  });

  test('an empty optional provider is a note: missing, not required, and the check still passes (issue 14)', async () => {
    const result = await validateProviders(scopeOf({ ...all, RESEND_API_KEY: '' }), '/backend', {
      stripe: () => ({ checkAuth: () => Promise.resolve() }),
    });
    expect(result.ok).toBe(true);
    expect(result.providers.find((p) => p.provider === 'resend')).toMatchObject({
      status: 'missing',
      required: false,
      keys: [{ source: null, value: null }],
    });
    expect(describeProviders(result).at(-1)).toBe('required providers ok; optional ones not set: resend');
  });

  test('an optional key present but malformed still fails the check; a missing Stripe key fails it', async () => {
    const stripe = () => ({ checkAuth: () => Promise.resolve() });
    expect(
      (
        await validateProviders(scopeOf({ ...all, OPENAI_API_KEY: 'sk_live_notOpenAi123456' }), '/backend', {
          stripe,
        })
      ).ok,
    ).toBe(false);
    expect(
      (await validateProviders(scopeOf({ ...all, STRIPE_WEBHOOK_SECRET: '' }), '/backend', { stripe })).ok,
    ).toBe(false);
  });

  test('a malformed Stripe key is never sent to Stripe', async () => {
    let calls = 0;
    const result = await validateProviders(
      scopeOf({ ...all, STRIPE_SECRET_KEY: 'pk_test_51AbCdEfGhIjKlMn' }),
      '/backend',
      {
        stripe: () => ({ checkAuth: () => Promise.resolve(void calls++) }),
      },
    );
    expect(calls).toBe(0);
    expect(result.providers[0]?.status).toBe('invalid');
  });

  test('--offline checks formats only', async () => {
    let calls = 0;
    const result = await validateProviders(scopeOf(all), '/backend', {
      offline: true,
      stripe: () => ({ checkAuth: () => Promise.resolve(void calls++) }),
    });
    expect(calls).toBe(0);
    expect(result.ok).toBe(true);
    expect(result.providers[0]?.keys[0]?.reason).toMatch(/not verified with Stripe \(--offline\)/);
  });
});

describe('requireBackendScope: bad input is exit 2', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'db-release-providers-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a project root that does not exist', async () => {
    await expect(requireBackendScope(path.join(dir, 'nope'), {})).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/--project-root .* is not a directory/) as string,
    });
  });

  test('a project root without any env file', async () => {
    await expect(requireBackendScope(dir, {})).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/no env file .*\.env\.local, \.env, \.env\.compose/) as string,
    });
  });

  test('a project root with an env file gives its scope', async () => {
    await writeFile(path.join(dir, '.env'), `STRIPE_SECRET_KEY=${STRIPE_KEY}\n`);
    const { scope, projectRoot } = await requireBackendScope(dir, {});
    expect(projectRoot).toBe(dir);
    expect(scope.sources.STRIPE_SECRET_KEY).toBe('.env');
  });
});
