import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { ErrorType } from '../release/errors';
import {
  lookupKeyFor,
  PLAN_CODE_METADATA_KEY,
  RELEASE_RUN_METADATA_KEY,
  releaseRunTag,
} from '../release/plans';
import {
  choosePlanProduct,
  decidePrice,
  planCodeKeyOf,
  planCodeMetadataKeys,
  stripeChangeFor,
} from '../release/stripe-match';
import type {
  CatalogPlan,
  CompensationRecord,
  ProvisionedPlan,
  StripeChange,
  StripeProvisionResult,
} from '../release/types';
import type { ActivityDeps } from './deps';
import type { PriceLite, ProductLite, StripeGateway } from './stripe-gateway';
import {
  executionIds,
  failure,
  journalEntry,
  readJournal,
  readScope,
  rememberOnce,
  type JournalRef,
  type SecretScope,
} from './support';

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
      return failure(
        ErrorType.StripeAuthentication,
        `${message}; check STRIPE_SECRET_KEY in the backend env files`,
        scope,
      );
    case 'StripeInvalidRequestError':
    case 'StripeIdempotencyError':
    case 'StripeCardError':
      return failure(ErrorType.StripeInvalidRequest, message, scope);
    default:
      // StripeAPIError (5xx), StripeRateLimitError (429), StripeConnectionError: transient.
      return failure(ErrorType.StripeUnavailable, message, scope);
  }
}

/** Runs a Stripe call, its failure classified (refused key and bad request final, the rest retried). */
export async function stripeCall<T>(scope: SecretScope, doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifyStripeError(error, scope, doing);
  }
}

/** What held a plan's lookup key and product before this release wrote anything: journaled first. */
const beforeStateSchema = z.object({
  priceId: z.string().nullable(),
  priceActive: z.boolean(),
  productId: z.string().nullable(),
  productName: z.string().nullable(),
  productActive: z.boolean(),
  /** Absent in journals written before default prices were handled. */
  productDefaultPrice: z.string().nullable().optional(),
  /** The metadata key that named the plan's code on that product; absent in older journals. */
  productMatchedBy: z.string().nullable().optional(),
});
type BeforeState = z.infer<typeof beforeStateSchema>;

/** A plan's provisioning result as journaled: checked when read back; a field a later version adds is kept. */
const provisionedSchema: z.ZodType<ProvisionedPlan> = z
  .object({
    code: z.string(),
    amount: z.number(),
    productId: z.string(),
    productAction: z.enum(['created', 'reused', 'renamed']),
    previousProductName: z.string().nullable(),
    productMatchedBy: z.string().optional(),
    priceId: z.string(),
    priceAction: z.enum(['created', 'reused', 'lookup_key_assigned']),
    lookupKey: z.string(),
    previousPriceId: z.string().nullable(),
    previousPriceArchived: z.boolean(),
    previousDefaultPrice: z.string().nullable().optional(),
  })
  .loose();

function createdBy(tag: string, code: string): (o: { metadata: Record<string, string> }) => boolean {
  return (o) => o.metadata[RELEASE_RUN_METADATA_KEY] === tag && o.metadata[PLAN_CODE_METADATA_KEY] === code;
}

/**
 * Idempotency keys for one activity attempt. Stripe keeps a key's first result for 24 hours,
 * 5xx included, so a retry that reused its key could never get past a 500. Each attempt writes
 * with its own keys, and only after a lookup (the run's tag, the lookup key) proved the write is
 * still needed: a new key never makes a second object.
 */
function keysFor(workflowId: string, runId: string, scope = ''): (step: string, attempt?: number) => string {
  const current = Context.current().info.attempt;
  return (step, attempt = current) => `${workflowId}:${runId}:${scope}${step}:attempt-${attempt}`;
}

/**
 * A create that cannot make a second object. The lookup by tag before it misses a create that is
 * still in flight (the previous attempt's worker died mid-request), so a retry first repeats the
 * previous attempt's create with that attempt's key: Stripe answers 409 while it still runs
 * (this attempt fails and is retried), replays the object if it was made, or replays a 5xx /
 * refuses the key when that attempt never made it; only then is this attempt's own key used.
 */
async function createOnce<T>(
  scope: SecretScope,
  doing: string,
  step: string,
  idem: (step: string, attempt?: number) => string,
  create: (idempotencyKey: string) => Promise<T>,
): Promise<T> {
  const attempt = Context.current().info.attempt;
  if (attempt > 1) {
    try {
      return await create(idem(step, attempt - 1));
    } catch (error) {
      const e = error as { statusCode?: number; rawType?: string };
      const settled =
        (e.statusCode ?? 0) >= 500 || (e.statusCode === 400 && e.rawType === 'idempotency_error');
      if (!settled) throw classifyStripeError(error, scope, doing);
    }
  }
  return stripeCall(scope, doing, () => create(idem(step)));
}

/** Journals the intent of a write before it is sent; a rollback reads which writes may have happened. */
function intend(
  deps: ActivityDeps,
  code: string,
  step: string,
  what: Record<string, unknown>,
): Promise<unknown> {
  return rememberOnce(deps, `stripe:${code}:intent:${step}`, () => Promise.resolve({ step, ...what }));
}

/** Every metadata key that names a plan's code in this backend's Stripe account (config `stripe.planCodeMetadataKeys`). */
async function metadataKeys(deps: ActivityDeps): Promise<string[]> {
  return planCodeMetadataKeys((await deps.loadConfig()).stripe.planCodeMetadataKeys);
}

function stripeFor(deps: ActivityDeps, scope: SecretScope): StripeGateway {
  const key = scope.env.values.STRIPE_SECRET_KEY;
  if (!key) {
    throw failure(
      ErrorType.MissingStripeSecrets,
      'STRIPE_SECRET_KEY is missing from the backend env files: add it to .env.local',
    );
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
      const keys = await metadataKeys(deps);
      const currency = input.currency.toLowerCase();
      const products = await stripeCall(scope, 'listing products', () => stripe.listProducts());
      const changes: StripeChange[] = [];
      for (const plan of input.plans) {
        const lookupKey = lookupKeyFor(plan.code);
        const holder =
          (
            await stripeCall(scope, `looking up ${lookupKey}`, () => stripe.listPricesByLookupKey(lookupKey))
          )[0] ?? null;
        const product = choosePlanProduct(products, plan.code, keys, { holder })?.product ?? null;
        const prices = product
          ? await stripeCall(scope, `listing prices of ${product.id}`, () => stripe.listPrices(product.id))
          : [];
        changes.push({
          ...stripeChangeFor({
            plan,
            lookupKey,
            product,
            holder,
            prices,
            want: { amount: plan.amount, currency, trialDays: input.trialDays },
          }),
          previousAmount: holder?.unit_amount ?? null,
        });
      }
      return changes;
    },

    /**
     * Provisions one product and one monthly price per catalog plan. Products are found by
     * metadata, prices by lookup key (active or archived); a price is created only when none
     * matches amount, currency, interval and trial, and the lookup key then moves to it.
     * Everything created carries the run's tag (`db_release_run`), so a retry whose earlier
     * attempt created an object but lost the answer finds it and records it as created.
     */
    async provisionStripePlans(input: ProvisionInput): Promise<StripeProvisionResult> {
      const scope = await readScope(deps);
      const stripe = stripeFor(deps, scope);
      const { workflowId, runId } = executionIds();
      const tag = releaseRunTag(workflowId, runId);
      const idem = keysFor(workflowId, runId);
      const currency = input.currency.toLowerCase();
      const keys = await metadataKeys(deps);
      const products = await stripeCall(scope, 'listing products', () => stripe.listProducts());
      const plans: ProvisionedPlan[] = [];

      for (const plan of input.plans) {
        const lookupKey = lookupKeyFor(plan.code);
        const mine = createdBy(tag, plan.code);
        // What held the lookup key before this release touched it: journaled so a retry still knows.
        const before = await rememberOnce<BeforeState>(
          deps,
          `stripe:${plan.code}:before`,
          async () => {
            // A holder tagged with this run was made by an earlier attempt (on a worker whose journal
            // this one cannot read): it is not what held the key before the release.
            const holders = await stripeCall(scope, `looking up ${lookupKey}`, () =>
              stripe.listPricesByLookupKey(lookupKey),
            );
            const holder = holders.find((h) => !mine(h)) ?? null;
            // Recognised by any key the backend family used, so a product its own setup made is
            // reused, never duplicated; its metadata is left as it is (reuse is recorded here and
            // in the summary), so a rollback has nothing of it to undo.
            const chosen = choosePlanProduct(products, plan.code, keys, { excludeTag: tag, holder });
            const product = chosen?.product ?? null;
            return {
              priceId: holder?.id ?? null,
              priceActive: holder?.active ?? false,
              productId: product?.id ?? null,
              productName: product?.name ?? null,
              productActive: product?.active ?? false,
              productDefaultPrice: product?.default_price ?? null,
              productMatchedBy: chosen?.matchedBy ?? null,
            };
          },
          beforeStateSchema,
        );

        let product: ProductLite;
        let productAction: ProvisionedPlan['productAction'];
        const found = before.productId ? products.find((p) => p.id === before.productId) : undefined;
        const createdEarlier = products.find(mine);
        if (found) {
          productAction = before.productName !== plan.name || !before.productActive ? 'renamed' : 'reused';
          if (found.name !== plan.name || !found.active) {
            await intend(deps, plan.code, 'product-update', { productId: found.id });
            product = await stripeCall(scope, `updating product ${plan.code}`, () =>
              stripe.updateProduct(
                found.id,
                { name: plan.name, active: true },
                idem(`product-update:${plan.code}`),
              ),
            );
          } else {
            product = found;
          }
        } else if (createdEarlier) {
          product = createdEarlier; // an earlier attempt created it; its answer never arrived
          productAction = 'created';
        } else {
          await intend(deps, plan.code, 'product-create', {});
          product = await createOnce(
            scope,
            `creating product ${plan.code}`,
            `product:${plan.code}`,
            idem,
            (key) =>
              stripe.createProduct(
                {
                  name: plan.name,
                  metadata: { [PLAN_CODE_METADATA_KEY]: plan.code, [RELEASE_RUN_METADATA_KEY]: tag },
                },
                key,
              ),
          );
          productAction = 'created';
        }

        const prices = await stripeCall(scope, `listing prices of ${product.id}`, () =>
          stripe.listPrices(product.id),
        );
        const priceById = async (id: string): Promise<PriceLite> =>
          prices.find((p) => p.id === id) ??
          (await stripeCall(scope, `reading price ${id}`, () => stripe.retrievePrice(id)));
        const holder = before.priceId ? await priceById(before.priceId) : null;
        let priceId: string;
        let priceAction: ProvisionedPlan['priceAction'];
        const moveKeyTo = async (id: string): Promise<void> => {
          await intend(deps, plan.code, 'price-key', { priceId: id });
          await stripeCall(scope, `assigning ${lookupKey}`, () =>
            stripe.updatePrice(
              id,
              { lookup_key: lookupKey, transfer_lookup_key: true },
              idem(`price-key:${plan.code}`),
            ),
          );
        };
        const decision = decidePrice({
          productId: product.id,
          holder,
          prices,
          want: { amount: plan.amount, currency, trialDays: input.trialDays },
          tag,
        });
        if (decision.action === 'reuse') {
          priceId = decision.price.id;
          priceAction = 'reused';
        } else if (decision.action === 'created_earlier') {
          // An earlier attempt created it (the answer was lost): it is this release's, whoever holds the key now.
          if (decision.price.lookup_key !== lookupKey) await moveKeyTo(decision.price.id);
          priceId = decision.price.id;
          priceAction = 'created';
        } else if (decision.action === 'assign_lookup_key') {
          const match = decision.price;
          if (match.lookup_key !== lookupKey) await moveKeyTo(match.id);
          priceId = match.id;
          priceAction = before.priceId === match.id ? 'reused' : 'lookup_key_assigned';
        } else {
          await intend(deps, plan.code, 'price-create', { productId: product.id });
          const created = await createOnce(
            scope,
            `creating price for ${plan.code}`,
            `price:${plan.code}`,
            idem,
            (key) =>
              stripe.createPrice(
                {
                  product: product.id,
                  currency,
                  unit_amount: plan.amount,
                  interval: 'month',
                  trial_period_days: input.trialDays,
                  nickname: `${plan.name} Monthly`,
                  lookup_key: lookupKey,
                  metadata: {
                    [PLAN_CODE_METADATA_KEY]: plan.code,
                    [RELEASE_RUN_METADATA_KEY]: tag,
                    trial_days: String(input.trialDays),
                  },
                },
                key,
              ),
          );
          priceId = created.id;
          priceAction = 'created';
        }

        // The price that lost the lookup key is archived so checkout cannot pick it up again.
        // Stripe refuses to archive a product's default price: when it is the default of this
        // plan's product, the new price becomes the default first; when it is the default of
        // another product, it stays active (keyless) rather than change that product.
        const previousPriceId = before.priceId && before.priceId !== priceId ? before.priceId : null;
        let archivePrevious = Boolean(previousPriceId && before.priceActive);
        let previousDefaultPrice: string | null = null;
        if (previousPriceId && holder) {
          if (before.productDefaultPrice === previousPriceId && before.productId === product.id) {
            previousDefaultPrice = previousPriceId;
          } else if (
            holder.product !== product.id &&
            products.find((p) => p.id === holder.product)?.default_price === previousPriceId
          ) {
            archivePrevious = false;
          }
        }
        const record: ProvisionedPlan = {
          code: plan.code,
          amount: plan.amount,
          productId: product.id,
          productAction,
          previousProductName: productAction === 'renamed' ? before.productName : null,
          ...(found && before.productMatchedBy ? { productMatchedBy: before.productMatchedBy } : {}),
          priceId,
          priceAction,
          lookupKey,
          previousPriceId,
          previousPriceArchived: archivePrevious,
          ...(previousDefaultPrice ? { previousDefaultPrice } : {}),
        };
        // Journaled per plan, so a rollback also undoes the plans done before a later one failed.
        // Journaled before the default move and the archive, so a failure there still leaves the rollback what to undo.
        const journaled = await rememberOnce(
          deps,
          `stripe:${plan.code}:result`,
          () => Promise.resolve(record),
          provisionedSchema,
        );
        if (previousDefaultPrice && product.default_price !== priceId) {
          await intend(deps, plan.code, 'product-default', { productId: product.id, priceId });
          await stripeCall(scope, `making ${priceId} the default price of ${product.id}`, () =>
            stripe.updateProduct(
              product.id,
              { default_price: priceId },
              idem(`product-default:${plan.code}`),
            ),
          );
        }
        if (archivePrevious && previousPriceId && holder?.active) {
          await intend(deps, plan.code, 'price-archive', { priceId: previousPriceId });
          await stripeCall(scope, `archiving ${previousPriceId}`, () =>
            stripe.updatePrice(previousPriceId, { active: false }, idem(`price-archive:${plan.code}`)),
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
     * Compensation for provisionStripePlans, newest plan first, restoring what was there before:
     * the lookup key goes back to the price that held it (reactivated only if it was active
     * before), the product's default price goes back, the prices and products this release
     * created are archived, a renamed product gets its name (and archived state) back. What the
     * release created is found by its tag as well as by the journal, so an object whose creation
     * was never journaled (a crash, a failed later step) is archived too.
     */
    async rollbackStripePlans(input: {
      codes: string[];
      journal?: JournalRef;
    }): Promise<CompensationRecord[]> {
      const scope = await readScope(deps);
      const stripe = stripeFor(deps, scope);
      const self = executionIds();
      const target = input.journal ?? self;
      const tag = releaseRunTag(target.workflowId, target.runId);
      const idem = keysFor(self.workflowId, self.runId, 'rollback:');
      const journal = await readJournal(deps, input.journal);
      const wrote = Object.keys(journal).some((key) => /^stripe:.*:intent:/.test(key));
      const keys = await metadataKeys(deps);
      let products: ProductLite[];
      try {
        products = await stripeCall(scope, 'listing products', () => stripe.listProducts());
      } catch (error) {
        // A key Stripe refuses could not have created anything: when this run's journal holds no
        // write either, there is nothing to undo (the release failed before its first write).
        if ((error as { type?: string }).type === ErrorType.StripeAuthentication && !wrote) {
          return [
            {
              name: 'stripe',
              status: 'skipped',
              detail: 'nothing to undo: Stripe refused the key and this run journaled no Stripe write',
              manual_action: null,
            },
          ];
        }
        throw error;
      }
      const records: CompensationRecord[] = [];
      for (const code of [...input.codes].reverse()) {
        const result = journalEntry(journal, `stripe:${code}:result`, provisionedSchema);
        const before = journalEntry(journal, `stripe:${code}:before`, beforeStateSchema);
        const mine = createdBy(tag, code);
        // Prices this release created may sit on a product it reused under another key.
        const productIds = new Set(
          products.filter((p) => planCodeKeyOf(p, code, keys) !== null).map((p) => p.id),
        );
        if (result) productIds.add(result.productId);
        const prices: PriceLite[] = [];
        for (const id of productIds)
          prices.push(...(await stripeCall(scope, `listing prices of ${id}`, () => stripe.listPrices(id))));
        const createdPrices = new Set(prices.filter(mine).map((p) => p.id));
        if (result?.priceAction === 'created') createdPrices.add(result.priceId);
        const createdProducts = new Set(products.filter(mine).map((p) => p.id));
        if (result?.productAction === 'created') createdProducts.add(result.productId);
        if (!result && !before && createdPrices.size === 0 && createdProducts.size === 0) continue;

        const done: string[] = [];
        const priceById = async (id: string): Promise<PriceLite> =>
          prices.find((p) => p.id === id) ??
          (await stripeCall(scope, `reading price ${id}`, () => stripe.retrievePrice(id)));
        const productDefaults = new Map(products.map((p) => [p.id, p.default_price]));
        const lookupKey = result?.lookupKey ?? lookupKeyFor(code);

        if (before?.priceId) {
          // The key (and the active state it had) back on the price that held it.
          const previous = await priceById(before.priceId);
          const reactivate = before.priceActive && !previous.active;
          const moveKey = previous.lookup_key !== lookupKey;
          if (reactivate || moveKey) {
            await stripeCall(scope, `restoring ${previous.id}`, () =>
              stripe.updatePrice(
                previous.id,
                {
                  ...(reactivate ? { active: true } : {}),
                  ...(moveKey ? { lookup_key: lookupKey, transfer_lookup_key: true } : {}),
                },
                idem(`price-restore:${code}`),
              ),
            );
            if (moveKey) done.push(`lookup key back on ${previous.id}`);
            if (reactivate) done.push(`${previous.id} reactivated`);
          }
          const owner = before.productId;
          if (
            owner &&
            before.productDefaultPrice === previous.id &&
            productDefaults.get(owner) !== previous.id
          ) {
            await stripeCall(scope, `restoring the default price of ${owner}`, () =>
              stripe.updateProduct(owner, { default_price: previous.id }, idem(`product-default:${code}`)),
            );
            productDefaults.set(owner, previous.id);
            done.push(`default price of ${owner} back to ${previous.id}`);
          }
        } else if (result?.priceAction === 'lookup_key_assigned') {
          // No price held the key before: the price it was given to loses it again.
          const assigned = await priceById(result.priceId);
          if (assigned.lookup_key === lookupKey) {
            await stripeCall(scope, `removing ${lookupKey} from ${assigned.id}`, () =>
              stripe.updatePrice(assigned.id, { lookup_key: '' }, idem(`price-unkey:${code}`)),
            );
            done.push(`lookup key removed from ${assigned.id}`);
          }
        }

        let manual: string | null = null;
        for (const id of createdPrices) {
          const price = await priceById(id);
          if (!price.active) continue;
          if (productDefaults.get(price.product) === id) {
            manual = `${id} is the default price of ${price.product}: choose another default price in the Stripe Dashboard, then archive ${id}`;
            continue;
          }
          await stripeCall(scope, `archiving ${id}`, () =>
            stripe.updatePrice(id, { active: false }, idem(`price-archive:${id}`)),
          );
          done.push(`archived ${id}`);
        }
        for (const id of createdProducts) {
          if (products.find((p) => p.id === id)?.active === false) continue;
          await stripeCall(scope, `archiving ${id}`, () =>
            stripe.updateProduct(id, { active: false }, idem(`product-archive:${id}`)),
          );
          done.push(`archived ${id}`);
        }
        const renamed =
          before?.productId && !createdProducts.has(before.productId)
            ? products.find((p) => p.id === before.productId)
            : undefined;
        if (
          before &&
          renamed &&
          (result?.productAction === 'renamed' || `stripe:${code}:intent:product-update` in journal)
        ) {
          const name = before.productName ?? renamed.name;
          const restore = {
            ...(renamed.name !== name ? { name } : {}),
            ...(renamed.active !== before.productActive ? { active: before.productActive } : {}),
          };
          if (Object.keys(restore).length > 0) {
            await stripeCall(scope, `restoring ${renamed.id}`, () =>
              stripe.updateProduct(renamed.id, restore, idem(`product-restore:${code}`)),
            );
            if (restore.name !== undefined) done.push(`renamed ${renamed.id} back`);
            if (restore.active === false) done.push(`${renamed.id} archived again`);
          }
        }
        records.push({
          name: `stripe:${code}`,
          status: manual ? 'failed' : done.length ? 'success' : 'skipped',
          detail: done.join('; ') || 'nothing this release created',
          manual_action: manual,
        });
      }
      return records;
    },
  };
}
