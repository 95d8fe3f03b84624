import { evaluatePlans, parsePriceMap, planProblems, plansAsKept, planStatus } from '../../src/release/plans';
import { describePlans } from '../../src/release/summary';

describe('planStatus', () => {
  test.each([
    ['no row', undefined, 'missing'],
    ['inactive row', { code: 'pro', stripe_price_id: 'price_1', is_active: false }, 'inactive'],
    ['inactive row without price', { code: 'pro', stripe_price_id: null, is_active: false }, 'inactive'],
    ['null price id', { code: 'pro', stripe_price_id: null, is_active: true }, 'missing_price_id'],
    ['empty price id', { code: 'pro', stripe_price_id: '', is_active: true }, 'missing_price_id'],
    ['active with price', { code: 'pro', stripe_price_id: 'price_1', is_active: true }, 'ok'],
  ] as const)('%s -> %s', (_label, row, expected) => {
    expect(planStatus(row)).toBe(expected);
  });
});

describe('evaluatePlans', () => {
  test('a missing plan has price null and is_active false', () => {
    expect(evaluatePlans(['starter'], [])).toEqual([
      { code: 'starter', status: 'missing', stripe_price_id: null, is_active: false },
    ]);
  });

  test('keeps catalog order whatever the row order, and ignores rows not in the catalog', () => {
    const plans = evaluatePlans(
      ['starter', 'pro'],
      [
        { code: 'legacy', stripe_price_id: 'price_legacy', is_active: true },
        { code: 'pro', stripe_price_id: 'price_pro', is_active: true },
        { code: 'starter', stripe_price_id: null, is_active: true },
      ],
    );
    expect(plans).toEqual([
      { code: 'starter', status: 'missing_price_id', stripe_price_id: null, is_active: true },
      { code: 'pro', status: 'ok', stripe_price_id: 'price_pro', is_active: true },
    ]);
  });

  test('inactive rows keep their price id and is_active false', () => {
    expect(evaluatePlans(['pro'], [{ code: 'pro', stripe_price_id: 'price_9', is_active: false }])).toEqual([
      { code: 'pro', status: 'inactive', stripe_price_id: 'price_9', is_active: false },
    ]);
  });
});

describe('planProblems', () => {
  test('null when every plan is ok', () => {
    expect(
      planProblems(
        evaluatePlans(
          ['starter', 'pro'],
          [
            { code: 'starter', stripe_price_id: 'p1', is_active: true },
            { code: 'pro', stripe_price_id: 'p2', is_active: true },
          ],
        ),
      ),
    ).toBeNull();
  });

  test('names every bad plan code with its status', () => {
    const plans = evaluatePlans(
      ['starter', 'pro', 'team', 'ok'],
      [
        { code: 'pro', stripe_price_id: null, is_active: true },
        { code: 'team', stripe_price_id: 'p', is_active: false },
        { code: 'ok', stripe_price_id: 'p', is_active: true },
      ],
    );
    const problems = planProblems(plans);
    expect(problems).toBe(
      'billing plans not ready: starter (missing), pro (missing_price_id), team (inactive)',
    );
    expect(problems).not.toContain('ok (');
  });

  test('describePlans summarises each plan', () => {
    expect(
      describePlans(
        evaluatePlans(['starter', 'pro'], [{ code: 'pro', stripe_price_id: 'p', is_active: true }]),
      ),
    ).toBe('starter=missing, pro=ok');
  });
});

describe('parsePriceMap', () => {
  test.each([
    ['compact JSON', '{"starter":"price_1","pro":"price_2"}', { starter: 'price_1', pro: 'price_2' }],
    ['pair syntax', 'starter=price_1,pro=price_2', { starter: 'price_1', pro: 'price_2' }],
    ['pair syntax with spaces', ' starter = price_1 , pro=price_2 ', { starter: 'price_1', pro: 'price_2' }],
    ['garbage', 'not a map', { raw: 'not a map' }],
    ['a pair without a value', 'starter=,pro=price_2', { raw: 'starter=,pro=price_2' }],
    ['a pair with two =', 'starter=a=b', { raw: 'starter=a=b' }],
    ['a JSON array', '["price_1"]', { raw: '["price_1"]' }],
    ['broken JSON', '{"starter":', { raw: '{"starter":' }],
  ])('%s', (_label, raw, expected) => {
    expect(parsePriceMap(raw)).toEqual(expected);
  });

  test.each([undefined, null, '', '   '])('%p -> null', (raw) => {
    expect(parsePriceMap(raw)).toBeNull();
  });
});

describe('planProblems with a detail', () => {
  test('the detail of a price checked in Stripe follows its status', () => {
    expect(
      planProblems([
        {
          code: 'pro',
          status: 'price_mismatch',
          stripe_price_id: 'price_1',
          is_active: true,
          detail: 'Stripe price price_1 is 4900 usd per month',
        },
      ]),
    ).toBe('billing plans not ready: pro (price_mismatch: Stripe price price_1 is 4900 usd per month)');
  });
});

describe('plansAsKept (status summary: price ids wherever the backend keeps them)', () => {
  const row = (code: string, fields: Record<string, unknown>, is_active = true) => ({
    code,
    is_active,
    fields: { code, is_active, ...fields },
  });

  test('auto with a stripe_price_id column reads the column, as before', () => {
    const plans = plansAsKept(
      ['starter', 'pro'],
      [row('starter', { stripe_price_id: 'price_s' }), row('pro', { stripe_price_id: null })],
      'auto',
      {
        priceMap: '{"pro":"price_from_env"}',
        billingEnabled: true,
      },
    );
    expect(plans.map((p) => [p.code, p.status, p.stripe_price_id])).toEqual([
      ['starter', 'ok', 'price_s'],
      ['pro', 'missing_price_id', null],
    ]);
  });

  test('auto without the column reads STRIPE_PRODUCT_PRICE_MAP (JSON or pairs)', () => {
    const rows = [row('starter', { amount_cents: 1500 }), row('pro', { amount_cents: 4900 })];
    expect(
      plansAsKept(['starter', 'pro'], rows, 'auto', {
        priceMap: 'starter=price_1',
        billingEnabled: true,
      }).map((p) => [p.code, p.status, p.stripe_price_id]),
    ).toEqual([
      ['starter', 'ok', 'price_1'],
      ['pro', 'missing_price_id', null],
    ]);
  });

  test('a configured column, or null, wins over detection', () => {
    const rows = [row('pro', { stripe_price_id: 'price_col', price_ref: 'price_ref' })];
    expect(
      plansAsKept(['pro'], rows, 'price_ref', { priceMap: undefined, billingEnabled: true })[0]
        ?.stripe_price_id,
    ).toBe('price_ref');
    expect(
      plansAsKept(['pro'], rows, null, { priceMap: '{"pro":"price_env"}', billingEnabled: true })[0]
        ?.stripe_price_id,
    ).toBe('price_env');
  });

  test('billing off asks for no price id; a missing or inactive row is still named', () => {
    const plans = plansAsKept(
      ['starter', 'pro', 'team'],
      [row('starter', {}), row('team', {}, false)],
      'auto',
      { priceMap: undefined, billingEnabled: false },
    );
    expect(plans.map((p) => [p.code, p.status])).toEqual([
      ['starter', 'ok'],
      ['pro', 'missing'],
      ['team', 'inactive'],
    ]);
  });
});
