import {
  DEFAULT_CATALOG,
  lookupKeyFor,
  MAX_AMOUNT,
  parsePlanFlags,
  plansWithoutFlag,
  resolvePlans,
} from '../../src/release/plans';

const CATALOG = DEFAULT_CATALOG;

function parseError(flags: string[]): { name: string; message: string } {
  try {
    parsePlanFlags(flags, CATALOG);
  } catch (error) {
    if (error instanceof Error) return { name: error.name, message: error.message };
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(flags)} to be rejected`);
}

describe('parsePlanFlags rejects bad input with a PlanFlagError naming the flag', () => {
  test.each([
    ['no "="', ['starter'], 'starter', /expected CODE=CENTS/],
    ['empty code', ['=100'], '=100', /expected CODE=CENTS/],
    ['space inside', ['pro = 100'], 'pro = 100', /expected CODE=CENTS/],
    ['unknown code', ['enterprise=100'], 'enterprise=100', /unknown plan code "enterprise".*starter, pro/],
    ['negative amount', ['starter=-1'], 'starter=-1', /must not be negative/],
    ['decimal amount', ['pro=9.99'], 'pro=9.99', /whole number of cents/],
    ['non-number', ['pro=abc'], 'pro=abc', /whole number of cents/],
    ['empty amount', ['pro='], 'pro=', /whole number of cents/],
    ['exponent', ['pro=1e3'], 'pro=1e3', /whole number of cents/],
    ['explicit plus sign', ['pro=+5'], 'pro=+5', /whole number of cents/],
    [
      'above the maximum',
      [`pro=${MAX_AMOUNT + 1}`],
      `pro=${MAX_AMOUNT + 1}`,
      new RegExp(`at most ${MAX_AMOUNT}`),
    ],
    ['duplicate code', ['pro=100', 'pro=200'], 'pro=200', /plan "pro" is given twice/],
    ['duplicate code, other case', ['pro=100', 'PRO=200'], 'PRO=200', /plan "pro" is given twice/],
  ])('%s', (_label, flags, named, reason) => {
    const error = parseError(flags);
    expect(error.name).toBe('PlanFlagError');
    expect(error.message).toContain(`--plan "${named}"`);
    expect(error.message).toMatch(reason);
  });
});

describe('parsePlanFlags accepts good input', () => {
  test('starter=0 is a valid free plan', () => {
    expect(parsePlanFlags(['starter=0'], CATALOG)).toEqual(new Map([['starter', 0]]));
  });

  test('amounts are minor units: pro=9900 means 9900 cents, not 990000', () => {
    expect(parsePlanFlags(['pro=9900'], CATALOG).get('pro')).toBe(9900);
  });

  test('the code is case-insensitive and surrounding spaces are trimmed', () => {
    expect(parsePlanFlags([' PRO=9900 ', 'Starter= 0'], CATALOG)).toEqual(
      new Map([
        ['pro', 9900],
        ['starter', 0],
      ]),
    );
  });

  test('the maximum amount is accepted', () => {
    expect(parsePlanFlags([`pro=${MAX_AMOUNT}`], CATALOG).get('pro')).toBe(99_999_999);
  });

  test('no flags gives an empty map', () => {
    expect(parsePlanFlags([], CATALOG).size).toBe(0);
  });

  test('codes come from the given catalog, not the default one', () => {
    const catalog = [{ code: 'team', name: 'Team', amount: 5000 }];
    expect(parsePlanFlags(['team=4500'], catalog).get('team')).toBe(4500);
    expect(() => parsePlanFlags(['pro=1'], catalog)).toThrow(/unknown plan code "pro"/);
  });
});

describe('resolvePlans and plansWithoutFlag', () => {
  test('flags override catalog amounts; other plans keep theirs; catalog order and names kept', () => {
    const plans = resolvePlans(CATALOG, new Map([['pro', 12900]]));
    expect(plans).toEqual([
      { code: 'starter', name: 'Starter', amount: 2000 },
      { code: 'pro', name: 'Pro', amount: 12900 },
    ]);
  });

  test('a 0 amount overrides (it is not treated as missing)', () => {
    expect(resolvePlans(CATALOG, new Map([['starter', 0]]))[0]?.amount).toBe(0);
  });

  test('resolvePlans does not mutate the catalog', () => {
    const catalog = [{ code: 'starter', name: 'Starter', amount: 2000 }];
    resolvePlans(catalog, new Map([['starter', 1]]));
    expect(catalog[0]?.amount).toBe(2000);
  });

  test('plansWithoutFlag lists catalog codes without a --plan, in catalog order', () => {
    expect(plansWithoutFlag(CATALOG, new Map())).toEqual(['starter', 'pro']);
    expect(plansWithoutFlag(CATALOG, new Map([['starter', 0]]))).toEqual(['pro']);
    expect(
      plansWithoutFlag(
        CATALOG,
        new Map([
          ['starter', 0],
          ['pro', 9900],
        ]),
      ),
    ).toEqual([]);
  });

  test('lookupKeyFor is stable per code', () => {
    expect(lookupKeyFor('pro')).toBe('db_release:pro:monthly');
    expect(lookupKeyFor('starter')).not.toBe(lookupKeyFor('pro'));
  });
});
