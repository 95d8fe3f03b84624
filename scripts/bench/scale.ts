/**
 * N independent releases started at once against one dev server and one worker process.
 *
 * A release holds a lease row in its target database (src/activities/target-lease.ts), so N
 * releases at once need N databases; and a worker serves one backend checkout, whose env files
 * name one DATABASE_URL and one ENVIRONMENT (the worker refuses releases of other environments).
 * So N environments are N backend copies, each with its own database (cloned from one migrated
 * template) and its own task queue, served by N release workers hosted in ONE worker process
 * (scripts/bench/worker-main.ts --backends), sharing one NativeConnection and one Runtime. That is
 * what one host serving N checkouts would run, in one process instead of N.
 *
 * Every release is a real one: its pre-flight (git, `select version()`, the version table, the one
 * Alembic inspection), the lease, the no-op migrate command (`true`: the databases are at head
 * already), the revision read, the `billing_plans` check and the evidence; Stripe is skipped
 * (`--skip-stripe`).
 */
import type { Client } from '@temporalio/client';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { prepareRelease, startRelease, type PreparedRelease } from '../../src/cli/commands/release-db';
import { summaryOfResult } from '../../src/cli/release-runs';
import { adminUrl } from '../../src/devstack/postgres';
import type { ReleaseSummary } from '../../src/release/types';
import { countScheduledActivities } from './release-runs';
import { childCpuSeconds, cpuShare, cpuSnapshot } from './cpu';
import { median, percentile } from './stats';
import type { WorkerChild } from './worker-child';

export interface ScaleCase {
  n: number;
  /** Activities of the whole worker process running at once (scripts/bench/admission.ts); 0: no limit. */
  admission: number;
}

/** One environment: a backend copy, its own database, its own task queue. */
export interface ScaleBackend {
  projectRoot: string;
  environment: string;
  taskQueue: string;
}

export interface ScaleResult extends ScaleCase {
  label: string;
  /** Activities one release of this case scheduled (from the first release's history). */
  activitiesPerRelease: number | null;
  /** From the first start request to the last result. */
  wallMs: number;
  /** Until every start request had been accepted by the server. */
  allStartedMs: number;
  releasesPerSecond: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyMaxMs: number;
  /** Median completion time over the wall time: 1 is lock step (all finish together), about 0.5 one after another. */
  medianOverWall: number;
  /** Activity attempts after the first, and attempts that gave up waiting for admission (worker totals during the case). */
  retriedAttempts: number | null;
  abandonedWaits: number | null;
  /** Python interpreters started per release (from the counter; the whole case / N). */
  pythonPerRelease: number | null;
  /** Median over releases of each step's own duration (scheduled → completed, so queueing included). */
  stepMedianMs: Record<string, number>;
  succeeded: number;
  failed: number;
  /** Releases still running at the benchmark's deadline, terminated and counted as failed. */
  terminatedAtDeadline: number;
  failures: string[];
  workerRssBeforeBytes: number;
  workerPeakRssBytes: number;
  peakPgConnections: number;
  machineCpuBusyPct: number;
  /** Share of the machine used by processes outside the benchmark meanwhile (other jobs on a shared host). */
  othersCpuPct: number | null;
  devServerCpuSeconds: number | null;
  workerCpuSeconds: number | null;
  commandCpuSeconds: number | null;
}

/** Client connections on the Postgres server, sampled every 100 ms (the sampler's own included). */
async function startPgSampler(): Promise<{ stop: () => Promise<number> }> {
  const db = new pg.Client({ connectionString: adminUrl(), connectionTimeoutMillis: 5_000 });
  await db.connect();
  let peak = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    db.query<{ n: string }>(
      "select count(*) as n from pg_stat_activity where backend_type = 'client backend'",
    )
      .then((r) => {
        peak = Math.max(peak, Number(r.rows[0]?.n ?? 0));
      })
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, 100);
  return {
    async stop() {
      clearInterval(timer);
      await db.end().catch(() => undefined);
      return peak;
    },
  };
}

export interface ScaleContext {
  client: Client;
  address: string;
  /** At least N of them. */
  backends: ScaleBackend[];
  /** Python interpreter starts so far (scripts/bench/proc-count.ts), or null. */
  pythonCount: (() => number) | null;
  env: NodeJS.ProcessEnv;
  worker: WorkerChild;
  log: (line: string) => void;
  /** performance.now() by which the case must end: releases still running then are terminated. */
  deadline: number;
}

export async function runScaleCase(ctx: ScaleContext, scaleCase: ScaleCase): Promise<ScaleResult> {
  const label = `n${scaleCase.n}-admission${scaleCase.admission}`;
  if (ctx.backends.length < scaleCase.n)
    throw new Error(`${scaleCase.n} releases need ${scaleCase.n} backends, ${ctx.backends.length} prepared`);
  const prepared: PreparedRelease[] = [];
  for (const backend of ctx.backends.slice(0, scaleCase.n)) {
    prepared.push(
      await prepareRelease(
        {
          projectRoot: backend.projectRoot,
          environment: backend.environment,
          nonInteractive: true,
          skipStripe: true,
          address: ctx.address,
          taskQueue: backend.taskQueue,
        },
        ctx.env,
      ),
    );
  }
  const pythonBefore = ctx.pythonCount?.() ?? null;
  const before = await ctx.worker.memory(true);
  const cpuBefore = await ctx.worker.cpu();
  const machineBefore = await cpuSnapshot();
  const serverBefore = await childCpuSeconds('temporal');
  const sampler = await startPgSampler();

  const started = performance.now();
  const handles = await Promise.all(prepared.map((p) => startRelease(ctx.client, p)));
  const allStartedMs = performance.now() - started;
  let done = 0;
  const progress = setInterval(
    () =>
      ctx.log(
        `scale ${label}: ${done}/${scaleCase.n} done after ${Math.round((performance.now() - started) / 1000)} s`,
      ),
    15_000,
  );
  const finished = new Set<number>();
  const pending = handles.map(async (handle, index) => {
    let summary: ReleaseSummary | null = null;
    let error: string | null = null;
    try {
      summary = await summaryOfResult(handle);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    done++;
    finished.add(index);
    return { summary, error, latencyMs: performance.now() - started };
  });
  let deadlineTimer: NodeJS.Timeout | undefined;
  const deadlineHit = await Promise.race([
    Promise.all(pending).then(() => false),
    new Promise<boolean>((resolve) => {
      deadlineTimer = setTimeout(() => resolve(true), Math.max(0, ctx.deadline - performance.now()));
    }),
  ]);
  clearTimeout(deadlineTimer);
  let terminatedAtDeadline = 0;
  if (deadlineHit) {
    const open = handles.filter((_h, index) => !finished.has(index));
    terminatedAtDeadline = open.length;
    ctx.log(`scale ${label}: time budget reached, terminating ${open.length} releases still running`);
    await Promise.all(open.map((h) => h.terminate('benchmark time budget reached').catch(() => undefined)));
  }
  const outcomes = await Promise.all(pending);
  clearInterval(progress);
  const wallMs = performance.now() - started;
  const pythonAfter = ctx.pythonCount?.() ?? null;

  const machineAfter = await cpuSnapshot();
  const serverAfter = await childCpuSeconds('temporal');
  const cpuAfter = await ctx.worker.cpu();
  const peakPgConnections = await sampler.stop();
  const after = await ctx.worker.memory();

  const latencies = outcomes.map((o) => o.latencyMs);
  const failures = outcomes
    .filter((o) => o.summary?.status !== 'success')
    .map((o) => o.error ?? `${o.summary?.status ?? 'unknown'}: ${o.summary?.error?.message ?? ''}`);
  const stepDurations = new Map<string, number[]>();
  for (const o of outcomes) {
    for (const step of o.summary?.steps ?? []) {
      if (step.duration_ms === null || step.status === 'skipped') continue;
      stepDurations.set(step.name, [...(stepDurations.get(step.name) ?? []), step.duration_ms]);
    }
  }
  const share = cpuShare(machineBefore, machineAfter);
  const first = handles[0];
  const activitiesPerRelease = first
    ? await countScheduledActivities(ctx.client, first.workflowId).catch(() => null)
    : null;
  return {
    ...scaleCase,
    label,
    activitiesPerRelease,
    wallMs,
    allStartedMs,
    // Completed releases only: a case cut short by the time budget must not look fast.
    releasesPerSecond: (scaleCase.n - failures.length) / (wallMs / 1000),
    latencyP50Ms: median(latencies),
    latencyP95Ms: percentile(latencies, 95),
    latencyMaxMs: Math.max(...latencies),
    medianOverWall: median(latencies) / wallMs,
    retriedAttempts:
      after.admission && before.admission ? after.admission.retries - before.admission.retries : null,
    abandonedWaits:
      after.admission && before.admission ? after.admission.abandoned - before.admission.abandoned : null,
    pythonPerRelease:
      pythonBefore !== null && pythonAfter !== null ? (pythonAfter - pythonBefore) / scaleCase.n : null,
    stepMedianMs: Object.fromEntries([...stepDurations].map(([name, values]) => [name, median(values)])),
    succeeded: scaleCase.n - failures.length,
    failed: failures.length,
    terminatedAtDeadline,
    failures: [...new Set(failures)].slice(0, 5),
    workerRssBeforeBytes: before.rss,
    workerPeakRssBytes: after.peakRss,
    peakPgConnections,
    machineCpuBusyPct: share.machineBusyPct,
    othersCpuPct: share.othersPct,
    devServerCpuSeconds: serverBefore !== null && serverAfter !== null ? serverAfter - serverBefore : null,
    workerCpuSeconds: cpuBefore && cpuAfter ? cpuAfter.selfSeconds - cpuBefore.selfSeconds : null,
    commandCpuSeconds: cpuBefore && cpuAfter ? cpuAfter.childrenSeconds - cpuBefore.childrenSeconds : null,
  };
}
