/**
 * The suite's one way to wait: poll a condition until it holds, bounded by a deadline. A
 * condition returns the value it waited for (anything but undefined/null/false) or nothing yet.
 */
export interface EventuallyOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what: string;
  /** Extra context for the timeout message: the state found at the deadline. */
  describe?: () => Promise<string> | string;
}

export async function eventually<T>(condition: () => Promise<T | null | undefined | false> | T | null | undefined | false, options: EventuallyOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 250;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
  let context = '';
  try {
    context = options.describe ? `\nstate found: ${await options.describe()}` : '';
  } catch (error) {
    context = `\n(describing the state failed: ${String(error)})`;
  }
  const cause = lastError ? `\nlast error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}` : '';
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${cause}${context}`);
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
