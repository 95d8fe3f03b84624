import { isSecretName, maskSecret, redact, redactUrlPassword, secretValuesOf } from '../../src/masking';

describe('maskSecret', () => {
  test.each([
    [null, null],
    [undefined, null],
    ['', null],
    ['a', '*'],
    ['ab', '**'],
    ['abcd', '****'],
    ['abcde', 'abcd…bcde'],
    ['sk_test_51AbCdEfGh1234', 'sk_t…1234'],
    ['whsec_0123456789', 'whse…6789'],
  ])('%p -> %p', (value, expected) => {
    expect(maskSecret(value)).toBe(expected);
  });

  test('a masked long value keeps only its first and last four characters', () => {
    const secret = 'sk_live_MIDDLEPARTNEVERSHOWN_zz99';
    const masked = maskSecret(secret);
    expect(masked).not.toContain('MIDDLEPARTNEVERSHOWN');
    expect(masked).toHaveLength(9);
  });
});

describe('isSecretName', () => {
  test.each([
    'STRIPE_SECRET_KEY',
    'STRIPE_WEBHOOK_SECRET',
    'POSTGRES_PASSWORD',
    'DB_PASSWD',
    'GITHUB_TOKEN',
    'OPENAI_API_KEY',
    'GCP_PRIVATE_KEY',
    'AWS_CREDENTIALS',
    'stripe_secret_key',
  ])('%s is secret', (name) => {
    expect(isSecretName(name)).toBe(true);
  });

  test.each(['DATABASE_URL', 'ENABLE_BILLING', 'STRIPE_PRODUCT_PRICE_MAP', 'ENVIRONMENT', 'PATH'])(
    '%s is not secret',
    (name) => {
      expect(isSecretName(name)).toBe(false);
    },
  );
});

describe('redactUrlPassword', () => {
  test('replaces the password of a connection URL and keeps user, host and path', () => {
    expect(redactUrlPassword('postgresql+psycopg://app:hunter2@db:5432/app')).toBe(
      'postgresql+psycopg://app:***@db:5432/app',
    );
  });

  test('redacts every URL in a longer text', () => {
    const text = 'from postgres://a:one1@h1/x to redis://b:two2@h2:6379/0 done';
    const out = redactUrlPassword(text);
    expect(out).toBe('from postgres://a:***@h1/x to redis://b:***@h2:6379/0 done');
  });

  test('leaves URLs without a password alone', () => {
    const text = 'postgresql://app@db:5432/app and https://example.com:8443/path';
    expect(redactUrlPassword(text)).toBe(text);
  });
});

describe('redact', () => {
  const stripeKey = 'sk_test_51AbCdEfGhIjKlMn0987';

  test('removes every occurrence of a secret value, leaving only its mask', () => {
    const out = redact(`key=${stripeKey}; again ${stripeKey}`, [stripeKey]);
    expect(out).not.toContain(stripeKey);
    expect(out).toBe('key=[redacted sk_t…0987]; again [redacted sk_t…0987]');
  });

  test('removes URL passwords even when they are not in the secret list', () => {
    const out = redact('connect postgresql://app:s3cretPw@db/app failed', []);
    expect(out).not.toContain('s3cretPw');
    expect(out).toContain('postgresql://app:***@db/app');
  });

  test('a short secret (3-4 characters) is still removed', () => {
    const out = redact('password is abc! ok', ['abc']);
    expect(out).not.toContain('abc');
    expect(out).toMatch(/^password is \[redacted[^\]]*\]! ok$/);
  });

  test('secrets shorter than 3 characters are ignored (they would shred ordinary text)', () => {
    expect(redact('ab ab ab', ['ab'])).toBe('ab ab ab');
  });

  test('text without secrets is unchanged', () => {
    expect(redact('INFO  [alembic.runtime.migration] Running upgrade', [stripeKey])).toBe(
      'INFO  [alembic.runtime.migration] Running upgrade',
    );
  });

  test('with secretValuesOf ordering, a secret containing another is removed whole', () => {
    const env = { STRIPE_SECRET_KEY: 'abcdefghijkl', OTHER_TOKEN: 'abcdefghijklmnopqrstuvwxyz' };
    const out = redact('token abcdefghijklmnopqrstuvwxyz', secretValuesOf(env));
    expect(out).toBe('token [redacted abcd…wxyz]');
  });
});

describe('secretValuesOf', () => {
  test('picks values of secret-named variables and skips the others', () => {
    const values = secretValuesOf({
      STRIPE_SECRET_KEY: 'sk_test_123456',
      STRIPE_WEBHOOK_SECRET: 'whsec_abcdef',
      POSTGRES_PASSWORD: 'pgpass99',
      ENVIRONMENT: 'production',
      STRIPE_PRODUCT_PRICE_MAP: '{"starter":"price_1"}',
    });
    expect(values).toEqual(expect.arrayContaining(['sk_test_123456', 'whsec_abcdef', 'pgpass99']));
    expect(values).not.toContain('production');
    expect(values).not.toContain('{"starter":"price_1"}');
    expect(values).toHaveLength(3);
  });

  test('skips empty values and secret values shorter than 4 characters', () => {
    expect(secretValuesOf({ API_TOKEN: '', DB_PASSWORD: 'abc' })).toEqual([]);
  });

  test('picks the password of a URL-valued variable of any name', () => {
    const values = secretValuesOf({ DATABASE_URL: 'postgresql://app:plainPw1@db:5432/app' });
    expect(values).toEqual(['plainPw1']);
  });

  test('picks a percent-encoded URL password both encoded and decoded', () => {
    const values = secretValuesOf({ DATABASE_URL: 'postgresql://app:p%40ss%2Fw0rd@db:5432/app' });
    expect(values).toEqual(expect.arrayContaining(['p%40ss%2Fw0rd', 'p@ss/w0rd']));
    expect(values).toHaveLength(2);
    // the decoded password, as a driver error might print it, is redacted too
    expect(redact('auth failed for p@ss/w0rd', values)).not.toContain('p@ss/w0rd');
  });

  test('a malformed percent-encoding keeps the raw password', () => {
    expect(secretValuesOf({ DATABASE_URL: 'postgresql://app:bad%zzpw@db/app' })).toEqual(['bad%zzpw']);
  });

  test('returns the longest values first', () => {
    const values = secretValuesOf({ A_TOKEN: 'abcd', B_TOKEN: 'abcdefghij', C_SECRET: 'abcdefg' });
    expect(values).toEqual(['abcdefghij', 'abcdefg', 'abcd']);
  });
});
