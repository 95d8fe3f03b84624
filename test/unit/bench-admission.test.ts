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

  test('a release further along goes first, even one seen later', async () => {
    const limiter = new AdmissionLimiter(1);
    // "a" is seen first and finishes one step; "b", seen later, finishes two meanwhile.
    await limiter.acquire('a');
    limiter.release('a');
    for (let i = 0; i < 2; i++) {
      await limiter.acquire('b');
      limiter.release('b');
    }
    await limiter.acquire('hog');
    const order: string[] = [];
    void limiter.acquire('a').then(() => order.push('a'));
    void limiter.acquire('b').then(() => order.push('b'));
    void limiter.acquire('new').then(() => order.push('new'));
    await flush();
    expect(order).toEqual([]);
    for (const id of ['hog', 'b', 'a']) {
      limiter.release(id);
      await flush();
    }
    // b (2 steps done) before a (1 step) before new (none), whatever the order they asked in.
    expect(order).toEqual(['b', 'a', 'new']);
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

  test('an attempt cancelled or timed out while it waits leaves the queue and never runs', async () => {
    const limiter = new AdmissionLimiter(1);
    await limiter.acquire('hog');
    const stop = new AbortController();
    const order: string[] = [];
    const gaveUp = limiter.acquire('stale', stop.signal).then(
      () => order.push('stale'),
      (error: Error) => error.message,
    );
    void limiter.acquire('next').then(() => order.push('next'));
    stop.abort(new Error('activity timed out'));
    await expect(gaveUp).resolves.toBe('activity timed out');
    limiter.release('hog');
    await flush();
    expect(order).toEqual(['next']);
    expect(limiter.stats.abandoned).toBe(1);
  });

  test('a limit that is not a whole number ≥ 1 is refused', () => {
    expect(() => new AdmissionLimiter(0)).toThrow('admission limit 0: use a whole number ≥ 1');
  });
});
