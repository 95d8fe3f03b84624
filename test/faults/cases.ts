/**
 * Every fault case of the suite, with the fix it depends on. The closing table lists these; a
 * case that recorded no result (it timed out or crashed) counts as failed.
 */
import type { CaseSpec } from './support/fault-case';
import { deactivateStarter, hungTable, quickTable, slowTable } from './support/migrations';

type Spec = Omit<CaseSpec, 'cluster' | 'temporalAddress'>;

const MIGRATE_GUARD = 'migrate: advisory-lock guard + process-tree kill';
const RETRY_BUDGET = 'integrator: retry budgets that ride out 2-minute outages';
const STRIPE_TAGS = 'stripe: release tags + intent journal';
const STRIPE_KEYS = 'stripe: idempotency keys a retry after 5xx can use (+ stricter peer)';

export const CASES = {
  killPreflight: {
    id: 'kill-preflight',
    title: 'worker SIGKILL at preflight',
    dependsOn: 'none (checks startToClose 2 min)',
    migrations: [quickTable('20251201_000001', 'fault_kill_preflight')],
  },
  killMigration: {
    id: 'kill-migration',
    title: 'worker SIGKILL 60 s migration in flight',
    dependsOn: MIGRATE_GUARD,
    migrations: [slowTable('20251201_000001', 'fault_kill_migration', 60)],
  },
  killBeforeStripe: {
    id: 'kill-before-stripe',
    title: 'worker SIGKILL after alembic current, before Stripe',
    dependsOn: 'none (stripe heartbeat timeout 1 min)',
    migrations: [quickTable('20251201_000001', 'fault_kill_before_stripe')],
  },
  killStripeCreate: {
    id: 'kill-stripe-create',
    title: 'worker SIGKILL, Stripe create-price answer in flight; then release rollback',
    dependsOn: STRIPE_TAGS,
    migrations: [quickTable('20251201_000001', 'fault_kill_stripe_create')],
  },
  killPriceSync: {
    id: 'kill-price-sync',
    title: 'worker SIGKILL during price-id sync (.env.local written, DB update waiting)',
    dependsOn: 'none (checks startToClose 2 min)',
    migrations: [quickTable('20251201_000001', 'fault_kill_price_sync')],
  },
  killAtGate: {
    id: 'kill-at-gate',
    title: 'worker SIGKILL while waiting at the approval gate',
    dependsOn: 'none',
    migrations: [quickTable('20251201_000001', 'fault_kill_gate')],
    approval: true,
  },
  killCompensation: {
    id: 'kill-compensation',
    title: 'worker SIGKILL during compensation (Stripe archive in flight)',
    dependsOn: STRIPE_TAGS,
    migrations: [
      quickTable('20251201_000001', 'fault_kill_compensation'),
      deactivateStarter('20251201_000002'),
    ],
  },
  temporalAtGate: {
    id: 'temporal-gate',
    title: 'Temporal server SIGKILL + restart at the gate',
    dependsOn: 'none',
    migrations: [quickTable('20251201_000001', 'fault_temporal_gate')],
    approval: true,
  },
  temporalMidMigration: {
    id: 'temporal-migration',
    title: 'Temporal server SIGKILL + restart mid-migration',
    dependsOn: 'none',
    migrations: [slowTable('20251201_000001', 'fault_temporal_migration', 20)],
  },
  pgShortPreflight: {
    id: 'pg-short-preflight',
    title: 'Postgres down 20 s at preflight',
    dependsOn: RETRY_BUDGET,
    migrations: [quickTable('20251201_000001', 'fault_pg_short_preflight')],
  },
  pgLongPreflight: {
    id: 'pg-long-preflight',
    title: 'Postgres down for good at preflight: clean failure',
    dependsOn: 'none',
    migrations: [quickTable('20251201_000001', 'fault_pg_long_preflight')],
  },
  pgShortMigration: {
    id: 'pg-short-migration',
    title: 'Postgres down 20 s mid-migration',
    dependsOn: RETRY_BUDGET,
    migrations: [slowTable('20251201_000001', 'fault_pg_short_migration', 15)],
  },
  pgLongMigration: {
    id: 'pg-long-migration',
    title: 'Postgres down for good mid-migration: clean failure',
    dependsOn: 'none',
    migrations: [slowTable('20251201_000001', 'fault_pg_long_migration', 15)],
  },
  stripeBurst: {
    id: 'stripe-burst',
    title: 'Stripe 429, 503, 500 on create-price, then recovers',
    dependsOn: STRIPE_KEYS,
    migrations: [quickTable('20251201_000001', 'fault_stripe_burst')],
  },
  stripeLongBurst: {
    id: 'stripe-long-burst',
    title: 'Stripe 429x3, 503x2, 500x3 on create-price',
    dependsOn: `${STRIPE_TAGS}; ${STRIPE_KEYS}`,
    migrations: [quickTable('20251201_000001', 'fault_stripe_long_burst')],
  },
  stripePermanent: {
    id: 'stripe-permanent',
    title: 'Stripe 500 on every create-price: rolled back, nothing leaked',
    dependsOn: STRIPE_TAGS,
    migrations: [quickTable('20251201_000001', 'fault_stripe_permanent')],
  },
  stripeBadKey: {
    id: 'stripe-bad-key',
    title: 'Stripe rejects the key (401): clean failure, key never printed',
    dependsOn: 'none',
    migrations: [quickTable('20251201_000001', 'fault_stripe_bad_key')],
  },
  hungMigration: {
    id: 'hung-migration',
    title: 'hung migration: release cancel kills the whole migrate process tree',
    dependsOn: `${MIGRATE_GUARD}; integrator: cancel -> cancelled`,
    migrations: [hungTable('20251201_000001', 'fault_hung')],
  },
} satisfies Record<string, Spec>;

export const CASE_LIST: Spec[] = Object.values(CASES);
