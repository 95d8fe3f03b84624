/**
 * Durations as the config and the flags write them ("24 hours", "30 minutes", "7 days", "90s"),
 * checked once with zod and turned into milliseconds by the same rule the Temporal SDK uses.
 */
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { z } from 'zod';

export const DURATION_PATTERN = /^\d+(\.\d+)?\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?)$/i;

/** A duration string; `example` goes into the message of a bad one. */
export const durationSchema = (example = '"24 hours" or "30 minutes"') =>
  z.string().regex(DURATION_PATTERN, `use a duration such as ${example}`);

/** Milliseconds of a duration, or the reason it is not one (the caller names the field). */
export function durationMs(text: string, example?: string): { ms: number } | { error: string } {
  const parsed = durationSchema(example).safeParse(text);
  if (!parsed.success) return { error: parsed.error.issues[0]?.message ?? 'not a duration' };
  return { ms: msToNumber(parsed.data as Duration) };
}
