import { maskSecret } from '../../src/masking';
import type { ReleaseActivities } from '../../src/activities';
import { temporalTestContext, type TemporalTestContext } from '../support/temporal';
import { releaseInput, withWorker } from './harness';
import { MOCK_ENV, mockActivities, okPlanRows } from './mock-activities';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await temporalTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

/** Every string in the history, with payload bytes decoded as UTF-8 (payloads are JSON). */
function historyText(node: unknown, out: string[] = []): string[] {
  if (node instanceof Uint8Array) out.push(Buffer.from(node).toString('utf8'));
  else if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const item of node) historyText(item, out);
  else if (typeof node === 'object' && node !== null)
    for (const value of Object.values(node)) historyText(value, out);
  return out;
}

const scenarios: Array<[string, Partial<ReleaseActivities>]> = [
  ['a successful release', {}],
  [
    'a rolled-back release',
    {
      verifyBillingPlans: (input) =>
        Promise.resolve(okPlanRows(input.codes).map((row) => ({ ...row, status: 'missing' as const }))),
    },
  ],
];

test.each(scenarios)(
  'the history of %s holds masked values only, never a secret',
  async (_label, overrides) => {
    const mocks = mockActivities({ overrides });
    const text = await withWorker(ctx, mocks.activities, async (start) => {
      const handle = await start(releaseInput({ environment: 'history-check' }));
      await handle.result().catch(() => undefined);
      return historyText(await handle.fetchHistory()).join('\n');
    });

    // The decoding works: the input and the masked values are readable in the history.
    expect(text).toContain('history-check');
    expect(text).toContain(maskSecret(MOCK_ENV.STRIPE_SECRET_KEY));
    expect(text).toContain(maskSecret(MOCK_ENV.STRIPE_WEBHOOK_SECRET));
    for (const secret of Object.values(MOCK_ENV)) expect(text).not.toContain(secret);
  },
);
