import { chmodSync, existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  keptSql,
  lintWithSquawk,
  parseRenderedSql,
  revisionsSql,
  reviewSql,
  squawkExecutable,
} from '../../src/activities/sql-review';
import { parseReleaseConfig, sqlReviewPolicyFor } from '../../src/config/release-config';
import { canonicalJson, planDigest } from '../../src/release/plan-digest';
import {
  decideSqlReview,
  flagCounts,
  flagsFromSquawk,
  sqlReviewDetails,
  sqlReviewReportLines,
  statementAt,
  type SqlFlag,
  type SqlReview,
} from '../../src/release/sql-review';
import { runCommand } from '../../src/runtime/command-runner';
import { sqlReviewLines } from '../../src/cli/sql-review-view';
import { gateLines } from '../../src/cli/status-lines';
import { fakeDeps, tempDir } from '../support/fakes';

/** One statement per flag kind, as Alembic's offline mode renders them (statement per paragraph). */
const RISKY_SQL = [
  'BEGIN;',
  '',
  '-- Running upgrade a1 -> b2',
  '',
  'ALTER TABLE users DROP COLUMN legacy_flag;',
  '',
  'ALTER TABLE users ALTER COLUMN age TYPE BIGINT;',
  '',
  'ALTER TABLE users ADD COLUMN tenant_id INTEGER NOT NULL;',
  '',
  'CREATE INDEX ix_users_email ON users (email);',
  '',
  'ALTER TABLE users ADD CONSTRAINT fk_users_org FOREIGN KEY(org_id) REFERENCES orgs (id);',
  '',
  'ALTER TABLE users RENAME COLUMN name TO full_name;',
  '',
  'ALTER TABLE accounts RENAME TO customers;',
  '',
  'DROP TABLE old_sessions;',
  '',
  "UPDATE alembic_version SET version_num='b2' WHERE alembic_version.version_num = 'a1';",
  '',
  'COMMIT;',
  '',
].join('\n');

const SAFE_SQL = 'BEGIN;\n\nCREATE TABLE audit (id INTEGER NOT NULL, PRIMARY KEY (id));\n\nCOMMIT;\n';

const revision = (id: string, upgrade: string | null) => ({
  revision: id,
  upgrade,
  upgradeUnavailable: upgrade ? null : 'why',
  downgrade: null,
  downgradeUnavailable: 'why',
});

describe('squawk -> flags (the pinned squawk-cli of tools/requirements.txt, run for real)', () => {
  const deps = fakeDeps({ run: runCommand });

  test('each risk kind is flagged with its revision, rule and statement; style rules are not flags', async () => {
    expect(squawkExecutable()).toMatch(/squawk$/);
    const lint = await lintWithSquawk(deps, [revision('a1', SAFE_SQL), revision('b2', RISKY_SQL)]);
    expect(lint.unavailable).toBeNull();
    expect(lint.version).toMatch(/^squawk 2\./);
    const by = (kind: SqlFlag['kind']) =>
      lint.flags.filter((f) => f.kind === kind).map((f) => `${f.revision} ${f.rule}: ${f.statement}`);
    expect(by('drop')).toEqual([
      'b2 ban-drop-column: ALTER TABLE users DROP COLUMN legacy_flag;',
      'b2 ban-drop-table: DROP TABLE old_sessions;',
    ]);
    expect(by('type-change')).toEqual([
      'b2 changing-column-type: ALTER TABLE users ALTER COLUMN age TYPE BIGINT;',
    ]);
    expect(by('not-null-without-default')).toEqual([
      'b2 adding-required-field: ALTER TABLE users ADD COLUMN tenant_id INTEGER NOT NULL;',
    ]);
    expect(by('non-concurrent-index')).toEqual([
      'b2 require-concurrent-index-creation: CREATE INDEX ix_users_email ON users (email);',
    ]);
    expect(by('table-lock-constraint')).toEqual(
      expect.arrayContaining([
        'b2 adding-foreign-key-constraint: ALTER TABLE users ADD CONSTRAINT fk_users_org FOREIGN KEY(org_id) REFERENCES orgs (id);',
      ]),
    );
    expect(by('rename')).toEqual([
      'b2 renaming-column: ALTER TABLE users RENAME COLUMN name TO full_name;',
      'b2 renaming-table: ALTER TABLE accounts RENAME TO customers;',
    ]);
    // The new table of a1 is not a risk; robustness/timeout advice is not a flag.
    expect(lint.flags.some((f) => f.revision === 'a1')).toBe(false);
    expect(lint.flags.some((f) => /prefer-robust|timeout/.test(f.rule))).toBe(false);
  });

  test('no squawk: not linted, saying how to install it (never "no flags")', async () => {
    const saved = process.env.DB_RELEASE_SQUAWK;
    process.env.DB_RELEASE_SQUAWK = '/nonexistent/squawk';
    try {
      const lint = await lintWithSquawk(deps, [revision('b2', RISKY_SQL)]);
      expect(lint.flags).toEqual([]);
      expect(lint.unavailable).toMatch(
        /squawk is not installed \(\/nonexistent\/squawk\): run `npm run tools`/,
      );
    } finally {
      if (saved === undefined) delete process.env.DB_RELEASE_SQUAWK;
      else process.env.DB_RELEASE_SQUAWK = saved;
    }
  });
});

describe('squawk --version is asked once per executable file', () => {
  const deps = fakeDeps({ run: runCommand });
  /** A stand-in squawk that appends a line to `calls` per --version and finds nothing to flag. */
  function standIn(dir: string, version: string): string {
    const file = path.join(dir, 'squawk');
    const calls = path.join(dir, 'calls');
    writeFileSync(
      file,
      `#!/bin/sh\nif [ "$1" = --version ]; then echo v >> ${calls}; echo '${version}'; exit 0; fi\necho '[]'\n`,
    );
    chmodSync(file, 0o755);
    return file;
  }
  const versionCalls = (dir: string) =>
    existsSync(path.join(dir, 'calls'))
      ? readFileSync(path.join(dir, 'calls'), 'utf8').split('\n').length - 1
      : 0;

  test('a second release asks no more; a replaced squawk (another size or mtime) is asked again', async () => {
    const dir = tempDir('squawk-version-');
    const squawk = standIn(dir, 'squawk 9.1.0');
    const saved = process.env.DB_RELEASE_SQUAWK;
    process.env.DB_RELEASE_SQUAWK = squawk;
    try {
      const first = await lintWithSquawk(deps, [revision('b2', SAFE_SQL)]);
      const second = await lintWithSquawk(deps, [revision('b2', SAFE_SQL)]);
      expect([first.version, second.version]).toEqual(['squawk 9.1.0', 'squawk 9.1.0']);
      expect(versionCalls(dir)).toBe(1);
      // Upgraded in place: the new file answers with its own version.
      standIn(dir, 'squawk 9.2.10');
      utimesSync(squawk, new Date(), new Date(Date.now() + 5_000));
      const third = await lintWithSquawk(deps, [revision('b2', SAFE_SQL)]);
      expect(third.version).toBe('squawk 9.2.10');
      expect(versionCalls(dir)).toBe(2);
      // Another command runner (a test's, a new worker's) keeps nothing from this one.
      const other = await lintWithSquawk(fakeDeps({ run: (r) => runCommand(r) }), [revision('b2', SAFE_SQL)]);
      expect(other.version).toBe('squawk 9.2.10');
      expect(versionCalls(dir)).toBe(3);
    } finally {
      if (saved === undefined) delete process.env.DB_RELEASE_SQUAWK;
      else process.env.DB_RELEASE_SQUAWK = saved;
    }
  });
});

describe('flagsFromSquawk', () => {
  const files = new Map([['001_b2.sql', { revision: 'b2', sql: RISKY_SQL }]]);
  test('maps rules, names the statement at the 0-based line, drops duplicates and unmapped rules', () => {
    const out = JSON.stringify([
      {
        file: '001_b2.sql',
        line: 4,
        line_end: 4,
        message: 'Dropping a column may break existing clients.',
        rule_name: 'ban-drop-column',
      },
      { file: '001_b2.sql', line: 4, line_end: 4, message: 'again', rule_name: 'ban-drop-column' },
      {
        file: '001_b2.sql',
        line: 4,
        line_end: 4,
        message: 'Missing IF EXISTS',
        rule_name: 'prefer-robust-stmts',
      },
    ]);
    expect(flagsFromSquawk(out, files, ['b2'])).toEqual([
      {
        revision: 'b2',
        kind: 'drop',
        rule: 'ban-drop-column',
        statement: 'ALTER TABLE users DROP COLUMN legacy_flag;',
        message: 'Dropping a column may break existing clients.',
      },
    ]);
  });
  test('output that is not a list of violations is an error, not "no flags"', () => {
    expect(() => flagsFromSquawk('{"oops": 1}', files, ['b2'])).toThrow(/not a list/);
    expect(() => flagsFromSquawk('not json', files, ['b2'])).toThrow();
  });
  test('a multi-line statement is one line, bounded', () => {
    expect(statementAt('CREATE TABLE t (\n    id INT\n);', 0, 2)).toBe('CREATE TABLE t ( id INT );');
    expect(statementAt(`SELECT '${'x'.repeat(1000)}';`, 0, 0)).toHaveLength(400);
  });
});

const FLAGS: SqlFlag[] = [
  {
    revision: 'b2',
    kind: 'drop',
    rule: 'ban-drop-column',
    statement: 'ALTER TABLE users DROP COLUMN legacy_flag;',
    message: 'm',
  },
  {
    revision: 'b2',
    kind: 'non-concurrent-index',
    rule: 'require-concurrent-index-creation',
    statement: 'CREATE INDEX ix ON users (email);',
    message: 'm',
  },
];
const COMPLETE = { complete: true, why: null };

describe('decideSqlReview (the policy)', () => {
  test('allow: flags shown, nothing required', () => {
    expect(decideSqlReview(FLAGS, { flags: 'allow', rules: {} }, COMPLETE)).toEqual({
      action: 'allow',
      reason: null,
    });
  });
  test('require-approval names every flag that requires it', () => {
    const d = decideSqlReview(FLAGS, { flags: 'require-approval', rules: {} }, COMPLETE);
    expect(d.action).toBe('require-approval');
    expect(d.reason).toBe(
      'approval required by the SQL review policy: drop (ban-drop-column) in b2: ALTER TABLE users DROP COLUMN legacy_flag;; ' +
        'non-concurrent-index (require-concurrent-index-creation) in b2: CREATE INDEX ix ON users (email);',
    );
  });
  test('a per-kind rule overrides the default, and the strongest action wins', () => {
    const d = decideSqlReview(FLAGS, { flags: 'allow', rules: { drop: 'refuse' } }, COMPLETE);
    expect(d).toEqual({
      action: 'refuse',
      reason:
        'refused by the SQL review policy: drop (ban-drop-column) in b2: ALTER TABLE users DROP COLUMN legacy_flag;',
    });
    expect(
      decideSqlReview(
        FLAGS,
        { flags: 'refuse', rules: { drop: 'allow', 'non-concurrent-index': 'allow' } },
        COMPLETE,
      ).action,
    ).toBe('allow');
  });
  test('SQL that could not be reviewed is not "no flags": it needs approval unless the policy allows', () => {
    const why = { complete: false, why: 'env.py has no offline mode' };
    expect(decideSqlReview([], { flags: 'require-approval', rules: {} }, why)).toEqual({
      action: 'require-approval',
      reason:
        'approval required by the SQL review policy: the SQL could not be reviewed in full (env.py has no offline mode)',
    });
    expect(decideSqlReview([], { flags: 'refuse', rules: {} }, why).action).toBe('require-approval');
    expect(decideSqlReview([], { flags: 'allow', rules: {} }, why).action).toBe('allow');
  });
  test('counts per kind', () => {
    expect(flagCounts(FLAGS)).toBe('1 drop, 1 non-concurrent-index');
    expect(flagCounts([])).toBe('no flags');
  });
});

describe('release.config.json sqlReview', () => {
  test('defaults: require-approval in production, allow elsewhere', () => {
    const config = parseReleaseConfig('{}');
    expect(sqlReviewPolicyFor(config, 'production')).toEqual({ flags: 'require-approval', rules: {} });
    expect(sqlReviewPolicyFor(config, 'staging')).toEqual({ flags: 'allow', rules: {} });
  });
  test('an environment sets its action and per-kind rules', () => {
    const config = parseReleaseConfig(
      '{"environments": {"staging": {"sqlReview": {"flags": "refuse", "rules": {"non-concurrent-index": "allow"}}}}}',
    );
    expect(sqlReviewPolicyFor(config, 'staging')).toEqual({
      flags: 'refuse',
      rules: { 'non-concurrent-index': 'allow' },
    });
  });
  test('a bad action or kind is refused naming the field and the values to use', () => {
    expect(() =>
      parseReleaseConfig(
        '{"environments": {"production": {"sqlReview": {"flags": "block"}}}}',
        '/b/release.config.json',
      ),
    ).toThrow(/environments\.production\.sqlReview\.flags.*use "allow", "require-approval" or "refuse"/);
    expect(() =>
      parseReleaseConfig(
        '{"environments": {"production": {"sqlReview": {"rules": {"drops": "refuse"}}}}}',
        '/b/release.config.json',
      ),
    ).toThrow(/environments\.production\.sqlReview\.rules/);
  });
});

describe('reading the inspector and showing the review', () => {
  const doc = {
    format: 'db-release-alembic-sql/1',
    unavailable: null,
    revisions: {
      b2: {
        upgrade: RISKY_SQL,
        upgrade_unavailable: null,
        downgrade: null,
        downgrade_unavailable: 'its downgrade() failed offline: NotImplementedError: no',
      },
    },
  };
  test('the SQL document is the line after the inspection; a revision it lacks is unavailable, saying why', () => {
    const read = parseRenderedSql(`{"format": "db-release-alembic-inspect/1"}\n${JSON.stringify(doc)}\n`);
    expect(read.ok).toBe(true);
    const revisions = revisionsSql(['b2', 'c3'], read.ok ? read.rendered : null, null);
    expect(revisions[0]).toMatchObject({
      revision: 'b2',
      upgrade: RISKY_SQL,
      downgrade: null,
      downgradeUnavailable: 'its downgrade() failed offline: NotImplementedError: no',
    });
    expect(revisions[1]).toMatchObject({
      revision: 'c3',
      upgrade: null,
      upgradeUnavailable: 'not in the rendered document',
    });
    expect(parseRenderedSql('{"format": "db-release-alembic-inspect/1"}\n')).toEqual({
      ok: false,
      why: 'the inspector printed no SQL document',
    });
  });

  test('a render that timed out: every revision says so, no squawk run, approval required where the policy is not allow', async () => {
    const runs: string[] = [];
    const deps = fakeDeps({
      run: (r) => (runs.push(r.command.join(' ')), Promise.reject(new Error('not expected'))),
    });
    const review = await reviewSql(deps, {
      pending: ['b2'],
      stdout: '{"format": "db-release-alembic-inspect/1"}\n',
      why: 'timed out: the offline render ran past 5 s',
      policy: { flags: 'require-approval', rules: {} },
    });
    expect(runs).toEqual([]);
    expect(review.unavailable).toBe('timed out: the offline render ran past 5 s');
    expect(review.revisions[0]).toMatchObject({
      upgrade: null,
      upgradeUnavailable: 'timed out: the offline render ran past 5 s',
    });
    expect(review.decision.action).toBe('require-approval');
  });

  const review: SqlReview = {
    revisions: [
      {
        revision: 'b2',
        upgrade: RISKY_SQL,
        upgradeUnavailable: null,
        downgrade: null,
        downgradeUnavailable: 'its downgrade() failed offline: no',
      },
    ],
    unavailable: null,
    flags: FLAGS,
    lint: { tool: 'squawk', version: 'squawk 2.70.0', unavailable: null },
    policy: { flags: 'require-approval', rules: {} },
    decision: decideSqlReview(FLAGS, { flags: 'require-approval', rules: {} }, COMPLETE),
  };

  test('Web UI details: counts, each flag, and the command that prints the SQL whole', () => {
    const text = sqlReviewDetails(review, 'db-release-production');
    expect(text).toContain(
      'SQL review: SQL of 1 of 1 pending revision(s) rendered offline; 2 risk flag(s) (1 drop, 1 non-concurrent-index); policy: require-approval',
    );
    expect(text).toContain(
      '- **drop** (ban-drop-column) in `b2`: `ALTER TABLE users DROP COLUMN legacy_flag;`',
    );
    expect(text).toContain('`db-release release status db-release-production`');
    expect(text).not.toContain('ALTER TABLE users RENAME COLUMN'); // summarised, not the whole SQL
  });

  test('release status and report.md print the SQL whole, and say why a part is unavailable', () => {
    const status = sqlReviewLines(review);
    expect(status).toContain('flag drop (ban-drop-column) in b2: ALTER TABLE users DROP COLUMN legacy_flag;');
    expect(status).toContain('    ALTER TABLE users RENAME COLUMN name TO full_name;');
    expect(status).toContain('sql downgrade b2: SQL unavailable: its downgrade() failed offline: no');
    const report = sqlReviewReportLines(review).join('\n');
    expect(report).toContain('## SQL review');
    expect(report).toContain(
      '| `b2` | drop | ban-drop-column | `ALTER TABLE users DROP COLUMN legacy_flag;` |',
    );
    expect(report).toContain('```sql\nBEGIN;');
    expect(report).toContain('Downgrade: SQL unavailable: its downgrade() failed offline: no');
  });

  test('the flags enter the plan digest', () => {
    const plan = {
      action: 'release',
      pendingRevisions: [],
      plans: [],
      skipStripe: true,
      stripeChanges: null,
    };
    const flagged = { ...plan, sqlReview: review };
    const fewer = { ...plan, sqlReview: { ...review, flags: FLAGS.slice(0, 1) } };
    expect(planDigest(flagged)).not.toBe(planDigest(plan));
    expect(planDigest(flagged)).not.toBe(planDigest(fewer));
    // A plan without a review (older workers) keeps its digest: undefined is dropped.
    expect(canonicalJson({ ...plan, sqlReview: undefined })).toBe(canonicalJson(plan));
  });
});

describe('keptSql (what travels in history)', () => {
  test('each text is bounded and the total stays within budget; the cut says so', () => {
    const big = `${'SELECT 1;\n'.repeat(10_000)}`; // 100 000 characters
    const kept = keptSql(
      [revision('a1', big), revision('b2', big), revision('c3', 'SELECT 2;\n')],
      32_000,
      40_000,
    );
    expect(kept[0]?.upgrade?.length).toBeLessThan(33_000);
    expect(kept[0]?.upgrade).toMatch(/-- … \d+ more characters not kept here/);
    expect(kept.reduce((n, r) => n + (r.upgrade?.length ?? 0), 0)).toBeLessThan(50_000);
    expect(kept[2]?.upgrade).toBe('SELECT 2;\n');
  });
});

describe('release approve (gate lines)', () => {
  test('the approver sees the headline and every flag before approving, and where the whole SQL is', () => {
    const plan = {
      action: 'release' as const,
      environment: 'production',
      startedBy: 'alice',
      gitSha: null,
      pendingRevisions: [{ revision: 'b2', message: 'risky' }],
      plans: [],
      skipStripe: true,
      stripeChanges: null,
      sqlReview: {
        revisions: [revision('b2', RISKY_SQL)],
        unavailable: null,
        flags: FLAGS,
        lint: { tool: 'squawk' as const, version: 'squawk 2.70.0', unavailable: null },
        policy: { flags: 'require-approval' as const, rules: {} },
        decision: { action: 'require-approval' as const, reason: 'x' },
      },
    };
    const lines = gateLines(
      {
        action: 'release',
        environment: 'production',
        startedBy: 'alice',
        open: true,
        waitingForApproval: true,
        policy: null,
        plan,
        planDigest: '0123456789abcdef',
        decision: null,
        ignoredDecisions: [],
        ignoredCount: 0,
      },
      'db-release-production',
    );
    expect(lines).toContain(
      '  sql review: SQL of 1 of 1 pending revision(s) rendered offline; 2 risk flag(s) (1 drop, 1 non-concurrent-index); policy: require-approval',
    );
    expect(lines).toContain(
      '    flag drop (ban-drop-column) in b2: ALTER TABLE users DROP COLUMN legacy_flag;',
    );
    expect(lines).toContain('    the SQL whole: db-release release status db-release-production');
  });
});
