/**
 * The activity side of the SQL review: reads the rendered SQL the inspector printed after its
 * inspection (tools/alembic_inspect.py --upgrade-sql), lints it with Squawk, applies the policy.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  boundSql,
  decideSqlReview,
  flagsFromSquawk,
  type RevisionSql,
  type SqlFlag,
  type SqlReview,
  type SqlReviewPolicy,
} from '../release/sql-review';
import { stampOf } from '../runtime/warm-process';
import type { ActivityDeps } from './deps';

const renderedSchema = z.object({
  format: z.literal('db-release-alembic-sql/1'),
  unavailable: z.string().nullable(),
  revisions: z.record(
    z.string(),
    z.object({
      upgrade: z.string().nullable(),
      upgrade_unavailable: z.string().nullable(),
      downgrade: z.string().nullable(),
      downgrade_unavailable: z.string().nullable(),
    }),
  ),
});
export type RenderedSql = z.infer<typeof renderedSchema>;

/** The inspector's SQL document (the line after the inspection), or why there is none. */
export function parseRenderedSql(
  stdout: string,
): { ok: true; rendered: RenderedSql } | { ok: false; why: string } {
  for (const line of stdout.split(/\r?\n/).reverse()) {
    const text = line.trim();
    if (!text.startsWith('{') || !text.includes('db-release-alembic-sql/1')) continue;
    try {
      const parsed = renderedSchema.safeParse(JSON.parse(text));
      if (parsed.success) return { ok: true, rendered: parsed.data };
      return { ok: false, why: 'the inspector printed an SQL document of an unexpected shape' };
    } catch {
      return { ok: false, why: 'the inspector printed an unreadable SQL document' };
    }
  }
  return { ok: false, why: 'the inspector printed no SQL document' };
}

/** Each pending revision's SQL, in apply order; a revision the document lacks is unavailable, saying why. */
export function revisionsSql(
  pending: readonly string[],
  rendered: RenderedSql | null,
  why: string | null,
): RevisionSql[] {
  return pending.map((revision) => {
    const r = rendered?.revisions[revision];
    const missing = why ?? rendered?.unavailable ?? 'not in the rendered document';
    return {
      revision,
      upgrade: r?.upgrade ?? null,
      upgradeUnavailable: r ? r.upgrade_unavailable : missing,
      downgrade: r?.downgrade ?? null,
      downgradeUnavailable: r ? r.downgrade_unavailable : missing,
    };
  });
}

/**
 * The SQL as kept in the plan and the summary (both travel in workflow history): each text bounded,
 * and past a total budget the rest cut to its first lines. Linting happens before, on the whole SQL.
 */
export function keptSql(revisions: readonly RevisionSql[], perText = 32_000, total = 400_000): RevisionSql[] {
  let used = 0;
  const keep = (sql: string | null): string | null => {
    const bounded = boundSql(sql, Math.max(2_000, Math.min(perText, total - used)));
    used += bounded?.length ?? 0;
    return bounded;
  };
  return revisions.map((r) => ({ ...r, upgrade: keep(r.upgrade), downgrade: keep(r.downgrade) }));
}

/** Squawk: DB_RELEASE_SQUAWK, else the tool venv's (scripts/install-tools.sh), else `squawk` on PATH. */
export function squawkExecutable(): string {
  if (process.env.DB_RELEASE_SQUAWK) return process.env.DB_RELEASE_SQUAWK;
  const tools = process.env.DB_RELEASE_TOOLS_DIR;
  const candidates: string[] = tools ? [path.join(tools, 'venv', 'bin', 'squawk')] : [];
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    candidates.push(path.join(dir, '.tools', 'venv', 'bin', 'squawk'));
    dir = path.dirname(dir);
  }
  return candidates.find((c) => existsSync(c)) ?? 'squawk';
}

const SQUAWK_TIMEOUT_MS = 60_000;

/**
 * `squawk --version` per executable, kept while the file is the same (size and mtime): one process
 * less per release. Kept per command runner, so a runner standing in for the real one (tests) asks afresh.
 */
const squawkVersions = new WeakMap<ActivityDeps['run'], Map<string, string>>();

/** The version squawk prints, or null when it is not there or does not run. */
async function squawkVersion(
  deps: ActivityDeps,
  squawk: string,
  env: Record<string, string>,
): Promise<string | null> {
  // A bare name on PATH is not kept: it is asked each time.
  const stamp = path.isAbsolute(squawk) ? stampOf(squawk) : null;
  const key = stamp ? `${squawk}\0${stamp}` : null;
  let versions = squawkVersions.get(deps.run);
  if (!versions) squawkVersions.set(deps.run, (versions = new Map<string, string>()));
  const known = key ? versions.get(key) : undefined;
  if (known !== undefined) return known;
  const ran = await deps.run({
    command: [squawk, '--version'],
    cwd: os.tmpdir(),
    env,
    timeoutMs: SQUAWK_TIMEOUT_MS,
  });
  if (ran.notFound || ran.exitCode !== 0) return null;
  const version = ran.stdout.trim();
  if (key) versions.set(key, version);
  return version;
}

/** Lints each revision's upgrade SQL (one file per revision, one squawk process); flags, or why not linted. */
export async function lintWithSquawk(
  deps: ActivityDeps,
  revisions: readonly RevisionSql[],
): Promise<{ flags: SqlFlag[]; version: string | null; unavailable: string | null }> {
  const withSql = revisions.filter((r) => r.upgrade);
  if (withSql.length === 0)
    return { flags: [], version: null, unavailable: revisions.length ? 'no SQL to lint' : null };
  const squawk = squawkExecutable();
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir() };
  const version = await squawkVersion(deps, squawk, env);
  if (version === null) {
    return {
      flags: [],
      version: null,
      unavailable: `squawk is not installed (${squawk}): run \`npm run tools\` (scripts/install-tools.sh) or set DB_RELEASE_SQUAWK`,
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'db-release-sql-'));
  try {
    const files = new Map<string, { revision: string; sql: string }>();
    for (const [i, r] of withSql.entries()) {
      const file = `${String(i + 1).padStart(3, '0')}_${r.revision.replace(/[^A-Za-z0-9_.-]/g, '_')}.sql`;
      await writeFile(path.join(dir, file), r.upgrade ?? '');
      files.set(file, { revision: r.revision, sql: r.upgrade ?? '' });
    }
    const result = await deps.run({
      command: [squawk, '--reporter', 'json', ...files.keys()],
      cwd: dir,
      env,
      timeoutMs: SQUAWK_TIMEOUT_MS,
    });
    const versionText = version || null;
    // Squawk exits 1 when it found something: the JSON is the verdict, the exit code is not.
    if (result.timedOut)
      return {
        flags: [],
        version: versionText,
        unavailable: `squawk ran past ${SQUAWK_TIMEOUT_MS / 1000} s and was stopped`,
      };
    try {
      return {
        flags: flagsFromSquawk(
          result.stdout,
          files,
          withSql.map((r) => r.revision),
        ),
        version: versionText,
        unavailable: null,
      };
    } catch (error) {
      return {
        flags: [],
        version: versionText,
        unavailable: `squawk's output is unreadable (${(error as Error).message}): ${result.stderr.trim().slice(-300)}`,
      };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The whole review from what the inspector printed: SQL per revision, flags, the policy's decision. */
export async function reviewSql(
  deps: ActivityDeps,
  input: { pending: readonly string[]; stdout: string | null; why: string | null; policy: SqlReviewPolicy },
): Promise<SqlReview> {
  const read = input.stdout === null ? null : parseRenderedSql(input.stdout);
  const why = input.why ?? (read && !read.ok ? read.why : null);
  const rendered = read?.ok ? read.rendered : null;
  const revisions = revisionsSql(input.pending, rendered, why);
  const lint = input.pending.length
    ? await lintWithSquawk(deps, revisions)
    : { flags: [], version: null, unavailable: null };
  const missing = revisions.filter((r) => r.upgrade === null);
  const unavailable = why ?? rendered?.unavailable ?? null;
  const coverage = {
    complete: missing.length === 0 && lint.unavailable === null,
    why:
      unavailable ??
      (missing.length ? `no SQL for ${missing.map((r) => r.revision).join(', ')}` : lint.unavailable),
  };
  return {
    revisions: keptSql(revisions),
    unavailable,
    flags: lint.flags,
    lint: { tool: 'squawk', version: lint.version, unavailable: lint.unavailable },
    policy: input.policy,
    decision: decideSqlReview(lint.flags, input.policy, coverage),
  };
}
