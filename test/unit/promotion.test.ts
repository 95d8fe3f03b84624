/**
 * Issue 17, promotion: the pure decision (found / missing / rolled back / too old / other SHA /
 * other revision set), the refusal text, the config policy and the approval acknowledgement.
 */
import {
  judgePromotion,
  gatePromotionOf,
  overrideReasonProblem,
  promotionRefusal,
  OVERRIDE_REASON_MAX,
  type ReleaseRun,
} from '../../src/release/promotion';
import { parseReleaseConfig, promotionPolicyFor, ConfigError } from '../../src/config/release-config';
import { refusalReason, type GateState } from '../../src/release/approval';
import { NON_RETRYABLE_ERROR_TYPES, ErrorType } from '../../src/release/errors';
import type { PromotionPolicy } from '../../src/release/types';

const SHA = 'a'.repeat(40);
const OTHER = 'b'.repeat(40);
const NOW = new Date('2026-06-10T12:00:00.000Z');
const DAY = 86_400_000;
const POLICY: PromotionPolicy = { requires: ['staging'], maxAge: '7 days' };
const HEADS = ['0003_add_plan_flags'];

function run(
  over: Partial<ReleaseRun> & { daysAgo?: number; status?: string; revisions?: string[] } = {},
): ReleaseRun {
  const closed = new Date(NOW.getTime() - (over.daysAgo ?? 1) * DAY).toISOString();
  return {
    workflowId: 'db-release-staging',
    runId: over.runId ?? 'run-1',
    gitSha: over.gitSha === undefined ? SHA : over.gitSha,
    closedAt: closed,
    summary:
      over.summary === undefined
        ? { status: over.status ?? 'success', revisions: over.revisions ?? HEADS, finishedAt: closed }
        : over.summary,
    rollback: over.rollback ?? null,
  };
}

const judge = (runs: ReleaseRun[], extra: { gitSha?: string | null; policy?: PromotionPolicy } = {}) =>
  judgePromotion({
    policy: extra.policy ?? POLICY,
    gitSha: extra.gitSha === undefined ? SHA : extra.gitSha,
    revisions: HEADS,
    maxAgeMs: 7 * DAY,
    now: NOW,
    runs: { staging: runs },
  });

describe('judgePromotion', () => {
  test('a successful, not rolled back release of the same SHA and revision set within maxAge satisfies it', () => {
    const record = judge([run({ runId: 'old', daysAgo: 3 }), run({ runId: 'new', daysAgo: 1 })]);
    expect(record.missing).toEqual([]);
    expect(record.satisfied_by).toEqual([
      {
        environment: 'staging',
        workflow_id: 'db-release-staging',
        run_id: 'new',
        finished_at: new Date(NOW.getTime() - DAY).toISOString(),
      },
    ]);
    expect(record).toMatchObject({
      required: ['staging'],
      max_age: '7 days',
      git_sha: SHA,
      revisions: HEADS,
      override: null,
    });
  });

  test('no release at all: missing, saying so and the command that satisfies it', () => {
    const record = judge([]);
    expect(record.satisfied_by).toEqual([]);
    expect(record.missing).toHaveLength(1);
    expect(record.missing[0]?.found).toBe(
      'staging has no completed release in Temporal (workflow db-release-staging)',
    );
    expect(record.missing[0]?.command).toContain('db-release release db --environment staging');
    expect(record.missing[0]?.command).toContain(`git ${SHA.slice(0, 12)}`);
  });

  test('only another SHA: names the SHA staging is at', () => {
    const record = judge([run({ gitSha: OTHER, summary: null })]);
    expect(record.missing[0]?.found).toMatch(
      new RegExp(
        `staging has no release of git ${SHA.slice(0, 12)}; its latest release \\(run run-1, .*\\) is at git ${OTHER.slice(0, 12)}`,
      ),
    );
  });

  test('rolled back (or being rolled back, or partly): does not count, naming the rollback run', () => {
    for (const state of ['rolled_back', 'rollback_failed', 'running']) {
      const record = judge([run({ rollback: { runId: 'rb-1', state } })]);
      expect(record.satisfied_by).toEqual([]);
      expect(record.missing[0]?.found).toMatch(
        /staging's release of git a{12} \(run run-1\) (was rolled back|is being rolled back).* by run rb-1/,
      );
    }
  });

  test('a refused or rejected rollback leaves the release counting', () => {
    expect(judge([run({ rollback: { runId: 'rb-1', state: 'refused' } })]).missing).toEqual([]);
  });

  test('too old: names when it finished and the maxAge', () => {
    const record = judge([run({ daysAgo: 9 })]);
    expect(record.missing[0]?.found).toMatch(
      /staging's release of git a{12} \(run run-1\) finished .*, 9 days ago, older than the maxAge of 7 days/,
    );
  });

  test('another revision set: names both sets', () => {
    const record = judge([run({ revisions: ['0002_billing_plans'] })]);
    expect(record.missing[0]?.found).toBe(
      "staging's release of git aaaaaaaaaaaa (run run-1) reached revision set 0002_billing_plans, not 0003_add_plan_flags as this release would",
    );
  });

  test('same SHA but not success (rejected, failed): names how it ended', () => {
    expect(judge([run({ status: 'rejected' })]).missing[0]?.found).toBe(
      "staging's release of git aaaaaaaaaaaa (run run-1) ended rejected, not success",
    );
  });

  test('one qualifying run among misses is enough; each required environment is judged on its own', () => {
    const ok = judge([
      run({ runId: 'undone', daysAgo: 0.5, rollback: { runId: 'rb', state: 'rolled_back' } }),
      run({ runId: 'good', daysAgo: 2 }),
    ]);
    expect(ok.satisfied_by.map((s) => s.run_id)).toEqual(['good']);
    const two = judgePromotion({
      policy: { requires: ['staging', 'qa'], maxAge: '7 days' },
      gitSha: SHA,
      revisions: HEADS,
      maxAgeMs: 7 * DAY,
      now: NOW,
      runs: { staging: [run()] },
    });
    expect(two.satisfied_by.map((s) => s.environment)).toEqual(['staging']);
    expect(two.missing.map((m) => m.environment)).toEqual(['qa']);
  });

  test('a release without a git SHA can never be promoted', () => {
    expect(judge([run()], { gitSha: null }).missing[0]?.found).toMatch(/no git SHA/);
  });
});

describe('the refusal and the override', () => {
  test('the refusal names the environment, what was found, the command, and the override', () => {
    const text = promotionRefusal(
      'production',
      judge([run({ rollback: { runId: 'rb-1', state: 'rolled_back' } })]),
    );
    expect(text).toMatch(
      /^release refused, nothing was changed: promotion to production requires a successful, not rolled back release of git aaaaaaaaaaaa/,
    );
    expect(text).toContain('missing staging');
    expect(text).toContain('was rolled back (rolled_back) by run rb-1');
    expect(text).toContain('to satisfy it: db-release release db --environment staging');
    expect(text).toContain('--override-promotion "<reason>"');
    expect(NON_RETRYABLE_ERROR_TYPES).toContain(ErrorType.PromotionRequired);
  });

  test('the override reason is required and bounded', () => {
    expect(overrideReasonProblem('  ')).toMatch(/needs a reason/);
    expect(overrideReasonProblem('x'.repeat(OVERRIDE_REASON_MAX + 1))).toMatch(/longer than 500/);
    expect(overrideReasonProblem('staging is down, INC-1')).toBeNull();
  });

  test('the gate shows the override only when something is missing and a reason was given', () => {
    const missing = judge([]);
    expect(gatePromotionOf(missing, undefined, 'alice')).toBeNull();
    expect(gatePromotionOf(judge([run()]), 'why', 'alice')).toBeNull();
    expect(gatePromotionOf(missing, 'why', 'alice')).toMatchObject({
      required: ['staging'],
      overrideReason: 'why',
      requestedBy: 'alice',
    });
  });

  test('a plain approval of an overriding plan is refused; one acknowledging it is taken; a reject needs no acknowledgement', () => {
    const gate: GateState = {
      policy: { required: true, approvers: [], fourEyes: false, timeout: '1 hour' },
      digest: '0123456789abcdef',
      startedBy: 'alice',
      current: null,
      now: NOW,
      overridePromotion: { missing: ['staging'], reason: 'hotfix' },
    };
    const plain = refusalReason('approve', { approver: 'bob', digest: '0123456789abcdef' }, gate);
    expect(plain).toMatch(
      /overrides promotion \(missing: staging; reason: hotfix\): a plain approval is refused.*"overridePromotion": true.*--override-promotion/,
    );
    expect(
      refusalReason(
        'approve',
        { approver: 'bob', digest: '0123456789abcdef', overridePromotion: true },
        gate,
      ),
    ).toBeNull();
    expect(
      refusalReason(
        'approve',
        { approver: 'bob', digest: '0123456789abcdef', overridePromotion: 'yes' },
        gate,
      ),
    ).toMatch(/"overridePromotion" must be true/);
    expect(refusalReason('reject', { approver: 'bob', comment: 'no' }, gate)).toBeNull();
  });
});

describe('release.config.json promotion policy', () => {
  const parse = (environments: unknown) =>
    parseReleaseConfig(JSON.stringify({ environments }), 'release.config.json');

  test('requires and maxAge (default 7 days)', () => {
    const config = parse({ production: { promotion: { requires: ['staging'] } } });
    expect(promotionPolicyFor(config, 'production')).toEqual({ requires: ['staging'], maxAge: '7 days' });
    expect(promotionPolicyFor(config, 'staging')).toBeNull();
  });

  test.each([
    [
      { production: { promotion: { requires: [] } } },
      /environments\.production\.promotion\.requires: name at least one environment/,
    ],
    [
      { production: { promotion: { requires: ['staging'], maxAge: 'a week' } } },
      /environments\.production\.promotion\.maxAge: use a duration such as "7 days"/,
    ],
    [
      { production: { promotion: { requires: ['stag ing'] } } },
      /environments\.production\.promotion\.requires\.0: name an environment/,
    ],
    [
      { production: { promotion: { requires: ['staging', 'staging'] } } },
      /requires: an environment is listed twice/,
    ],
    [
      { production: { promotion: { requires: ['production'] } } },
      /environments\.production\.promotion\.requires: production cannot require itself/,
    ],
    [{ production: { promotion: { require: ['staging'] } } }, /environments\.production\.promotion/],
  ])('bad policy %j is a config error naming the field', (environments, message) => {
    expect(() => parse(environments)).toThrow(ConfigError);
    expect(() => parse(environments)).toThrow(message);
  });
});
