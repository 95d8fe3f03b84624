/**
 * readReleaseEvidence: what the summary shows the release left, read from the backend's env at
 * the end. Secrets only ever masked; the price map in either syntax the backend accepts.
 */
import { createEvidenceActivities } from '../../src/activities/evidence';
import { activityEnv, failureOf, fakeDeps, runActivity } from '../support/fakes';

const SECRET_KEY = 'sk_test_51EvidenceSecretKeyNeverShown9';
const WEBHOOK_SECRET = 'whsec_EvidenceWebhookSecretNeverShown7';

function read(env: Record<string, string>) {
  return runActivity(activityEnv(), createEvidenceActivities(fakeDeps({ env })).readReleaseEvidence);
}

test('secrets are masked (first and last four characters) and never returned whole', async () => {
  const evidence = await read({ STRIPE_SECRET_KEY: SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
  expect(evidence.stripeSecretKeyMasked).toBe('sk_t…own9');
  expect(evidence.stripeWebhookSecretMasked).toBe('whse…own7');
  const text = JSON.stringify(evidence);
  expect(text).not.toContain(SECRET_KEY);
  expect(text).not.toContain(WEBHOOK_SECRET);
  expect(text).not.toContain(SECRET_KEY.slice(4, -4));
});

test('absent or empty secrets are null, not a mask of nothing', async () => {
  const evidence = await read({ STRIPE_WEBHOOK_SECRET: '' });
  expect(evidence.stripeSecretKeyMasked).toBeNull();
  expect(evidence.stripeWebhookSecretMasked).toBeNull();
  expect(evidence.stripePriceMap).toBeNull();
});

test('the price map is read as compact JSON or as code=price pairs; anything else is kept raw', async () => {
  expect(
    (await read({ STRIPE_PRODUCT_PRICE_MAP: '{"starter":"price_1","pro":"price_2"}' })).stripePriceMap,
  ).toEqual({ starter: 'price_1', pro: 'price_2' });
  expect((await read({ STRIPE_PRODUCT_PRICE_MAP: 'starter=price_1, pro=price_2' })).stripePriceMap).toEqual({
    starter: 'price_1',
    pro: 'price_2',
  });
  expect((await read({ STRIPE_PRODUCT_PRICE_MAP: 'not a map' })).stripePriceMap).toEqual({
    raw: 'not a map',
  });
});

test('the environment name is ENVIRONMENT, else APP_ENV, else null', async () => {
  expect((await read({ ENVIRONMENT: 'production', APP_ENV: 'prod' })).environmentName).toBe('production');
  expect((await read({ APP_ENV: 'staging' })).environmentName).toBe('staging');
  expect((await read({})).environmentName).toBeNull();
});

test('an env file gone bad since the worker started is invalid input, not retried', async () => {
  const deps = fakeDeps({
    loadEnv: () =>
      Promise.reject(
        Object.assign(new Error('.env.local line 3: unterminated quote'), { name: 'EnvFileError' }),
      ),
  });
  const failure = await failureOf(
    runActivity(activityEnv(), createEvidenceActivities(deps).readReleaseEvidence),
  );
  expect(failure.message).toContain('.env.local line 3: unterminated quote');
  expect(failure.nonRetryable).toBe(true);
});
