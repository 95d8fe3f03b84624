import { refusalReason } from '../../src/release/approval';
import type { ApprovalDecision, ApprovalPolicy } from '../../src/release/types';

const OPEN: ApprovalPolicy = { required: true, approvers: [], fourEyes: false, timeout: '24 hours' };
const STRICT: ApprovalPolicy = { required: true, approvers: ['alice', 'bob'], fourEyes: true, timeout: '24 hours' };
const DECIDED: ApprovalDecision = { decision: 'approved', approver: 'bob', comment: null, via: 'update', at: '2025-01-01T00:00:00.000Z' };

describe('refusalReason', () => {
  test('an already decided release refuses any further decision, naming who decided', () => {
    const reason = refusalReason('approve', { approver: 'alice' }, OPEN, 'carol', DECIDED);
    expect(reason).toBe('already approved by bob at 2025-01-01T00:00:00.000Z');
    expect(refusalReason('reject', { approver: 'alice', comment: 'no' }, OPEN, 'carol', { ...DECIDED, decision: 'rejected' })).toMatch(
      /^already rejected by bob/,
    );
  });

  test.each([
    ['no payload', undefined],
    ['empty approver', { approver: '' }],
    ['blank approver', { approver: '   ' }],
    ['approver not a string', { approver: 42 as unknown as string }],
  ])('missing approver (%s) is refused', (_label, payload) => {
    expect(refusalReason('approve', payload, OPEN, 'carol', null)).toMatch(/needs "approver"/);
    expect(refusalReason('reject', payload, OPEN, 'carol', null)).toMatch(/needs "approver"/);
  });

  test.each([undefined, null, '', '   '])('a rejection without a reason (%p) is refused', (comment) => {
    expect(refusalReason('reject', { approver: 'alice', comment }, OPEN, 'carol', null)).toBe('a rejection needs a reason in "comment"');
  });

  test('an approval needs no comment', () => {
    expect(refusalReason('approve', { approver: 'alice' }, OPEN, 'carol', null)).toBeNull();
  });

  test('an approver outside the allowed list is refused, and the message lists who may', () => {
    expect(refusalReason('approve', { approver: 'mallory' }, STRICT, 'carol', null)).toBe(
      'mallory is not an allowed approver (allowed: alice, bob)',
    );
  });

  test('an allowed approver is accepted (name trimmed)', () => {
    expect(refusalReason('approve', { approver: ' bob ' }, STRICT, 'carol', null)).toBeNull();
  });

  test('four-eyes: whoever started the release cannot approve it', () => {
    expect(refusalReason('approve', { approver: 'alice' }, STRICT, 'alice', null)).toBe(
      'four-eyes rule: alice started this release and cannot approve it',
    );
  });

  test('four-eyes off: the starter may approve their own release', () => {
    expect(refusalReason('approve', { approver: 'alice' }, { ...STRICT, fourEyes: false }, 'alice', null)).toBeNull();
  });

  test('anyone may reject with a reason: not in the allowed list, or the starter under four-eyes', () => {
    expect(refusalReason('reject', { approver: 'mallory', comment: 'wrong window' }, STRICT, 'carol', null)).toBeNull();
    expect(refusalReason('reject', { approver: 'alice', comment: 'abort' }, STRICT, 'alice', null)).toBeNull();
  });
});
