import type { ReleaseSummary } from '../../src/release/types';
import type { SqlReview } from '../../src/release/sql-review';
import { approveSignal, gateQuery } from '../../src/workflows/messages';
import { temporalTestContext, type TemporalTestContext } from '../support/temporal';
import { releaseInput, waitForStatus, withWorker } from './harness';
import { HEAD_REVISION, mockActivities } from './mock-activities';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

function review(action: SqlReview['decision']['action']): SqlReview {
  return {
    revisions: [
      {
        revision: HEAD_REVISION,
        upgrade: 'ALTER TABLE users DROP COLUMN legacy;\n',
        upgradeUnavailable: null,
        downgrade: null,
        downgradeUnavailable: 'why',
      },
    ],
    unavailable: null,
    flags: [
      {
        revision: HEAD_REVISION,
        kind: 'drop',
        rule: 'ban-drop-column',
        statement: 'ALTER TABLE users DROP COLUMN legacy;',
        message: 'Dropping a column may break existing clients.',
      },
    ],
    lint: { tool: 'squawk', version: 'squawk 2.70.0', unavailable: null },
    policy: { flags: action, rules: {} },
    decision: {
      action,
      reason:
        action === 'allow'
          ? null
          : 'approval required by the SQL review policy: drop (ban-drop-column) in 0002_billing: ALTER TABLE users DROP COLUMN legacy;',
    },
  };
}

test('require-approval gates a release whose environment needs no approval; the plan (and its digest) and the summary carry the flags', async () => {
  const mocks = mockActivities({ preflight: { sqlReview: review('require-approval') } });
  const { view, gate, summary } = await withWorker(ctx, mocks.activities, async (start) => {
    const handle = await start(releaseInput());
    const view = await waitForStatus(handle, (s) => s.waitingForApproval, 'the approval gate');
    const gate = await handle.query(gateQuery);
    await handle.signal(approveSignal, {
      approver: 'bob',
      comment: 'drop reviewed',
      digest: view.planDigest,
    });
    const summary: ReleaseSummary = await handle.result();
    return { view, gate, summary };
  });
  expect(view.policy.required).toBe(true);
  expect(gate.plan?.sqlReview?.flags.map((f) => `${f.revision} ${f.rule}`)).toEqual([
    `${HEAD_REVISION} ban-drop-column`,
  ]);
  expect(summary.status).toBe('success');
  expect(summary.approval).toMatchObject({ decision: 'approved', approver: 'bob' });
  expect(summary.sql_review?.flags).toHaveLength(1);
});

test('allow: flags are recorded, nothing waits', async () => {
  const mocks = mockActivities({ preflight: { sqlReview: review('allow') } });
  const summary = await withWorker(ctx, mocks.activities, async (start) =>
    (await start(releaseInput())).result(),
  );
  expect(summary.status).toBe('success');
  expect(summary.approval).toBeNull();
  expect(summary.sql_review?.decision.action).toBe('allow');
  expect(summary.sql_review?.flags.map((f) => f.kind)).toEqual(['drop']);
});
