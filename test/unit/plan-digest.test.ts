import { createHash } from 'node:crypto';
import { canonicalJson, planDigest, sha256Hex } from '../../src/release/plan-digest';

describe('sha256Hex', () => {
  test.each([
    '',
    'abc',
    'x'.repeat(55),
    'x'.repeat(56),
    'x'.repeat(64),
    'héllo ☃ 𝄞 ａｌｉｃｅ',
    'a'.repeat(10_000),
  ])('matches node:crypto for %#', (text) => {
    expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  });
});

describe('planDigest', () => {
  const plan = {
    action: 'release',
    environment: 'production',
    pendingRevisions: [{ revision: 'r2', message: 'add tier' }],
    plans: [{ code: 'pro', amount: 9900 }],
  };

  test('does not depend on key order, and is 16 hex digits', () => {
    const reordered = {
      plans: [{ amount: 9900, code: 'pro' }],
      pendingRevisions: [{ message: 'add tier', revision: 'r2' }],
      environment: 'production',
      action: 'release',
    };
    expect(planDigest(reordered)).toBe(planDigest(plan));
    expect(planDigest(plan)).toMatch(/^[0-9a-f]{16}$/);
    expect(canonicalJson({ b: 1, a: [undefined, null], c: undefined })).toBe('{"a":[null,null],"b":1}');
  });

  test('changes with anything in the plan', () => {
    expect(planDigest({ ...plan, plans: [{ code: 'pro', amount: 9901 }] })).not.toBe(planDigest(plan));
    expect(planDigest({ ...plan, pendingRevisions: [] })).not.toBe(planDigest(plan));
    expect(planDigest({ ...plan, environment: 'staging' })).not.toBe(planDigest(plan));
  });
});
