/**
 * The revision state as a set (issue 12 item 1) and rollback readiness (item 5), without a
 * database: the inspector's JSON read into pending revisions, and the downgrade plan for a set.
 * The fixture is what tools/alembic_inspect.py printed for a branched script: r0 branches into
 * a (a1 → a2) and b (b1 → b2), merged by m1 whose downgrade raises; b2 is a no-op revision.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { venvBin } from '../../src/devstack/paths';
import { planDigest } from '../../src/release/plan-digest';
import { parseInspection, pendingRevisionsOf } from '../../src/runtime/alembic-inspection';
import {
  appliedOf,
  describeRevision,
  downgradeBlocker,
  downgradeCommands,
  downgradeTargets,
  revisionNotes,
  revisionSetOf,
  revisionSetText,
  sameRevisionSet,
  setText,
  summaryRevisionSets,
} from '../../src/release/revisions';

const BRANCHED = readFileSync(
  path.join(__dirname, '..', 'fixtures', 'alembic-inspect-branched.json'),
  'utf8',
);

function inspection() {
  const read = parseInspection(BRANCHED);
  if (!read.ok) throw new Error(`fixture unreadable: ${read.detail}`);
  return read.inspection;
}

describe('the inspector document', () => {
  test('is read with its heads, graph and pending revisions', () => {
    const doc = inspection();
    expect(doc.heads).toEqual(['m1']);
    expect(doc.current).toEqual(['a1', 'b1']);
    expect(doc.revisions.find((r) => r.revision === 'm1')).toMatchObject({
      is_merge: true,
      down_revisions: ['a2', 'b2'],
      downgrade_body: 'raises',
    });
    expect(doc.revisions.find((r) => r.revision === 'r0')).toMatchObject({ is_branch_point: true });
  });

  test('noise printed before the document (an application that prints at import) is skipped', () => {
    const read = parseInspection(`loading settings...\n${BRANCHED}`);
    expect(read.ok).toBe(true);
  });

  test('the interpreter without alembic is reported as such, for the CLI fallback', () => {
    const read = parseInspection(
      '{"format": "db-release-alembic-inspect/1", "error": "alembic_not_importable", "detail": "ModuleNotFoundError: No module named \'alembic\'", "python": "/usr/bin/python3"}\n',
    );
    expect(read).toEqual({
      ok: false,
      error: 'alembic_not_importable',
      detail: "ModuleNotFoundError: No module named 'alembic'",
    });
  });

  test('no JSON, or another shape, is unreadable and says what it got', () => {
    const none = parseInspection('Traceback (most recent call last):\n  ...\nImportError: app');
    expect(none).toMatchObject({ ok: false, error: 'unreadable' });
    if (!none.ok) expect(none.detail).toContain('ImportError: app');
    const shape = parseInspection('{"format": "db-release-alembic-inspect/1", "heads": "m1"}');
    expect(shape).toMatchObject({ ok: false, error: 'unreadable' });
  });
});

describe('pending revisions of a branched database', () => {
  test('everything between the set {a1, b1} and the heads, in apply order, with graph roles and readiness', () => {
    const pending = pendingRevisionsOf(inspection());
    expect(pending.map((r) => r.revision)).toEqual(['b2', 'a2', 'm1']);
    // Both branches' revisions are pending (one row only would have missed b2: issue 12 case 1).
    expect(pending.find((r) => r.revision === 'm1')).toEqual({
      revision: 'm1',
      message: 'merge',
      downRevisions: ['a2', 'b2'],
      dependsOn: [],
      isMerge: true,
      isBranchPoint: false,
      downgrade: { status: 'raises', detail: 'RuntimeError: merge cannot be undone' },
    });
    expect(pending.find((r) => r.revision === 'a2')?.downgrade).toEqual({ status: 'ok', detail: null });
    // A no-op revision (upgrade and downgrade both `pass`) has nothing to undo: ready.
    expect(pending.find((r) => r.revision === 'b2')?.downgrade?.status).toBe('ok');
  });

  test('every pending revision comes after all its parents', () => {
    const doc = inspection();
    const pending = pendingRevisionsOf(doc);
    const position = new Map(pending.map((r, i) => [r.revision, i]));
    for (const r of pending) {
      for (const parent of r.downRevisions ?? []) {
        if (position.has(parent)) expect(position.get(parent)).toBeLessThan(position.get(r.revision) ?? -1);
      }
    }
  });

  test('the merge whose downgrade raises blocks the compensation once it is applied, not before', () => {
    const pending = pendingRevisionsOf(inspection());
    expect(downgradeBlocker(pending)).toBe('m1 (downgrade raises: RuntimeError: merge cannot be undone)');
    // A release that failed after a2 (m1 not applied): the downgrade can run.
    expect(appliedOf(pending, ['a2', 'b1']).map((r) => r.revision)).toEqual(['a2']);
    expect(downgradeBlocker(appliedOf(pending, ['a2', 'b1']))).toBeNull();
    // At m1: all three applied, m1 among them.
    expect(appliedOf(pending, ['m1']).map((r) => r.revision)).toEqual(['b2', 'a2', 'm1']);
  });

  test('the approval plan line names merges and a downgrade that is not ready', () => {
    const pending = pendingRevisionsOf(inspection());
    expect(pending.map((r) => describeRevision(r))).toEqual([
      'b2 b2',
      'a2 a2',
      'm1 merge [merge of a2 + b2] (downgrade raises: RuntimeError: merge cannot be undone)',
    ]);
    // A revision recorded before the set existed reads as it always did.
    expect(describeRevision({ revision: 'r2', message: 'add tier' })).toBe('r2 add tier');
  });
});

describe('the downgrade plan for a set', () => {
  test('one downgrade per member not already a row; the other branch is left alone by Alembic', () => {
    expect(downgradeTargets(['a1', 'b1'], ['m1'])).toEqual(['a1', 'b1']);
    expect(downgradeTargets(['a1', 'b1'], ['a1', 'b2'])).toEqual(['b1']);
    expect(downgradeTargets(['b1', 'a1'], ['a1', 'b1'])).toEqual([]);
  });

  test('the empty set is base', () => {
    expect(downgradeTargets([], ['m1'])).toEqual(['base']);
    expect(downgradeTargets([], [])).toEqual([]);
  });

  test('manual actions carry the exact commands with the configured alembic command', () => {
    expect(downgradeCommands(['alembic', '-c', 'apps/api/alembic.ini'], ['a1', 'b1'], ['m1'])).toEqual([
      'alembic -c apps/api/alembic.ini downgrade a1',
      'alembic -c apps/api/alembic.ini downgrade b1',
    ]);
  });
});

describe('sets in the summary', () => {
  test('the single-id keys join the set with "," (sorted); base is null', () => {
    expect(revisionSetText(['b1', 'a1'])).toBe('a1,b1');
    expect(revisionSetText([])).toBeNull();
    expect(setText([])).toBe('base');
    expect(setText(['a1'])).toBe('a1');
    expect(setText(['b1', 'a1'])).toBe('{a1, b1}');
  });

  test('summaries from before the sets are read back as sets, `alembic current` text included', () => {
    expect(revisionSetOf('20251107_090000 (head)')).toEqual(['20251107_090000']);
    expect(revisionSetOf('b1,a1')).toEqual(['a1', 'b1']);
    expect(revisionSetOf(null)).toEqual([]);
    expect(summaryRevisionSets({ pre_release_revision: '0001', alembic_revision: '0002 (head)' })).toEqual({
      before: ['0001'],
      after: ['0002'],
    });
    expect(
      summaryRevisionSets({
        pre_release_revision: 'a1,b1',
        alembic_revision: 'm1',
        pre_release_revisions: ['a1', 'b1'],
        alembic_revisions: ['m1'],
      }),
    ).toEqual({
      before: ['a1', 'b1'],
      after: ['m1'],
    });
    expect(sameRevisionSet(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(sameRevisionSet(['a'], ['a', 'b'])).toBe(false);
  });
});

describe('the approval plan shows the graph and readiness, and its digest covers them', () => {
  test('plan lines carry the merge, dependencies and a downgrade that is not ready; a plain revision adds nothing', () => {
    const pending = pendingRevisionsOf(inspection());
    expect(revisionNotes(pending.find((r) => r.revision === 'm1') ?? pending[0]!)).toBe(
      '  [merge of a2 + b2; downgrade raises: RuntimeError: merge cannot be undone]',
    );
    expect(
      revisionNotes({
        revision: 'x',
        message: 'y',
        dependsOn: ['a1'],
        downgrade: { status: 'empty', detail: 'pass' },
      }),
    ).toBe('  [depends on a1; downgrade empty: pass]');
    expect(revisionNotes({ revision: 'r2', message: 'add tier' })).toBe('');
  });

  test('a different downgrade readiness is a different plan digest', () => {
    const pending = pendingRevisionsOf(inspection());
    const ready = pending.map((r) => ({ ...r, downgrade: { status: 'ok' as const, detail: null } }));
    expect(planDigest({ action: 'release', pendingRevisions: pending })).not.toBe(
      planDigest({ action: 'release', pendingRevisions: ready }),
    );
  });
});

describe('tools/alembic_inspect.py on the second sample (examples/starter-monorepo)', () => {
  const backend = path.join(__dirname, '..', '..', 'examples', 'starter-monorepo', 'apps', 'api-service');
  const script = path.join(__dirname, '..', '..', 'tools', 'alembic_inspect.py');

  function inspect(current: string): ReturnType<typeof parseInspection> {
    // One interpreter, env.py never imported: the tools venv's python with alembic, no database.
    const stdout = execFileSync(
      path.join(venvBin(), 'python3'),
      [script, '--config', 'alembic.ini', '--current', current, '--sql'],
      {
        cwd: backend,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none',
        },
        encoding: 'utf8',
      },
    );
    return parseInspection(stdout);
  }

  test('one head, the merges, depends_on, and the raising merge found without a database', () => {
    const read = inspect('a2_billing_invoices,b7_add_teams');
    if (!read.ok) throw new Error(read.detail);
    const doc = read.inspection;
    expect(doc.heads).toEqual(['0018_plan_display_order']);
    expect(doc.revisions).toHaveLength(19);
    expect(
      doc.revisions
        .filter((r) => r.is_merge)
        .map((r) => r.revision)
        .sort(),
    ).toEqual(['m1_merge_billing_teams', 'm2_merge_usage_audit', 'm3_merge_keys_notifications']);
    expect(doc.revisions.find((r) => r.revision === '2025_02_ba_audit_log')?.depends_on).toEqual([
      '2025_02_ab_usage',
    ]);
    const pending = pendingRevisionsOf(doc);
    expect(pending[0]?.revision).toBe('b8_team_invites');
    expect(pending.at(-1)?.revision).toBe('0018_plan_display_order');
    expect(pending.find((r) => r.revision === 'm2_merge_usage_audit')?.downgrade?.status).toBe('raises');
    expect(pending.find((r) => r.revision === '0017_backfill_usage_totals')?.downgrade?.status).toBe('empty');
    expect(downgradeBlocker(pending)).toMatch(
      /^m2_merge_usage_audit \(downgrade raises: NotImplementedError/,
    );
    // After the raising merge nothing blocks: those downgrades render.
    const after = inspect('c1_api_keys,d1_notifications');
    if (!after.ok) throw new Error(after.detail);
    expect(downgradeBlocker(pendingRevisionsOf(after.inspection))).toBeNull();
  });
});
