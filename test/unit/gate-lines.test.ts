/** What `release approve`, `release status` and the live view show of a gate: the plan, its digest, how to decide. */
import { renderLiveView } from '../../src/cli/live-view';
import { describeStatus, gateLines } from '../../src/cli/status-lines';
import { initialSummary } from '../../src/release/summary';
import type { ReleaseInput } from '../../src/release/types';
import type { GateView, ReleaseStatusView } from '../../src/workflows/messages';

const DIGEST = '3f2a9c0d11b4e567';
const input: ReleaseInput = {
  environment: 'production',
  options: { non_interactive: true, skip_stripe: false, skip_db_checks: false, no_rollback: false },
  plans: [{ code: 'pro', name: 'Pro', amount: 9900 }],
  currency: 'usd',
  trialDays: 14,
  startedBy: 'alice',
  approval: { required: true, approvers: ['bob', 'carol'], fourEyes: true, timeout: '24 hours' },
};
const plan = {
  action: 'release' as const,
  environment: 'production',
  startedBy: 'alice',
  gitSha: '0123456789abcdef0123456789abcdef01234567',
  pendingRevisions: [{ revision: '20251107_090000', message: 'add stripe price id' }],
  plans: [{ code: 'pro', amount: 9900, currency: 'usd' }],
  skipStripe: false,
  stripeChanges: [
    {
      code: 'pro',
      product: 'reuse' as const,
      price: 'create' as const,
      lookupKey: 'pro_usd_monthly',
      movesLookupKeyFrom: null,
      previousAmount: 12900,
    },
  ],
};

test('gateLines: the plan, its digest, the policy and the exact commands and signal input', () => {
  const gate: GateView = {
    action: 'release',
    environment: 'production',
    startedBy: 'alice',
    open: true,
    waitingForApproval: true,
    policy: input.approval,
    plan,
    planDigest: DIGEST,
    decision: null,
    ignoredDecisions: [
      {
        kind: 'approve',
        approver: 'alice',
        reason: 'four-eyes rule: alice started this release and cannot approve it',
        at: '2026-11-25T10:00:05.000Z',
      },
    ],
    ignoredCount: 1,
    deadline: '2026-11-26T10:00:00.000Z',
  };
  const lines = gateLines(gate, 'db-release-production');
  expect(lines[0]).toBe('release of production by alice: waiting for approval');
  expect(lines).toContain(`plan digest: ${DIGEST} (git 0123456789ab)`);
  expect(lines).toContain('    20251107_090000  add stripe price id');
  expect(lines).toContain('  stripe pro: 99.00 USD/month, was 129.00 (product reuse, price create)');
  expect(lines).toContain('  who may approve: only bob, carol');
  expect(lines).toContain('  four-eyes: alice started it and cannot approve it');
  expect(lines).toContain(
    '  decide by 2026-11-26T10:00:00.000Z (timeout 24 hours; no decision by then rejects it)',
  );
  expect(lines).toContain('  ignored decisions: 1');
  expect(lines).toContain(
    '    2026-11-25T10:00:05.000Z approve from alice: four-eyes rule: alice started this release and cannot approve it',
  );
  expect(lines).toContain(
    `approve: db-release release approve db-release-production --approver NAME --digest ${DIGEST} [--comment TEXT]`,
  );
  expect(lines).toContain(
    `Web UI:  Send a Signal "approve" with {"approver": "NAME", "comment": "...", "digest": "${DIGEST}"}`,
  );
});

test('release status and the live view name the digest while waiting, and count ignored decisions beyond those listed', () => {
  const view: ReleaseStatusView = {
    currentStep: 'approval',
    waitingForApproval: true,
    policy: input.approval,
    plan,
    planDigest: DIGEST,
    ignoredDecisions: [
      {
        kind: 'approve',
        approver: 'alice',
        reason: 'four-eyes rule: alice started this release and cannot approve it',
        at: '2026-11-25T10:00:05.000Z',
      },
    ],
    ignoredCount: 30,
    summary: initialSummary(
      input,
      { workflowId: 'db-release-production', runId: 'run-1' },
      new Date('2026-11-25T10:00:00.000Z'),
    ),
  };
  const status = describeStatus(view);
  expect(
    status.some(
      (l) => l.includes(`waiting for a decision on plan ${DIGEST}`) && l.includes(`"digest": "${DIGEST}"`),
    ),
  ).toBe(true);
  expect(status).toContain('ignored decisions: 30 in all, the last 1 listed');
  const live = renderLiveView(view, new Date('2026-11-25T10:00:10.000Z'));
  expect(live).toContain(`plan: 1 pending revision(s), digest ${DIGEST}`);
  expect(live).toContain(
    `approve: db-release release approve db-release-production --approver NAME --digest ${DIGEST} [--comment TEXT]`,
  );
});
