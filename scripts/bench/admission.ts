/**
 * A process-wide admission limit for activities, for one process that hosts many release workers
 * (one per backend checkout, as the scale benchmark does). Each worker polls its own task queue,
 * so no task queue orders the work of different releases: without a limit, 200 releases each run
 * their current step at once, share the cores evenly, and all finish together (lock step).
 *
 * Here at most `limit` activities run their code at once; the others wait inside the worker, in
 * priority order: the release that has finished more steps first (it is nearer its end), then the
 * release first seen. So releases drain one after another instead of all advancing together.
 * While an activity waits it heartbeats (with the details it was given, so a retry keeps what an
 * earlier attempt saved), so a step with a heartbeat timeout is not timed out for waiting here.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export interface AdmissionOptions {
  /** Activities running their code at once in this process. */
  limit: number;
  /** How often a waiting activity heartbeats; default 5 s. */
  heartbeatEveryMs?: number;
}

interface Waiter {
  progress: number;
  arrival: number;
  seq: number;
  admit: () => void;
}

export interface AdmissionStats {
  /** Activities admitted so far. */
  admitted: number;
  /** The most that ever waited at once. */
  peakWaiting: number;
  /** Attempts that gave up waiting: cancelled or timed out meanwhile (the step's start-to-close limit). */
  abandoned: number;
  /** Attempts after the first (a retry, e.g. of an attempt that timed out while waiting). */
  retries: number;
}

/** Priority queue of waiters by (progress desc, arrival asc, seq asc); small N, a sorted insert is enough. */
export class AdmissionLimiter {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly progressOf = new Map<string, number>();
  private readonly arrivalOf = new Map<string, number>();
  private nextArrival = 0;
  private nextSeq = 0;
  readonly stats: AdmissionStats = { admitted: 0, peakWaiting: 0, abandoned: 0, retries: 0 };

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`admission limit ${limit}: use a whole number ≥ 1`);
  }

  private rankOf(workflowId: string): { progress: number; arrival: number } {
    let arrival = this.arrivalOf.get(workflowId);
    if (arrival === undefined) {
      arrival = this.nextArrival++;
      this.arrivalOf.set(workflowId, arrival);
    }
    return { progress: this.progressOf.get(workflowId) ?? 0, arrival };
  }

  /**
   * Resolves when the activity of this workflow may run; `release` must be called once it has
   * ended. Rejects (and leaves the queue) when `signal` aborts first; no `release` then.
   */
  acquire(workflowId: string, signal?: AbortSignal): Promise<void> {
    const { progress, arrival } = this.rankOf(workflowId);
    if (this.running < this.limit && this.waiting.length === 0) {
      this.running++;
      this.stats.admitted++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        this.stats.abandoned++;
        reject(signal?.reason instanceof Error ? signal.reason : new Error('gave up waiting for admission'));
      };
      const waiter: Waiter = {
        progress,
        arrival,
        seq: this.nextSeq++,
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      if (signal?.aborted) {
        this.stats.abandoned++;
        reject(signal.reason instanceof Error ? signal.reason : new Error('gave up waiting for admission'));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      const before = (w: Waiter) =>
        waiter.progress > w.progress ||
        (waiter.progress === w.progress &&
          (waiter.arrival < w.arrival || (waiter.arrival === w.arrival && waiter.seq < w.seq)));
      const at = this.waiting.findIndex(before);
      if (at < 0) this.waiting.push(waiter);
      else this.waiting.splice(at, 0, waiter);
      this.stats.peakWaiting = Math.max(this.stats.peakWaiting, this.waiting.length);
      this.drain();
    });
  }

  /** The activity ended (any outcome): its release has one more step behind it. */
  release(workflowId: string): void {
    this.running--;
    this.progressOf.set(workflowId, (this.progressOf.get(workflowId) ?? 0) + 1);
    this.drain();
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  private drain(): void {
    while (this.running < this.limit && this.waiting.length > 0) {
      const next = this.waiting.shift() as Waiter;
      this.running++;
      this.stats.admitted++;
      next.admit();
    }
  }
}

/** The worker interceptor that puts every activity of this process through one limiter. */
export function admissionInterceptor(
  limiter: AdmissionLimiter,
  options: { heartbeatEveryMs?: number } = {},
): ActivityInterceptorsFactory {
  const every = options.heartbeatEveryMs ?? 5_000;
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const workflowId = ctx.info.workflowExecution?.workflowId ?? ctx.info.activityId;
        if (ctx.info.attempt > 1) limiter.stats.retries++;
        // A local activity runs inside its workflow's task and is short (a pg read, a file write):
        // made to wait here it would hold that task open for the whole queue, and the task can time
        // out and run again. It is admitted at once, like the workflow tasks themselves.
        if (ctx.info.isLocal) return next(input);
        const timer = setInterval(() => ctx.heartbeat(ctx.info.heartbeatDetails), every);
        try {
          // An attempt that times out or is cancelled while it waits leaves the queue (no work done twice).
          await limiter.acquire(workflowId, ctx.cancellationSignal);
        } finally {
          clearInterval(timer);
        }
        try {
          return await next(input);
        } finally {
          limiter.release(workflowId);
        }
      },
    },
  });
}
