import { ErrorType } from '../release/errors';
import { evaluatePlans, type PlanRowInput } from '../release/plans';
import type { BillingPlanRow } from '../release/types';
import type { ActivityDeps, DbClient } from './deps';
import { failure, readScope, withDb, type SecretScope } from './support';

/** Turns "no such table/column" into an error that says which migration is missing. */
export async function planQuery<R extends object>(db: DbClient, scope: SecretScope, sql: string, params?: unknown[]) {
  try {
    return await db.query<R>(sql, params);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '42P01' || code === '42703') {
      throw failure(
        ErrorType.BillingPlansTableInvalid,
        `billing_plans is not in the expected shape (${(error as Error).message}): run the backend migrations that add it and its stripe_price_id column`,
        scope,
      );
    }
    throw error;
  }
}

export function createBillingPlanActivities(deps: ActivityDeps) {
  return {
    /**
     * The runbook's post-run check: every catalog plan has a row, is active, and has a Stripe
     * price id. Returns the statuses; the workflow decides that a non-ok plan fails the step,
     * so the plan list is recorded either way.
     */
    async verifyBillingPlans(input: { codes: string[] }): Promise<BillingPlanRow[]> {
      const scope = await readScope(deps);
      return withDb(deps, scope, async (db) => {
        const { rows } = await planQuery<PlanRowInput>(
          db,
          scope,
          'select code, stripe_price_id, is_active from billing_plans order by code',
        );
        return evaluatePlans(input.codes, rows);
      });
    },
  };
}
