import {
  DECISION_LIMITS,
  boundedText,
  gateTimerSummary,
  policyLines,
  readDecision,
  refusalReason,
  type GateState,
} from '../../src/release/approval';
import type { ApprovalDecision, ApprovalPolicy } from '../../src/release/types';

const OPEN: ApprovalPolicy = { required: true, approvers: [], fourEyes: false, timeout: '24 hours' };
const STRICT: ApprovalPolicy = {
  required: true,
  approvers: ['alice', 'bob'],
  fourEyes: true,
  timeout: '24 hours',
};
const DECIDED: ApprovalDecision = {
  decision: 'approved',
  approver: 'bob',
  comment: null,
  via: 'update',
  at: '2025-01-01T00:00:00.000Z',
};
const DIGEST = '0123456789abcdef';
const NOW = new Date('2025-06-01T12:00:00.000Z');

function gate(
  policy: ApprovalPolicy | null,
  startedBy = 'carol',
  current: ApprovalDecision | null = null,
  digest: string | null = DIGEST,
): GateState {
  return { policy, digest, startedBy, current, now: NOW };
}
const approve = (approver: unknown, extra: Record<string, unknown> = {}) => ({
  approver,
  digest: DIGEST,
  ...extra,
});

describe('refusalReason', () => {
  test('an already decided release refuses any further decision, naming who decided', () => {
    expect(refusalReason('approve', approve('alice'), gate(OPEN, 'carol', DECIDED))).toBe(
      'already approved by bob at 2025-01-01T00:00:00.000Z',
    );
    expect(
      refusalReason(
        'reject',
        { approver: 'alice', comment: 'no' },
        gate(OPEN, 'carol', { ...DECIDED, decision: 'rejected' }),
      ),
    ).toMatch(/^already rejected by bob/);
  });

  test.each([
    ['no payload', undefined],
    ['null', null],
    ['an array', [{ approver: 'bob' }]],
    ['a string', 'bob'],
    ['a number', 42],
    ['empty approver', { approver: '' }],
    ['blank approver', { approver: '   ' }],
    ['invisible approver', { approver: '\u200B\u2060\uFEFF' }],
    ['approver not a string', { approver: 42 }],
    ['approver an object', { approver: { toString: 1 } }],
  ])('a payload without a usable approver (%s) is refused, never thrown on', (_label, payload) => {
    expect(refusalReason('approve', payload, gate(OPEN))).toMatch(/JSON object|needs "approver"/);
    expect(refusalReason('reject', payload, gate(OPEN))).toMatch(/JSON object|needs "approver"/);
  });

  test.each([
    [
      "comment an object (the issue's payload)",
      { approver: 'bob', comment: { toString: 1 } },
      /"comment" must be text/,
    ],
    ['comment a number', { approver: 'bob', comment: 5 }, /"comment" must be text/],
    ['huge comment', { approver: 'bob', comment: 'x'.repeat(1_500_000) }, /"comment" is longer than 2000/],
    ['huge approver', { approver: 'b'.repeat(1_500_000) }, /"approver" is longer than 100/],
    ['digest not hex', { approver: 'bob', digest: 'zz' }, /"digest" must be/],
    ['digest an array', { approver: 'bob', digest: [DIGEST] }, /"digest" must be/],
    ['expiresAt not a time', { approver: 'bob', digest: DIGEST, expiresAt: 'soon' }, /"expiresAt" must be/],
  ])('wrong types and sizes are refused with the field named (%s)', (_label, payload, reason) => {
    expect(refusalReason('approve', payload, gate(OPEN))).toMatch(reason);
  });

  test('a decision kind other than approve or reject is refused', () => {
    expect(refusalReason('merge', approve('bob'), gate(OPEN))).toBe('decision must be "approve" or "reject"');
    expect(refusalReason(undefined, approve('bob'), gate(OPEN))).toBe(
      'decision must be "approve" or "reject"',
    );
  });

  test('before the plan exists (gate not open) every decision is refused, not kept', () => {
    expect(refusalReason('approve', approve('bob'), gate(null, 'carol', null, null))).toMatch(
      /no plan to decide on yet/,
    );
    expect(
      refusalReason('reject', { approver: 'bob', comment: 'no' }, gate(null, 'carol', null, null)),
    ).toMatch(/no plan to decide on yet/);
  });

  test('an approval must name the plan digest, and the current one', () => {
    expect(refusalReason('approve', { approver: 'bob' }, gate(OPEN))).toMatch(
      /needs the plan's "digest" \(0123456789abcdef\)/,
    );
    expect(refusalReason('approve', approve('bob', { digest: 'fedcba9876543210' }), gate(OPEN))).toMatch(
      /is for plan fedcba9876543210, but the release's plan is 0123456789abcdef/,
    );
    expect(refusalReason('approve', approve('bob', { digest: DIGEST.toUpperCase() }), gate(OPEN))).toBeNull();
  });

  test('a rejection may omit the digest, but not name another one', () => {
    expect(refusalReason('reject', { approver: 'bob', comment: 'no' }, gate(OPEN))).toBeNull();
    expect(
      refusalReason('reject', { approver: 'bob', comment: 'no', digest: 'fedcba9876543210' }, gate(OPEN)),
    ).toMatch(/is for plan fedcba9876543210/);
  });

  test('an expired decision is refused; one still valid is taken', () => {
    expect(
      refusalReason('approve', approve('bob', { expiresAt: '2025-06-01T11:59:59.000Z' }), gate(OPEN)),
    ).toMatch(/expired at 2025-06-01T11:59:59.000Z/);
    expect(
      refusalReason('approve', approve('bob', { expiresAt: '2025-06-01T12:01:00.000Z' }), gate(OPEN)),
    ).toBeNull();
  });

  test.each([undefined, null, '', '   '])('a rejection without a reason (%p) is refused', (comment) => {
    expect(refusalReason('reject', { approver: 'alice', comment }, gate(OPEN))).toBe(
      'a rejection needs a reason in "comment"',
    );
  });

  test('an approval needs no comment', () => {
    expect(refusalReason('approve', approve('alice'), gate(OPEN))).toBeNull();
  });

  test('an approver outside the allowed list is refused, and the message lists who may', () => {
    expect(refusalReason('approve', approve('mallory'), gate(STRICT))).toBe(
      'mallory is not an allowed approver (allowed: alice, bob)',
    );
  });

  test('an allowed approver is accepted under another spelling of the same name', () => {
    for (const name of [' bob ', 'BOB', 'Ｂｏｂ', 'b\u200Bob', '\uFEFFbob\u00AD'])
      expect(refusalReason('approve', approve(name), gate(STRICT))).toBeNull();
  });

  test('four-eyes: whoever started the release cannot approve it under any spelling', () => {
    expect(refusalReason('approve', approve('alice'), gate(STRICT, 'alice'))).toBe(
      'four-eyes rule: alice started this release and cannot approve it',
    );
    for (const name of ['ALICE', 'ali\u200Bce', 'ａｌｉｃｅ', ' Alice\u2060 ', 'al\u00ADice']) {
      expect(refusalReason('approve', approve(name), gate(STRICT, 'alice'))).toMatch(/^four-eyes rule/);
    }
  });

  test('four-eyes with no known starter refuses every approval instead of switching itself off', () => {
    expect(refusalReason('approve', approve('bob'), gate(STRICT, ''))).toMatch(
      /started without a known operator/,
    );
    expect(refusalReason('approve', approve('bob'), gate(STRICT, '\u200B'))).toMatch(
      /started without a known operator/,
    );
  });

  test('four-eyes off: the starter may approve their own release', () => {
    expect(
      refusalReason('approve', approve('alice'), gate({ ...STRICT, fourEyes: false }, 'alice')),
    ).toBeNull();
  });

  test('anyone may reject with a reason: not in the allowed list, or the starter under four-eyes', () => {
    expect(
      refusalReason('reject', { approver: 'mallory', comment: 'wrong window' }, gate(STRICT)),
    ).toBeNull();
    expect(
      refusalReason('reject', { approver: 'alice', comment: 'abort' }, gate(STRICT, 'alice')),
    ).toBeNull();
  });

  test('a release that needs no approval refuses decisions', () => {
    expect(refusalReason('approve', approve('bob'), gate({ ...OPEN, required: false }))).toBe(
      'this release does not require approval',
    );
  });

  test('legacy replay: the old rule (no digest needed, decisions before the plan kept)', () => {
    const legacy: GateState = { ...gate(OPEN, 'carol', null, null), legacy: true };
    expect(refusalReason('approve', { approver: 'bob' }, legacy)).toBeNull();
  });
});

describe('readDecision', () => {
  test('records a cleaned name, a one-line comment and a lower-case digest', () => {
    expect(
      readDecision('approve', {
        approver: ' ｂob\u200B ',
        comment: '  ship\n it ',
        digest: ' ABCDEF0123456789 ',
      }),
    ).toEqual({
      kind: 'approve',
      approver: 'bob',
      comment: 'ship it',
      digest: 'abcdef0123456789',
      expiresAt: null,
    });
  });
});

describe('boundedText', () => {
  test('cuts anything to the limit, on one line, without throwing', () => {
    expect(boundedText('x'.repeat(1_500_000)).length).toBe(DECISION_LIMITS.recorded);
    expect(boundedText({ toString: 1 })).toBe('{"toString":1}');
    expect(boundedText('a\nb\u0000c')).toBe('a b c');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(boundedText(cyclic)).toBe('[unreadable]');
    expect(boundedText(undefined)).toBe('');
  });
});

describe('what approvers are told', () => {
  const policy = { required: true, approvers: [], fourEyes: true, timeout: '24 hours' };
  test('policyLines: who may approve, four-eyes with the starter, who may reject, the deadline', () => {
    expect(policyLines(policy, 'alice', '2026-11-26T10:00:00.000Z')).toEqual([
      'who may approve: anyone',
      'four-eyes: alice started it and cannot approve it',
      'anyone may reject, with a reason',
      'decide by 2026-11-26T10:00:00.000Z (timeout 24 hours; no decision by then rejects it)',
    ]);
    expect(policyLines({ ...policy, approvers: ['bob', 'carol'], fourEyes: false }, 'alice')).toEqual([
      'who may approve: only bob, carol',
      'four-eyes: off (the starter may approve)',
      'anyone may reject, with a reason',
      'timeout 24 hours (no decision by then rejects it)',
    ]);
    expect(policyLines(policy, '\u200b')[1]).toMatch(
      /^four-eyes: started without a known operator, so nobody can approve it/,
    );
  });

  test('gateTimerSummary: one line for the Web UI Timeline, who first, bounded', () => {
    const line = gateTimerSummary(policy, 'alice', '2026-11-26T10:00:00.123Z', '3f2a9c0d11b4e567');
    expect(line).toBe(
      'Waiting for approval: anyone may approve, not alice (four-eyes), until 2026-11-26T10:00:00Z; plan 3f2a9c0d11b4e567; the plan and how to approve: User Metadata tab',
    );
    expect(
      gateTimerSummary(
        { ...policy, approvers: Array.from({ length: 40 }, (_, i) => `approver-${i}`) },
        'alice',
        '2026-11-26T10:00:00Z',
        '3f2a9c0d11b4e567',
      ).length,
    ).toBeLessThanOrEqual(200);
  });
});
