/**
 * The fault suite waits with the tests' shared `eventually()` (test/support/eventually.ts); its
 * cases always pass a deadline and what they wait for (the shared default interval is shorter).
 */
import {
  eventually as sharedEventually,
  type EventuallyOptions as SharedOptions,
} from '../../support/eventually';

export type EventuallyOptions = SharedOptions & { timeoutMs: number; what: string };

export function eventually<T>(
  condition: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  options: EventuallyOptions,
): Promise<T> {
  return sharedEventually(condition, { intervalMs: 250, ...options });
}

/** A free TCP port on loopback (bound, read, released). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves after `ms`: only for a fault's own duration (an outage lasts N seconds), never to wait for a state. */
export function faultDuration(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
