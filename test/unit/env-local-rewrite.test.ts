import { parseDotenv } from '../../src/config/env-files';
import { formatEnvValue, rewriteEnvText } from '../../src/config/env-local';

const ORIGINAL = [
  '# Backend settings',
  '',
  'DATABASE_URL=postgresql://app:pw@db:5432/app   # local db',
  'export STRIPE_SECRET_KEY=sk_test_old',
  '  # STRIPE_WEBHOOK_SECRET=commented_out',
  'STRIPE_SECRET_KEY_BACKUP=sk_test_backup',
  'ENABLE_BILLING=false',
  '',
  '# trailing comment',
  '',
].join('\n');

describe('rewriteEnvText', () => {
  test('replaces existing keys in place and keeps every other line byte for byte', () => {
    const out = rewriteEnvText(ORIGINAL, { STRIPE_SECRET_KEY: 'sk_test_new', ENABLE_BILLING: 'true' });
    expect(out).toBe(
      ORIGINAL.replace(
        'export STRIPE_SECRET_KEY=sk_test_old',
        'export STRIPE_SECRET_KEY=sk_test_new',
      ).replace('ENABLE_BILLING=false', 'ENABLE_BILLING=true'),
    );
  });

  test('appends missing keys at the end; a commented-out key does not count as present', () => {
    const out = rewriteEnvText(ORIGINAL, { STRIPE_WEBHOOK_SECRET: 'whsec_new' });
    expect(out).toBe(`${ORIGINAL}STRIPE_WEBHOOK_SECRET=whsec_new\n`);
    expect(out).toContain('  # STRIPE_WEBHOOK_SECRET=commented_out\n');
  });

  test('a key that is a prefix of another key does not touch the longer one', () => {
    const out = rewriteEnvText(ORIGINAL, { STRIPE_SECRET_KEY: 'sk_test_new' });
    expect(out).toContain('STRIPE_SECRET_KEY_BACKUP=sk_test_backup\n');
  });

  test('compact JSON values stay bare and parse back unchanged', () => {
    const map = JSON.stringify({ starter: 'price_1', pro: 'price_2' });
    const out = rewriteEnvText('A=1\n', { STRIPE_PRODUCT_PRICE_MAP: map });
    expect(out).toBe('A=1\nSTRIPE_PRODUCT_PRICE_MAP={"starter":"price_1","pro":"price_2"}\n');
    expect(parseDotenv(out).STRIPE_PRODUCT_PRICE_MAP).toBe(map);
  });

  test('an existing JSON value is replaced bare', () => {
    const out = rewriteEnvText('STRIPE_PRODUCT_PRICE_MAP={"starter":"price_old"}\nB=2\n', {
      STRIPE_PRODUCT_PRICE_MAP: '{"starter":"price_1"}',
    });
    expect(out).toBe('STRIPE_PRODUCT_PRICE_MAP={"starter":"price_1"}\nB=2\n');
  });

  test('null removes a key (its whole line), and is a no-op for an absent key', () => {
    const out = rewriteEnvText('A=1\nB=2\nC=3\n', { B: null, MISSING: null });
    expect(out).toBe('A=1\nC=3\n');
  });

  test('CRLF files keep CRLF on kept, replaced and appended lines', () => {
    const text = '# c\r\nA=1\r\n\r\nB=2\r\n';
    const out = rewriteEnvText(text, { A: 'one', NEW: 'x' });
    expect(out).toBe('# c\r\nA=one\r\n\r\nB=2\r\nNEW=x\r\n');
    expect(out.replace(/\r\n/g, '')).not.toContain('\n');
  });

  test('a file without a trailing newline: replacing the last line keeps it unterminated', () => {
    expect(rewriteEnvText('A=1\nB=2', { B: '3' })).toBe('A=1\nB=3');
  });

  test('a file without a trailing newline: appended keys start on their own line', () => {
    expect(rewriteEnvText('A=1\nB=2', { C: '3' })).toBe('A=1\nB=2\nC=3\n');
  });

  test('an empty file gets just the new keys, in the given order', () => {
    expect(rewriteEnvText('', { ENABLE_BILLING: 'true', STRIPE_SECRET_KEY: 'sk_test_1' })).toBe(
      'ENABLE_BILLING=true\nSTRIPE_SECRET_KEY=sk_test_1\n',
    );
  });

  test('no updates returns the text unchanged', () => {
    expect(rewriteEnvText(ORIGINAL, {})).toBe(ORIGINAL);
  });

  test('values with spaces or # are quoted so they parse back whole', () => {
    const out = rewriteEnvText('A=1\n', { NAME: 'Starter Plan', TAG: 'a#b' });
    expect(out).toBe("A=1\nNAME='Starter Plan'\nTAG='a#b'\n");
    expect(parseDotenv(out)).toEqual({ A: '1', NAME: 'Starter Plan', TAG: 'a#b' });
  });
});

describe('formatEnvValue', () => {
  test.each([
    ['sk_test_123', 'sk_test_123'],
    ['{"starter":"price_1"}', '{"starter":"price_1"}'],
    ['starter=price_1,pro=price_2', 'starter=price_1,pro=price_2'],
    ['two words', "'two words'"],
    ['tab\there', "'tab\there'"],
    ['x#y', "'x#y'"],
    ['"quoted"', `'"quoted"'`],
  ])('%p -> %p', (value, expected) => {
    expect(formatEnvValue(value)).toBe(expected);
  });
});
