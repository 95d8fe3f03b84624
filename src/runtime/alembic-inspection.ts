import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DowngradeReadiness, PendingRevision } from '../release/types';
import { meaningfulLines } from '../release/alembic-output';
import type { DbClient } from '../activities/deps';

export { currentOutput, parseHeads, revisionId } from '../release/alembic-output';

/**
 * `alembic history -r A:B` prints newest first, `<down> -> <rev> (head), <message>`; the result is in
 * apply order, without the revision the database is already at.
 */
export function parseHistory(stdout: string, current: string | null): PendingRevision[] {
  const out: PendingRevision[] = [];
  for (const line of meaningfulLines(stdout)) {
    const match = /^(.+?)\s+->\s+([A-Za-z0-9_]+)(?:\s+\([^)]*\))*,\s*(.*)$/.exec(line);
    if (!match) continue;
    const revision = match[2] as string;
    if (revision === current) continue;
    out.push({ revision, message: (match[3] ?? '').trim() });
  }
  return out.reverse();
}

const readinessSchema = z.object({
  status: z.enum(['ok', 'raises', 'empty', 'unknown']),
  detail: z.string().nullable(),
});

/** The document tools/alembic_inspect.py prints (format db-release-alembic-inspect/1). */
const inspectionSchema = z.object({
  format: z.literal('db-release-alembic-inspect/1'),
  alembic_version: z.string(),
  heads: z.array(z.string()),
  current: z.array(z.string()),
  unknown_current: z.array(z.string()),
  revisions: z.array(
    z.object({
      revision: z.string(),
      down_revisions: z.array(z.string()),
      depends_on: z.array(z.string()),
      branch_labels: z.array(z.string()),
      is_merge: z.boolean(),
      is_branch_point: z.boolean(),
      message: z.string(),
      downgrade_body: z.enum(['code', 'pass', 'raises', 'missing']),
    }),
  ),
  pending: z.array(z.string()),
  /** `static`: a database at the head, read from the scripts' declarations without importing Alembic. */
  reader: z.literal('static').optional(),
  /** Where the graph was read from and its content hash (inspectors before issue 15's cache: absent). */
  sources: z
    .object({
      config_files: z.array(z.string()),
      version_dirs: z.array(z.string()),
      fingerprint: z.string().nullable(),
    })
    .optional(),
  sql: z
    .object({
      dialect: z.string(),
      upgrade: z.string(),
      upgrade_errors: z.record(z.string(), z.string()),
      downgrades: z.record(z.string(), readinessSchema),
    })
    .optional(),
});
export type AlembicInspection = z.infer<typeof inspectionSchema>;

/** How the inspector's SQL document line starts (json.dumps with sort_keys: "format" comes first). */
const SQL_DOCUMENT_START = /^\{"format":\s*"db-release-alembic-sql\//;

const inspectorErrorSchema = z.object({
  error: z.enum(['alembic_not_importable', 'script_unusable']),
  detail: z.string(),
});

export type InspectorOutput =
  | { ok: true; inspection: AlembicInspection }
  | { ok: false; error: 'alembic_not_importable' | 'script_unusable' | 'unreadable'; detail: string };

/**
 * Reads the inspector's stdout (one JSON document, possibly after noise a broken env printed).
 * With --upgrade-sql the SQL document follows it on its own line: that one is read elsewhere.
 */
export function parseInspection(stdout: string): InspectorOutput {
  const line = stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{') && !SQL_DOCUMENT_START.test(l))
    .at(-1);
  let json: unknown;
  try {
    json = JSON.parse(line ?? '');
  } catch {
    return {
      ok: false,
      error: 'unreadable',
      detail: `the inspector printed no JSON document: ${stdout.trim().slice(-300) || '(nothing)'}`,
    };
  }
  const error = inspectorErrorSchema.safeParse(json);
  if (error.success) return { ok: false, ...error.data };
  const parsed = inspectionSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      error: 'unreadable',
      detail: `the inspector's document is not the expected shape (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`,
    };
  }
  return { ok: true, inspection: parsed.data };
}

/**
 * The pending revisions in apply order with what the approver needs about each: its place in the
 * graph (merge, branch point, parents, dependencies) and whether its downgrade can run.
 */
export function pendingRevisionsOf(inspection: AlembicInspection): PendingRevision[] {
  const byId = new Map(inspection.revisions.map((r) => [r.revision, r]));
  return inspection.pending.map((id) => {
    const r = byId.get(id);
    const readiness = inspection.sql?.downgrades[id] ?? downgradeFromBody(r?.downgrade_body);
    return {
      revision: id,
      message: r?.message ?? '',
      downRevisions: r?.down_revisions ?? [],
      dependsOn: r?.depends_on ?? [],
      isMerge: r?.is_merge ?? false,
      isBranchPoint: r?.is_branch_point ?? false,
      downgrade: readiness,
    };
  });
}

/** Without the offline render (no --sql), the static reading of the body is all there is. */
function downgradeFromBody(
  body: AlembicInspection['revisions'][number]['downgrade_body'] | undefined,
): DowngradeReadiness {
  switch (body) {
    case 'raises':
      return { status: 'raises', detail: 'downgrade() only raises' };
    case 'pass':
      return { status: 'empty', detail: 'downgrade() is `pass`' };
    default:
      return { status: 'unknown', detail: 'not rendered offline' };
  }
}

/** The inspector shipped with the package: tools/ beside src/ in a checkout, beside dist/ once built. */
export function inspectorScript(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'tools', INSPECTOR_FILE);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(
    `${INSPECTOR_FILE} not found above ${__dirname}: the package is incomplete (package.json "files" ships tools/)`,
  );
}
const INSPECTOR_FILE = 'alembic_inspect.py';

/** The version table as SQL: each part quoted, so a configured "schema.table" is read as written. */
function quotedTable(table: string): string {
  return table
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}

/**
 * Every row of the version table, sorted: the database's revision set, read without Python. A
 * missing table is a database Alembic never touched: the empty set (base).
 */
export async function readRevisionSet(db: DbClient, versionTable: string): Promise<string[]> {
  const table = quotedTable(versionTable);
  const exists = await db.query<{ found: string | null }>('select to_regclass($1)::text as found', [table]);
  if (!exists.rows[0]?.found) return [];
  const { rows } = await db.query<{ version_num: string }>(`select version_num from ${table}`);
  return rows.map((r) => r.version_num).sort();
}
