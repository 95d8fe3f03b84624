/**
 * The approver's preview names what each plan costs now: planStripeChanges reports the amount of
 * the price holding the plan's lookup key (previousAmount), null when no price holds it.
 */
import { startStripePeer, type StripePeer } from '../../dev/stripe-peer';
import { createStripeActivities, type ProvisionInput } from '../../src/activities/stripe';
import { createStripeGateway } from '../../src/activities/stripe-gateway';
import { activityEnv, fakeDeps, removeTempDirs, runActivity, tempDir } from '../support/fakes';

const SECRET_KEY = 'sk_test_51PreviewAmountNeverShown42';
let peer: StripePeer;
beforeAll(async () => {
  peer = await startStripePeer({ apiKeys: [SECRET_KEY] });
});
afterAll(async () => {
  await peer.close();
  removeTempDirs();
});

const input = (pro: number): ProvisionInput => ({
  plans: [
    { code: 'starter', name: 'Starter', amount: 0 },
    { code: 'pro', name: 'Pro', amount: pro },
  ],
  currency: 'usd',
  trialDays: 14,
});

test('previousAmount: null before the first release, then the amount the lookup key holds', async () => {
  const deps = fakeDeps({
    env: { STRIPE_SECRET_KEY: SECRET_KEY, STRIPE_API_BASE: peer.url, ENABLE_BILLING: 'true' },
    stripe: (key, scope) => createStripeGateway(key, scope),
    stateDir: tempDir('stripe-preview-'),
  });
  const stripe = createStripeActivities(deps);
  const first = await runActivity(
    activityEnv('wf-preview', 'run1', 1),
    stripe.planStripeChanges,
    input(12900),
  );
  expect(first.map((c) => [c.code, c.previousAmount])).toEqual([
    ['starter', null],
    ['pro', null],
  ]);
  await runActivity(activityEnv('wf-preview', 'run1', 1), stripe.provisionStripePlans, input(12900));
  const second = await runActivity(
    activityEnv('wf-preview', 'run2', 1),
    stripe.planStripeChanges,
    input(14900),
  );
  expect(second.find((c) => c.code === 'pro')).toMatchObject({ price: 'create', previousAmount: 12900 });
  expect(second.find((c) => c.code === 'starter')).toMatchObject({ price: 'reuse', previousAmount: 0 });
});
