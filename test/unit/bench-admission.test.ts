/**
 * The scale benchmark's process-wide admission limit (scripts/bench/admission.ts): at most `limit`
 * activities run at once, and a waiting one of a release that has finished more steps goes first,
 * then the release seen first, so releases drain one after another instead of in lock step.
 */
import { AdmissionLimiter } from '../../scripts/bench/admission';

/** Lets every settled promise run its continuations. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AdmissionLimiter', () => {
  test('never admits more than the limit at once', async () => {
    const limiter = new AdmissionLimiter(2);
    const admitted: string[] = [];
    for (const id of ['a', 'b', 'c', 'd']) void limiter.acquire(id).then(() => admitted.push(id));
    await flush();
    expect(admitted).toEqual(['a', 'b']);
    expect(limiter.waitingCount).toBe(2);
    limiter.release('a');
    await flush();
    expect(admitted).toEqual(['a', 'b', 'c']);
    expect(limiter.stats.peakWaiting).toBe(2);
  });

  test('a release further along goes before one that has not started, whatever the arrival order', async () => {
    const limiter = new AdmissionLimiter(1);
    const order: string[] = [];
    // Release "old" runs its first step; meanwhile three new releases ask for their first step.
    await limiter.acquire('old');
    for (const id of ['new1', 'new2', 'new3']) void limiter.acquire(id).then(() => order.push(id));
    await flush();
    limiter.release('old'); // old has one step behind it now: new1 is admitted
    await flush();
    expect(order).toEqual(['new1']);
    // old's second step asks while new2 and new3 still wait for their first: old goes first.
    void limiter.acquire('old').then(() => order.push('old'));
    limiter.release('new1');
    await flush();
    expect(order).toEqual(['new1', 'old']);
    limiter.release('old');
    await flush();
    expect(order).toEqual(['new1', 'old', 'new2']);
  });

  test('between releases equally far along, the one seen first goes first', async () => {
    const limiter = new AdmissionLimiter(1);
    await limiter.acquire('blocker');
    const order: string[] = [];
    void limiter.acquire('x').then(() => order.push('x'));
    void limiter.acquire('y').then(() => order.push('y'));
    await flush();
    limiter.release('blocker');
    await flush();
    limiter.release('x');
    await flush();
    expect(order).toEqual(['x', 'y']);
  });

  test('a limit that is not a whole number ≥ 1 is refused', () => {
    expect(() => new AdmissionLimiter(0)).toThrow('admission limit 0: use a whole number ≥ 1');
  });
});
