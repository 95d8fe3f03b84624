/**
 * The tests' one way to wait (every tier, and the fault suite): poll a condition until it holds,
 * bounded by a deadline; never a fixed sleep. A condition returns the value it waited for
 * (anything but undefined/null/false) or nothing yet; a condition that throws counts as not yet,
 * and its last error is in the timeout message.
 */
export interface EventuallyOptions {
  /** The deadline (default 10 s): a bound on a hang, not a timed assertion. */
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
  /** Extra context for the timeout message: the state found at the deadline. */
  describe?: () => Promise<string> | string;
}

export async function eventually<T>(
  condition: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  options: EventuallyOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const interval = options.intervalMs ?? 50;
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
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))),
    );
  }
  let context = '';
  try {
    context = options.describe ? `\nstate found: ${await options.describe()}` : '';
  } catch (error) {
    context = `\n(describing the state failed: ${String(error)})`;
  }
  const cause = lastError
    ? `\nlast error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`
    : '';
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${options.what ?? 'the condition'}${cause}${context}`,
  );
}
