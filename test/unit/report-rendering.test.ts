import { formatAmount, formatDuration, renderReleaseReport, reportPathFor } from '../../src/release/report';
import type { ReleaseSummary, StepRecord } from '../../src/release/types';

function step(
  name: StepRecord['name'],
  status: StepRecord['status'],
  durationMs: number,
  detail: string | null = null,
): StepRecord {
  return {
    name,
    status,
    detail,
    metadata: {},
    started_at: '2025-11-24T10:00:00.000Z',
    ended_at: '2025-11-24T10:00:05.000Z',
    duration_ms: durationMs,
  };
}

function successSummary(): ReleaseSummary {
  return {
    status: 'success',
    executed_at: '2025-11-24T10:00:00.000Z',
    environment: 'production',
    git_sha: '0123456789abcdef0123456789abcdef01234567',
    alembic_revision: '20251107_090000',
    steps: [
      step('preflight', 'success', 850, 'PostgreSQL 16.4; 2 pending'),
      step('migrations', 'success', 4200, 'just migrate'),
      step('alembic_revision', 'success', 700, '20251107_090000 (head)'),
      step('stripe_setup', 'success', 65_000, 'starter, pro'),
      step('billing_plan_verification', 'success', 30, 'starter=ok, pro=ok'),
    ],
    billing_plans: [
      { code: 'starter', status: 'ok', stripe_price_id: 'price_starter1', is_active: true },
      { code: 'pro', status: 'ok', stripe_price_id: 'price_pro1', is_active: true },
    ],
    options: { non_interactive: true, skip_stripe: false, skip_db_checks: false, no_rollback: false },
    stripe_price_map: { starter: 'price_starter1', pro: 'price_pro1' },
    secrets: { stripe_secret_key: 'sk_t…1234', stripe_webhook_secret: 'whse…6789' },
    workflow_id: 'db-release-production',
    run_id: 'run-1',
    started_by: 'alice',
    finished_at: '2025-11-24T10:01:11.000Z',
    duration_ms: 71_000,
    git_tag: 'v1.4.0',
    pre_release_revision: '20251101_000000',
    pre_release_revisions: ['20251101_000000'],
    alembic_revisions: ['20251107_090000'],
    pending_revisions: [
      { revision: '20251106_120000', message: 'billing plans' },
      { revision: '20251107_090000', message: 'stripe price id' },
    ],
    stripe: {
      currency: 'usd',
      trial_days: 14,
      plans: [
        {
          code: 'starter',
          amount: 0,
          productId: 'prod_S',
          productAction: 'reused',
          previousProductName: null,
          priceId: 'price_starter1',
          priceAction: 'reused',
          lookupKey: 'db_release:starter:monthly',
          previousPriceId: null,
          previousPriceArchived: false,
        },
        {
          code: 'pro',
          amount: 9900,
          productId: 'prod_P',
          productAction: 'renamed',
          previousProductName: 'Pro (old)',
          priceId: 'price_pro1',
          priceAction: 'created',
          lookupKey: 'db_release:pro:monthly',
          previousPriceId: 'price_pro0',
          previousPriceArchived: true,
        },
      ],
    },
    approval: {
      decision: 'approved',
      approver: 'bob',
      comment: 'reviewed the plan',
      via: 'update',
      at: '2025-11-24T10:00:02.000Z',
    },
    compensations: [],
    error: null,
  };
}

function rollbackFailedSummary(): ReleaseSummary {
  const base = successSummary();
  return {
    ...base,
    status: 'rollback_failed',
    alembic_revision: null,
    alembic_revisions: [],
    steps: [
      step('preflight', 'success', 800),
      step('migrations', 'failed', 1200, 'psql: ERROR | column "x"\nalready exists'),
    ],
    billing_plans: [],
    stripe: null,
    stripe_price_map: null,
    approval: null,
    compensations: [
      {
        name: 'migrations',
        status: 'failed',
        detail: 'downgrade raised',
        manual_action: 'run alembic downgrade 20251101_000000 by hand',
      },
      {
        name: 'env_file',
        status: 'success',
        detail: '.env.local restored byte for byte',
        manual_action: null,
      },
    ],
    error: {
      step: 'migrations',
      type: 'MigrationFailed',
      message: 'column "x" already exists\n```injected```',
    },
  };
}

describe('renderReleaseReport', () => {
  test('a successful release: title, facts, steps with timings, plan, approval, revisions, Stripe, plans', () => {
    const md = renderReleaseReport(successSummary());
    expect(md.startsWith('# Database release: production — success\n')).toBe(true);
    expect(md).toContain('| Workflow | `db-release-production` run `run-1` |');
    expect(md).toContain('| Git | `0123456789abcdef0123456789abcdef01234567` (tag `v1.4.0`) |');
    expect(md).toContain('| Duration | 1 min 11 s |');
    expect(md).toContain(
      '| Options | non_interactive=true, skip_stripe=false, skip_db_checks=false, no_rollback=false |',
    );
    expect(md).toContain('| Step | Status | Started | Ended | Duration | Detail |');
    expect(md).toContain(
      '| `preflight` | **success** | 2025-11-24T10:00:00.000Z | 2025-11-24T10:00:05.000Z | 850 ms | PostgreSQL 16.4; 2 pending |',
    );
    expect(md).toContain(
      '| `migrations` | **success** | 2025-11-24T10:00:00.000Z | 2025-11-24T10:00:05.000Z | 4.2 s | just migrate |',
    );
    expect(md).toContain(
      '| `stripe_setup` | **success** | 2025-11-24T10:00:00.000Z | 2025-11-24T10:00:05.000Z | 1 min 5 s | starter, pro |',
    );
    expect(md).toContain('- `20251106_120000` billing plans\n- `20251107_090000` stripe price id');
    expect(md).toContain('**approved** by bob at 2025-11-24T10:00:02.000Z via update: reviewed the plan');
    expect(md).toContain('| `20251101_000000` | `20251107_090000` |');
    expect(md).toContain('Currency `usd`, monthly, 14 trial days.');
    expect(md).toContain(
      '| `starter` | 0.00 USD (0) | `prod_S` | reused | `price_starter1` | reused | `db_release:starter:monthly` | — |',
    );
    expect(md).toContain(
      '| `pro` | 99.00 USD (9900) | `prod_P` | renamed (was "Pro (old)") | `price_pro1` | created | `db_release:pro:monthly` | `price_pro0` (archived) |',
    );
    expect(md).toContain('`STRIPE_PRODUCT_PRICE_MAP`: `{"starter":"price_starter1","pro":"price_pro1"}`');
    expect(md).toContain('`STRIPE_SECRET_KEY` `sk_t…1234`');
    expect(md).toContain('| `pro` | **ok** | `price_pro1` | yes |');
    expect(md).not.toContain('## Compensations');
    expect(md).not.toContain('## Error');
  });

  test('a failed rollback: compensations with a to-do list for the operator, and the error', () => {
    const md = renderReleaseReport(rollbackFailedSummary());
    expect(md.startsWith('# Database release: production — rollback_failed\n')).toBe(true);
    expect(md).toContain(
      '| `migrations` | **failed** | downgrade raised | run alembic downgrade 20251101_000000 by hand |',
    );
    expect(md).toContain('| `env_file` | **success** | .env.local restored byte for byte | — |');
    expect(md).toContain(
      '**To do by hand:**\n\n- [ ] migrations: run alembic downgrade 20251101_000000 by hand\n',
    );
    expect(md).not.toContain('- [ ] env_file');
    expect(md).toContain(
      "## Error\n\nStep `migrations`, type `MigrationFailed`:\n\n```text\ncolumn \"x\" already exists\n'''injected'''\n```",
    );
    expect(md).toContain('No Stripe object was provisioned.');
    expect(md).toContain('Not verified in this release.');
    expect(md).toContain('No decision recorded');
    expect(md).toContain('| `20251101_000000` | — |');
  });

  test('table cells escape pipes and keep line breaks inside the row', () => {
    const md = renderReleaseReport(rollbackFailedSummary());
    expect(md).toContain(
      '| `migrations` | **failed** | 2025-11-24T10:00:00.000Z | 2025-11-24T10:00:05.000Z | 1.2 s | psql: ERROR \\| column "x"<br>already exists |',
    );
    for (const line of md.split('\n').filter((l) => l.startsWith('| `migrations` | **failed** | 2025'))) {
      expect(line.split(/(?<!\\)\|/).length - 2).toBe(6); // six cells, the escaped pipe is not a border
    }
  });

  test('skipped Stripe says why; a database at base before the release is named', () => {
    const summary = successSummary();
    summary.stripe = null;
    summary.pre_release_revision = null;
    summary.pre_release_revisions = [];
    summary.pending_revisions = [];
    summary.steps = summary.steps.map((s) =>
      s.name === 'stripe_setup' ? { ...s, status: 'skipped', detail: '--skip-stripe' } : s,
    );
    const md = renderReleaseReport(summary);
    expect(md).toContain('Skipped: --skip-stripe.');
    expect(md).toContain('| base (empty database) | `20251107_090000` |');
    expect(md).toContain('No pending revision: the database was at head.');
  });

  test('a branched database: both sets in full, merges named, and a downgrade that raises flagged as not ready', () => {
    const summary = successSummary();
    summary.pre_release_revision = 'a1,b1';
    summary.pre_release_revisions = ['a1', 'b1'];
    summary.alembic_revision = 'm1';
    summary.alembic_revisions = ['m1'];
    summary.pending_revisions = [
      {
        revision: 'b2',
        message: 'b two',
        downRevisions: ['b1'],
        dependsOn: ['a1'],
        isMerge: false,
        isBranchPoint: false,
        downgrade: { status: 'ok', detail: null },
      },
      {
        revision: 'm1',
        message: 'merge',
        downRevisions: ['a1', 'b2'],
        dependsOn: [],
        isMerge: true,
        isBranchPoint: false,
        downgrade: { status: 'raises', detail: 'RuntimeError: merge cannot be undone' },
      },
    ];
    const md = renderReleaseReport(summary);
    expect(md).toContain('| `a1`, `b1` | `m1` |');
    expect(md).toContain('- `b2` b two (depends on `a1`)');
    expect(md).toContain(
      '- `m1` merge (merge of `a1` + `b2`) — downgrade **raises**: RuntimeError: merge cannot be undone',
    );
    expect(md).toContain(
      '**Rollback readiness: not ready.** m1 (downgrade raises: RuntimeError: merge cannot be undone)',
    );
  });

  test('promotion: the staging release that satisfied it, and an approved override, are in the report', () => {
    const summary = successSummary();
    summary.promotion = {
      required: ['staging', 'qa'],
      max_age: '7 days',
      git_sha: 'abcdef1234567890',
      revisions: ['20251107_090000'],
      satisfied_by: [
        {
          environment: 'staging',
          workflow_id: 'db-release-staging',
          run_id: 'run-staging-1',
          finished_at: '2025-11-07T10:00:00.000Z',
        },
      ],
      missing: [
        {
          environment: 'qa',
          found: 'qa has no completed release',
          command: 'db-release release db --environment qa',
        },
      ],
      override: { by: 'bob', reason: 'hotfix for incident 42', requested_by: 'alice' },
    };
    const md = renderReleaseReport(summary);
    expect(md).toContain('## Promotion');
    expect(md).toContain('- staging satisfied by run run-staging-1');
    expect(md).toContain('- qa missing: qa has no completed release');
    expect(md).toContain('overridden, approved by bob (requested by alice: hotfix for incident 42)');
    expect(renderReleaseReport(successSummary())).not.toContain('## Promotion');
  });

  test('a running release with no step yet', () => {
    const summary = {
      ...successSummary(),
      status: 'running' as const,
      steps: [],
      finished_at: null,
      duration_ms: null,
      pending_revisions: [],
    };
    const md = renderReleaseReport(summary);
    expect(md).toContain('| Finished at | still running |');
    expect(md).toContain('No step started.');
    expect(md).toContain('Not known: the pre-flight checks did not complete.');
  });

  test('pure: the same summary gives the same text, ending in one newline', () => {
    const a = renderReleaseReport(successSummary());
    expect(renderReleaseReport(successSummary())).toBe(a);
    expect(a.endsWith('|\n')).toBe(true);
    expect(a.endsWith('\n\n')).toBe(false);
  });
});

describe('helpers', () => {
  test.each([
    [null, '—'],
    [0, '0 ms'],
    [999, '999 ms'],
    [1_000, '1.0 s'],
    [59_949, '59.9 s'],
    [60_000, '1 min 0 s'],
    [3_725_000, '62 min 5 s'],
  ])('formatDuration(%p) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test.each([
    [9900, 'usd', '99.00 USD (9900)'],
    [0, 'eur', '0.00 EUR (0)'],
    [5, 'USD', '0.05 USD (5)'],
    [500, 'jpy', '500 JPY (500)'],
    [1_000_000_00, 'usd', '1,000,000.00 USD (100000000)'],
    [15_500, 'kwd', '15.500 KWD (15500)'],
  ])('formatAmount(%p, %s) = %s', (amount, currency, text) => {
    expect(formatAmount(amount, currency)).toBe(text);
  });

  test('the report goes next to the summary', () => {
    expect(reportPathFor('/b/var/reports/db-release-20251124T100000Z.json')).toBe(
      '/b/var/reports/db-release-20251124T100000Z.md',
    );
    expect(reportPathFor('summary')).toBe('summary.md');
  });
});
