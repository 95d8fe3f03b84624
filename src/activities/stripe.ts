import { ErrorType } from '../release/errors';
import { lookupKeyFor, PLAN_CODE_METADATA_KEY } from '../release/plans';
import type { CatalogPlan, CompensationRecord, ProvisionedPlan, StripeChange, StripeProvisionResult } from '../release/types';
import type { ActivityDeps } from './deps';
import type { PriceLite, ProductLite, StripeGateway } from './stripe-gateway';
import { executionIds, failure, readJournal, readScope, rememberOnce, type JournalRef, type SecretScope } from './support';

export interface ProvisionInput {
  plans: CatalogPlan[];
  currency: string;
  trialDays: number;
}

/** Maps SDK errors onto our failure types: auth and bad requests are final, the rest is retried. */
function classifyStripeError(error: unknown, scope: SecretScope, doing: string): Error {
  const e = error as { type?: string; statusCode?: number; message?: string };
  const message = `Stripe ${doing}: ${e.message ?? String(error)}`;
  switch (e.type) {
    case 'StripeAuthenticationError':
    case 'StripePermissionError':
      return failure(ErrorType.StripeAuthentication, `${message}; check STRIPE_SECRET_KEY in the backend env files`, scope);
    case 'StripeInvalidRequestError':
    case 'StripeIdempotencyError':
    case 'StripeCardError':
      return failure(ErrorType.StripeInvalidRequest, message, scope);
    default:
      // StripeAPIError (5xx), StripeRateLimitError (429), StripeConnectionError: transient.
      return failure(ErrorType.StripeUnavailable, message, scope);
  }
}

async function stripeCall<T>(scope: SecretScope, doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifyStripeError(error, scope, doing);
  }
}

function priceMatches(price: PriceLite, productId: string, amount: number, currency: string, trialDays: number): boolean {
  return (
    price.active &&
    price.product === productId &&
    price.currency === currency &&
    price.unit_amount === amount &&
    price.interval === 'month' &&
    (price.interval_count ?? 1) === 1 &&
    (price.trial_period_days ?? Number(price.metadata.trial_days ?? NaN)) === trialDays
  );
}

function stripeFor(deps: ActivityDeps, scope: SecretScope): StripeGateway {
  const key = scope.env.values.STRIPE_SECRET_KEY;
  if (!key) {
    throw failure(ErrorType.MissingStripeSecrets, 'STRIPE_SECRET_KEY is missing from the backend env files: add it to .env.local');
  }
  return deps.stripe(key, scope.env);
}


export function createStripeActivities(deps: ActivityDeps) {
  return {
    /**
     * Read-only: what provisionStripePlans would do, for the approval gate's plan. Same matching
     * rules, no writes.
     */
    async planStripeChanges(input: ProvisionInput): Promise<StripeChange[]> {
      const scope = await readScope(deps);
      const stripe = stripeFor(deps, scope);
      const currency = input.currency.toLowerCase();
      const products = await stripeCall(scope, 'listing products', () => stripe.listProducts());
      const changes: StripeChange[] = [];
      for (const plan of input.plans) {
        const lookupKey = lookupKeyFor(plan.code);
        const existing = products.filter((p) => p.metadata[PLAN_CODE_METADATA_KEY] === plan.code);
        const product = existing.find((p) => p.active) ?? existing[0] ?? null;
        const holder = (await stripeCall(scope, `looking up ${lookupKey}`, () => stripe.listPricesByLookupKey(lookupKey)))[0] ?? null;
        let price: StripeChange['price'] = 'create';
        if (product && holder && priceMatches(holder, product.id, plan.amount, currency, input.trialDays)) {
          price = 'reuse';
        } else if (product) {
          const active = await stripeCall(scope, `listing prices of ${product.id}`, () => stripe.listActivePrices(product.id));
          if (active.some((p) => priceMatches(p, product.id, plan.amount, currency, input.trialDays))) price = 'assign_lookup_key';
        }
        changes.push({
          code: plan.code,
          product: !product ? 'create' : product.name !== plan.name || !product.active ? 'rename' : 'reuse',
          price,
          lookupKey,
          movesLookupKeyFrom: price !== 'reuse' && holder ? holder.id : null,
        });
      }
      return changes;
    },

    /**
     * Provisions one product and one monthly price per catalog plan. Products are found by
     * metadata, prices by lookup key; a price is created only when none matches amount,
     * currency, interval and trial, and the lookup key then moves to it. Every write carries an
     * idempotency key derived from the workflow run, so a retried attempt changes nothing twice.
     */
    async provisionStripePlans(input: ProvisionInput): Promise<StripeProvisionResult> {
      const scope = await readScope(deps);
      const stripe = stripeFor(deps, scope);
      const { workflowId, runId } = executionIds();
      const idem = (step: string) => `${workflowId}:${runId}:${step}`;
      const currency = input.currency.toLowerCase();
      const products = await stripeCall(scope, 'listing products', () => stripe.listProducts());
      const plans: ProvisionedPlan[] = [];

      for (const plan of input.plans) {
        const lookupKey = lookupKeyFor(plan.code);
        // What held the lookup key before this release touched it: journaled so a retry still knows.
        const before = await rememberOnce(deps, `stripe:${plan.code}:before`, async () => {
          const holders = await stripeCall(scope, `looking up ${lookupKey}`, () => stripe.listPricesByLookupKey(lookupKey));
          const existing = products.filter((p) => p.metadata[PLAN_CODE_METADATA_KEY] === plan.code);
          const product = existing.find((p) => p.active) ?? existing[0] ?? null;
          return {
            priceId: holders[0]?.id ?? null,
            priceActive: holders[0]?.active ?? false,
            productId: product?.id ?? null,
            productName: product?.name ?? null,
            productActive: product?.active ?? false,
          };
        });

        let product: ProductLite;
        let productAction: ProvisionedPlan['productAction'] = 'reused';
        const found = products.find((p) => p.id === before.productId);
        if (!found) {
          product = await stripeCall(scope, `creating product ${plan.code}`, () =>
            stripe.createProduct({ name: plan.name, metadata: { [PLAN_CODE_METADATA_KEY]: plan.code } }, idem(`product:${plan.code}`)),
          );
          productAction = 'created';
        } else if (found.name !== plan.name || !found.active) {
          product = await stripeCall(scope, `updating product ${plan.code}`, () =>
            stripe.updateProduct(found.id, { name: plan.name, active: true }, idem(`product-update:${plan.code}`)),
          );
          productAction = 'renamed';
        } else {
          product = found;
        }

        const holder = before.priceId
          ? await stripeCall(scope, `reading price ${before.priceId}`, () => stripe.retrievePrice(before.priceId as string))
          : null;
        let priceId: string;
        let priceAction: ProvisionedPlan['priceAction'];
        if (holder && priceMatches(holder, product.id, plan.amount, currency, input.trialDays)) {
          priceId = holder.id;
          priceAction = 'reused';
        } else {
          const active = await stripeCall(scope, `listing prices of ${product.id}`, () => stripe.listActivePrices(product.id));
          const match = active.find((p) => priceMatches(p, product.id, plan.amount, currency, input.trialDays));
          if (match && match.lookup_key === lookupKey) {
            priceId = match.id; // a retry after the key already moved
            priceAction = before.priceId === match.id ? 'reused' : 'lookup_key_assigned';
          } else if (match) {
            await stripeCall(scope, `assigning ${lookupKey}`, () =>
              stripe.updatePrice(match.id, { lookup_key: lookupKey, transfer_lookup_key: true }, idem(`price-key:${plan.code}`)),
            );
            priceId = match.id;
            priceAction = 'lookup_key_assigned';
          } else {
            const created = await stripeCall(scope, `creating price for ${plan.code}`, () =>
              stripe.createPrice(
                {
                  product: product.id,
                  currency,
                  unit_amount: plan.amount,
                  interval: 'month',
                  trial_period_days: input.trialDays,
                  nickname: `${plan.name} Monthly`,
                  lookup_key: lookupKey,
                  metadata: { [PLAN_CODE_METADATA_KEY]: plan.code, trial_days: String(input.trialDays) },
                },
                idem(`price:${plan.code}`),
              ),
            );
            priceId = created.id;
            priceAction = 'created';
          }
        }

        // The price that lost the lookup key is archived so checkout cannot pick it up again.
        const archivePrevious = Boolean(before.priceId && before.priceId !== priceId && before.priceActive);
        const record: ProvisionedPlan = {
          code: plan.code,
          amount: plan.amount,
          productId: product.id,
          productAction,
          previousProductName: productAction === 'renamed' ? before.productName : null,
          priceId,
          priceAction,
          lookupKey,
          previousPriceId: before.priceId && before.priceId !== priceId ? before.priceId : null,
          previousPriceArchived: archivePrevious,
        };
        // Journaled per plan, so a rollback also undoes the plans done before a later one failed.
        // Journaled before the archive, so a failure there still leaves the rollback what to undo.
        const journaled = await rememberOnce(deps, `stripe:${plan.code}:result`, () => Promise.resolve(record));
        if (archivePrevious) {
          await stripeCall(scope, `archiving ${before.priceId}`, () =>
            stripe.updatePrice(before.priceId as string, { active: false }, idem(`price-archive:${plan.code}`)),
          );
        }
        plans.push(journaled);
      }
      return {
        currency,
        trialDays: input.trialDays,
        plans,
        priceMap: Object.fromEntries(plans.map((p) => [p.code, p.priceId])),
      };
    },

    /**
     * Compensation for provisionStripePlans, newest plan first: the lookup key goes back to the
     * price that held it (reactivated if this release archived it), prices this release created
     * are archived, products it created are archived, renamed ones get their name back.
     */
    async rollbackStripePlans(input: { codes: string[]; journal?: JournalRef }): Promise<CompensationRecord[]> {
      const scope = await readScope(deps);
      const stripe = stripeFor(deps, scope);
      const { workflowId, runId } = executionIds();
      const idem = (step: string) => `${workflowId}:${runId}:rollback:${step}`;
      const journal = await readJournal(deps, input.journal);
      const provisioned = input.codes
        .map((code) => journal[`stripe:${code}:result`] as ProvisionedPlan | undefined)
        .filter((p): p is ProvisionedPlan => p !== undefined);
      const records: CompensationRecord[] = [];
      for (const plan of [...provisioned].reverse()) {
        const done: string[] = [];
        if (plan.previousPriceId) {
          const previous = plan.previousPriceId;
          await stripeCall(scope, `restoring ${previous}`, () =>
            stripe.updatePrice(
              previous,
              { active: true, lookup_key: plan.lookupKey, transfer_lookup_key: true },
              idem(`price-restore:${plan.code}`),
            ),
          );
          done.push(`lookup key back on ${previous}`);
          if (plan.previousPriceArchived) done.push(`${previous} reactivated`);
        }
        if (plan.priceAction === 'created') {
          await stripeCall(scope, `archiving ${plan.priceId}`, () =>
            stripe.updatePrice(plan.priceId, { active: false }, idem(`price-archive:${plan.code}`)),
          );
          done.push(`archived ${plan.priceId}`);
        }
        if (plan.productAction === 'created') {
          await stripeCall(scope, `archiving ${plan.productId}`, () =>
            stripe.updateProduct(plan.productId, { active: false }, idem(`product-archive:${plan.code}`)),
          );
          done.push(`archived ${plan.productId}`);
        } else if (plan.productAction === 'renamed' && plan.previousProductName) {
          const name = plan.previousProductName;
          await stripeCall(scope, `renaming ${plan.productId}`, () =>
            stripe.updateProduct(plan.productId, { name }, idem(`product-rename:${plan.code}`)),
          );
          done.push(`renamed ${plan.productId} back`);
        }
        records.push({
          name: `stripe:${plan.code}`,
          status: done.length ? 'success' : 'skipped',
          detail: done.join('; ') || 'nothing this release created',
          manual_action: null,
        });
      }
      return records;
    },
  };
}
