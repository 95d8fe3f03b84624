/**
 * Issue 13 finding 2: the key check asks for exactly what a release does (read and write
 * products and prices), through the real gateway and the official SDK against the peer, whose
 * restricted keys answer 403 naming the missing permission as Stripe does.
 */
import { startStripePeer, type StripePeer } from '../../dev/stripe-peer';
import { createStripeGateway } from '../../src/activities/stripe-gateway';
import { verifyStripeKey } from '../../src/cli/providers';
import { envScope } from '../support/fakes';

const SECRET = 'sk_test_51KeyCheckSecretKey000001';
const RELEASE_SCOPED = 'rk_test_51KeyCheckProductsPrices01';
const BALANCE_ONLY = 'rk_test_51KeyCheckBalanceOnly0001';
const READ_ONLY = 'rk_test_51KeyCheckReadOnly0000001';
const NO_PRICES = 'rk_test_51KeyCheckNoPriceWrite001';

let peer: StripePeer;

beforeAll(async () => {
  peer = await startStripePeer({
    apiKeys: [SECRET],
    restrictedKeys: {
      [RELEASE_SCOPED]: ['rak_product_write', 'rak_price_write'],
      [BALANCE_ONLY]: ['rak_balance_read'],
      [READ_ONLY]: ['rak_product_read', 'rak_price_read'],
      [NO_PRICES]: ['rak_product_write', 'rak_price_read'],
    },
  });
});
afterAll(() => peer.close());
beforeEach(() => peer.reset());

function verify(key: string): ReturnType<typeof verifyStripeKey> {
  return verifyStripeKey(createStripeGateway(key, envScope({ STRIPE_API_BASE: peer.url })), key, peer.url);
}

describe('checkAuth / verifyStripeKey against the peer', () => {
  test('the secret key passes, and the check creates nothing', async () => {
    expect(await verify(SECRET)).toEqual({ status: 'ok', reason: `authenticated against ${peer.url}` });
    expect(peer.state().products).toEqual([]);
    expect(peer.state().prices).toEqual([]);
  });

  test('a restricted key with exactly Products and Prices write passes (the old check read the balance and failed it)', async () => {
    expect((await verify(RELEASE_SCOPED)).status).toBe('ok');
    // Nothing but products and prices was asked for.
    expect(new Set(peer.state().requests.map((r) => r.path))).toEqual(
      new Set(['/v1/products', '/v1/prices']),
    );
  });

  test('a key with only Balance read fails, naming the first missing permission (the old check passed it)', async () => {
    const verdict = await verify(BALANCE_ONLY);
    expect(verdict.status).toBe('invalid');
    expect(verdict.reason).toContain('lacks the rak_product_read permission (403) to list products');
    expect(verdict.reason).not.toContain(BALANCE_ONLY);
  });

  test('a read-only key fails on the first write it would need, named', async () => {
    const verdict = await verify(READ_ONLY);
    expect(verdict).toMatchObject({ status: 'invalid' });
    expect(verdict.reason).toContain('rak_product_write');
    expect(verdict.reason).toContain('Products: Write and Prices: Write');
  });

  test('a key that may write products but not prices fails naming rak_price_write', async () => {
    expect((await verify(NO_PRICES)).reason).toContain(
      'lacks the rak_price_write permission (403) to create prices',
    );
  });

  test('an unknown key is refused with 401', async () => {
    const verdict = await verify('rk_test_51KeyCheckUnknownKey00001');
    expect(verdict.status).toBe('invalid');
    expect(verdict.reason).toMatch(/refused the key \(401\)/);
  });
});
