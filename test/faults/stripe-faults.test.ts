/**
 * Stripe misbehaves (the peer's fault injection, driven in-process): bursts of 429/500/503 on
 * create-price, a permanent 500, a rejected key. Whatever the outcome, the Stripe account, the
 * database and .env.local must be what the summary says: no duplicate price, no leaked product.
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { CASES } from './cases';
import { runCase } from './support/fault-case';

const MINUTE = 60_000;
// The release's create-price, not the key check's parameterless probe of the same endpoint.
const CREATE_PRICE = { method: 'POST', pathPrefix: '/v1/prices', bodyIncludes: 'unit_amount' } as const;

test.concurrent(CASES.stripePermanent.title, () =>
  runCase(CASES.stripePermanent, async (c) => {
    c.injectStripeFault({ ...CREATE_PRICE, status: 500, times: 10_000 });
    const run = c.startRelease();
    const outcome = await c.outcomeOf(run, 12 * MINUTE);
    await c.clearStripeFaults();
    const state = await c.snapshot();
    c.checkExit(outcome, ['rolled_back'], 1);
    c.checkSummaryError(outcome, /.+/, 'StripeUnavailable');
    c.expect(
      'failed at stripe_setup',
      outcome.summary?.error?.step === 'stripe_setup',
      outcome.summary?.error?.step ?? null,
      'stripe_setup',
    );
    c.checkUnchanged(state);
    await c.checkCommon();
    await c.finish(outcome, state);
  }),
);

test.concurrent(CASES.stripeLongBurst.title, () =>
  runCase(CASES.stripeLongBurst, async (c) => {
    // issue 11 item 3: with these, all retries were spent and the new product stayed active
    for (const [status, times] of [
      [429, 3],
      [503, 2],
      [500, 3],
    ] as const)
      c.injectStripeFault({ ...CREATE_PRICE, status, times });
    const run = c.startRelease();
    const outcome = await c.outcomeOf(run, 12 * MINUTE);
    const state = await c.snapshot();
    c.checkExit(outcome, ['success', 'rolled_back']);
    // either end is right (the retry budget decides); the state must be the one the summary states
    c.checkConsistent(state, outcome);
    if (outcome.summary?.status === 'rolled_back') {
      const stripe = outcome.summary.compensations.filter((r) => r.name.startsWith('stripe'));
      c.expect(
        'the summary records the Stripe compensation',
        stripe.length > 0 && stripe.every((r) => r.status !== 'failed'),
        outcome.summary.compensations,
        'stripe records, none failed',
      );
    }
    await c.checkCommon();
    await c.finish(outcome, state);
  }),
);

test.concurrent(CASES.stripeBurst.title, () =>
  runCase(CASES.stripeBurst, async (c) => {
    for (const status of [429, 503, 500]) c.injectStripeFault({ ...CREATE_PRICE, status, times: 1 });
    const run = c.startRelease();
    const outcome = await c.outcomeOf(run, 10 * MINUTE);
    const state = await c.snapshot();
    // 400 is the key check's parameterless probe, answered parameter_missing as Stripe does.
    const faulted = c.proxy.requests
      .filter(
        (r) => r.method === 'POST' && r.path.startsWith('/v1/prices') && r.status !== null && r.status > 400,
      )
      .map((r) => r.status);
    // A 5xx is kept as its idempotency key's result (as on Stripe), so a retry that asks the
    // previous attempt's key first may see the same 500 replayed: count the distinct faults.
    const distinct = [...new Set(faulted)].sort();
    c.expect(
      'the three faults were answered',
      JSON.stringify(distinct) === JSON.stringify([429, 500, 503]),
      faulted,
      [429, 503, 500],
    );
    c.checkExit(outcome, ['success'], 0);
    c.checkReleased(state, outcome);
    await c.checkCommon();
    await c.finish(outcome, state);
  }),
);

test.concurrent(CASES.stripeBadKey.title, () =>
  runCase(CASES.stripeBadKey, async (c) => {
    // a revoked key: another test-mode key in .env.local, and the peer answers 401 for it
    const badKey = `sk_test_faults_revoked_${randomUUID().replace(/-/g, '')}`;
    c.extraSecrets.push(badKey);
    const env = await readFile(c.envLocalPath, 'utf8');
    await writeFile(c.envLocalPath, env.replace(/^STRIPE_SECRET_KEY=.*$/m, `STRIPE_SECRET_KEY=${badKey}`), {
      mode: 0o600,
    });
    await c.rebase();
    c.injectStripeFault({
      pathPrefix: '/v1/',
      status: 401,
      type: 'invalid_request_error',
      code: 'api_key_invalid',
      message: 'Invalid API Key provided: sk_test_****',
      times: 10_000,
    });
    const run = c.startRelease();
    const outcome = await c.outcomeOf(run, 10 * MINUTE);
    await c.clearStripeFaults();
    const state = await c.snapshot();
    c.checkExit(outcome, ['failed', 'rolled_back'], 1);
    c.checkSummaryError(outcome, /STRIPE_SECRET_KEY/, 'StripeAuthentication');
    c.checkUnchanged(state);
    await c.checkCommon();
    await c.finish(outcome, state);
  }),
);
