/** One rule for durations in the config and the flags (issue 16: zod at the boundaries). */
import { DURATION_PATTERN, durationMs } from '../../src/release/duration';
import { parseReleaseConfig } from '../../src/config/release-config';

test('a duration as written in the config or a flag becomes milliseconds', () => {
  expect(durationMs('24 hours')).toEqual({ ms: 86_400_000 });
  expect(durationMs('30 minutes')).toEqual({ ms: 1_800_000 });
  expect(durationMs('90s')).toEqual({ ms: 90_000 });
  expect(durationMs('7 days')).toEqual({ ms: 604_800_000 });
});

test.each(['', 'soon', '24', '-1 hours', '24 hours; rm -rf /', '1e3 s', ' 24 hours'])(
  '"%s" is refused with the fix',
  (text) => {
    expect(DURATION_PATTERN.test(text)).toBe(false);
    expect(durationMs(text, '"7 days"')).toEqual({ error: 'use a duration such as "7 days"' });
  },
);

test('the config refuses a bad duration naming the field', () => {
  expect(() => parseReleaseConfig(JSON.stringify({ rollbackWindow: 'a day' }))).toThrow(
    /rollbackWindow.*use a duration such as "24 hours"/,
  );
  expect(() =>
    parseReleaseConfig(
      JSON.stringify({
        environments: { production: { promotion: { requires: ['staging'], maxAge: 'a week' } } },
      }),
    ),
  ).toThrow(/maxAge.*use a duration such as "7 days"/);
});
