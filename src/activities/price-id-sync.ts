import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { rewriteEnvText } from '../config/env-local';
import type { ReleaseConfig } from '../config/release-config';
import type { CompensationRecord, PriceIdSyncResult } from '../release/types';
import { billingPlansShape, planQuery, quoteIdent, type BillingPlansShape } from './billing-plans';
import type { ActivityDeps } from './deps';
import {
  journalEntry,
  readJournal,
  readScope,
  rememberOnce,
  withDb,
  withDbOnDemand,
  type JournalRef,
} from './support';

const SYNCED_KEYS = ['STRIPE_PRODUCT_PRICE_MAP', 'ENABLE_BILLING'] as const;

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The raw line of each synced key in `.env.local` (non-secret keys only), so a rollback restores it exactly. */
function linesOf(text: string | null): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const key of SYNCED_KEYS) {
    const line = text?.split(/(?<=\n)/).find((l) => new RegExp(`^\\s*(?:export\\s+)?${key}\\s*=`).test(l));
    out[key] = line ?? null;
  }
  return out;
}

function sha256(text: string | null): string | null {
  return text === null ? null : createHash('sha256').update(text).digest('hex');
}

/** `update billing_plans set <column> = $2[, updated_at = now()]`: updated_at only where the table has it. */
function setPriceId(shape: ColumnJournal): string {
  const column = quoteIdent(shape.priceIdColumn ?? 'stripe_price_id');
  return `update billing_plans set ${column} = $2${shape.hasUpdatedAt ? ', updated_at = now()' : ''}`;
}

const envBeforeSchema = z.object({
  existed: z.boolean(),
  lines: z.record(z.string(), z.string().nullable()),
  hash: z.string().nullable(),
  /** Whether the file ended without a newline (appending adds one). */
  endedWithoutNewline: z.boolean(),
});
type EnvBefore = z.infer<typeof envBeforeSchema>;

/**
 * The env file the sync writes: the backend's first env file (`envFiles[0]` once the config names
 * them, `.env.local` by default), the highest-precedence one, so what it writes is what the backend reads.
 */
function syncedEnvFileName(config: ReleaseConfig): string {
  // Read structurally: `envFiles` belongs to the layout settings and may be absent from the schema.
  const envFiles = (config as { envFiles?: unknown }).envFiles;
  return Array.isArray(envFiles) && typeof envFiles[0] === 'string' ? envFiles[0] : '.env.local';
}

/** Where the ids went in billing_plans (journaled before the first write, so the restore writes the same column). */
type ColumnJournal = BillingPlansShape;
const columnSchema: z.ZodType<ColumnJournal> = z.object({
  priceIdColumn: z.string().nullable(),
  hasUpdatedAt: z.boolean(),
});
/** billing_plans' price id per plan code before the release (null: the row had none). */
const previousPriceIdsSchema = z.record(z.string(), z.string().nullable());

export interface SyncPriceIdsInput {
  priceMap: Record<string, string>;
  /** `--skip-db-checks`: billing_plans is neither read nor written. Absent in workflows recorded before. */
  skipDbWrites?: boolean;
}

export function createPriceIdSyncActivities(deps: ActivityDeps) {
  return {
    /**
     * Writes the new price ids where the backend reads them: `STRIPE_PRODUCT_PRICE_MAP` (compact
     * JSON) and `ENABLE_BILLING=true` in `.env.local`, every other line kept byte for byte, and
     * billing_plans' price id column when the backend has one (`billingPlans.priceIdColumn`).
     * What was there before is journaled for the rollback.
     */
    async syncPriceIds(input: SyncPriceIdsInput): Promise<PriceIdSyncResult> {
      const scope = await readScope(deps);
      const config = await deps.loadConfig();
      const envName = syncedEnvFileName(config);
      const envFile = path.resolve(deps.projectRoot, envName);
      const envBefore = await rememberOnce<EnvBefore>(
        deps,
        'env-local:before',
        async () => {
          const text = await readIfExists(envFile);
          return {
            existed: text !== null,
            lines: linesOf(text),
            hash: sha256(text),
            endedWithoutNewline: text !== null && text !== '' && !text.endsWith('\n'),
          };
        },
        envBeforeSchema,
      );
      const codes = Object.keys(input.priceMap);
      // One connection for the whole step, opened only if something below needs the database.
      const { column, previousPriceIds, next, rowsUpdated } = await withDbOnDemand(
        deps,
        scope,
        async (db) => {
          // Settled once per run: a retry writes (and the restore undoes) the same column.
          const shape: ColumnJournal | null = input.skipDbWrites
            ? null
            : await rememberOnce<ColumnJournal>(
                deps,
                'billing-plans:column',
                () => db((c) => billingPlansShape(c, scope, config.billingPlans.priceIdColumn)),
                columnSchema,
              );
          const column = shape?.priceIdColumn ?? null;
          const previousPriceIds = column
            ? await rememberOnce<Record<string, string | null>>(
                deps,
                'billing-plans:before',
                () =>
                  db(async (c) => {
                    const { rows } = await planQuery<{ code: string; stripe_price_id: string | null }>(
                      c,
                      scope,
                      `select code, ${quoteIdent(column)}::text as stripe_price_id from billing_plans where code = any($1)`,
                      [codes],
                    );
                    return Object.fromEntries(rows.map((r) => [r.code, r.stripe_price_id]));
                  }),
                previousPriceIdsSchema,
              )
            : {};

          const current = (await readIfExists(envFile)) ?? '';
          const next = rewriteEnvText(current, {
            STRIPE_PRODUCT_PRICE_MAP: JSON.stringify(input.priceMap),
            ENABLE_BILLING: 'true',
          });
          if (next !== current) await writeFile(envFile, next, { mode: 0o600 });

          const rowsUpdated =
            column === null || shape === null
              ? 0
              : await db(async (c) => {
                  let updated = 0;
                  for (const [code, priceId] of Object.entries(input.priceMap)) {
                    const result = await planQuery(
                      c,
                      scope,
                      `${setPriceId(shape)} where code = $1 and ${quoteIdent(column)} is distinct from $2`,
                      [code, priceId],
                    );
                    updated += result.rowCount ?? 0;
                  }
                  return updated;
                });
          return { column, previousPriceIds, next, rowsUpdated };
        },
      );
      const unquote = (line: string | null) => line?.replace(/^[^=]*=/, '').trim() ?? null;
      return {
        envFile: envName,
        envFileChanged: envBefore.hash !== sha256(next),
        previousEnv: {
          STRIPE_PRODUCT_PRICE_MAP: unquote(envBefore.lines.STRIPE_PRODUCT_PRICE_MAP ?? null),
          ENABLE_BILLING: unquote(envBefore.lines.ENABLE_BILLING ?? null),
        },
        previousPriceIds,
        rowsUpdated,
        priceIdColumn: column,
      };
    },

    /** Compensation for syncPriceIds: the env file and billing_plans' price id column (when written) as they were. */
    async restorePriceIds(input: { journal?: JournalRef } = {}): Promise<CompensationRecord[]> {
      const scope = await readScope(deps);
      const envName = syncedEnvFileName(await deps.loadConfig());
      const envFile = path.resolve(deps.projectRoot, envName);
      const journal = await readJournal(deps, input.journal);
      const before = journalEntry(journal, 'env-local:before', envBeforeSchema) ?? null;
      const previousPriceIds = journalEntry(journal, 'billing-plans:before', previousPriceIdsSchema);
      // Journals from before the column was configurable wrote stripe_price_id (and updated_at).
      const shape = journalEntry(journal, 'billing-plans:column', columnSchema) ?? {
        priceIdColumn: 'stripe_price_id',
        hasUpdatedAt: true,
      };
      const records: CompensationRecord[] = [];
      if (before) {
        const current = await readIfExists(envFile);
        if (!before.existed) {
          await rm(envFile, { force: true });
        } else if (current !== null) {
          let restored = current
            .split(/(?<=\n)/)
            .map((line) => {
              const key = SYNCED_KEYS.find((k) => new RegExp(`^\\s*(?:export\\s+)?${k}\\s*=`).test(line));
              if (!key) return line;
              return before.lines[key] ?? '';
            })
            .join('');
          if (before.endedWithoutNewline && restored.endsWith('\n'))
            restored = restored.replace(/\r?\n$/, '');
          await writeFile(envFile, restored, { mode: 0o600 });
        }
        const after = sha256(await readIfExists(envFile));
        const identical = after === before.hash;
        records.push({
          name: 'env_file',
          status: identical ? 'success' : 'failed',
          detail: identical
            ? `${envName} restored byte for byte`
            : `${envName} changed since the release read it`,
          manual_action: identical
            ? null
            : `check STRIPE_PRODUCT_PRICE_MAP and ENABLE_BILLING in ${envName} against the previous release summary`,
        });
      }
      const column = shape.priceIdColumn;
      if (previousPriceIds === undefined || column === null) {
        // Nothing was written there (no price id column, --skip-db-checks, or the sync never reached it).
        records.push({
          name: 'billing_plans',
          status: 'skipped',
          detail:
            column === null
              ? `no price id column: the ids live only in ${envName}`
              : 'this release wrote no price id to billing_plans',
          manual_action: null,
        });
        return records;
      }
      await withDb(deps, scope, async (db) => {
        for (const [code, priceId] of Object.entries(previousPriceIds)) {
          await planQuery(db, scope, `${setPriceId(shape)} where code = $1`, [code, priceId]);
        }
      });
      records.push({
        name: 'billing_plans',
        status: 'success',
        detail: `${column} restored for ${Object.keys(previousPriceIds).join(', ') || 'no plans'}`,
        manual_action: null,
      });
      return records;
    },
  };
}
