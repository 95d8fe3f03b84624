/**
 * `npm run bench`: what Temporal costs the database release, on this machine.
 *
 * 1. Release overhead: a full release of the sample backend through the workflow vs the runbook
 *    by hand vs the same activity functions called directly, alternating, each from a fresh
 *    database and a fresh Stripe peer; with real migrations and with a no-op migrate command.
 * 2. Start-up: worker ready-to-poll with the workflow code bundled at start vs a prebuilt bundle
 *    (in this process, and as a fresh process), and the CLI's time to print `Started release`.
 * 3. Scale: N releases started at once against one dev server and one worker process.
 *
 * Progress goes to stderr, the tables to stdout, everything measured to var/bench/bench-<UTC>.json.
 * Knobs: BENCH_REPS (default 5), BENCH_SCALE (default 1,2,10,50,200), BENCH_BUDGET_S (default 840).
 * Everything started here (dev server, Stripe peer, worker process, databases, temp dirs) is
 * stopped or dropped on the way out, also on failure and on Ctrl-C.
 */
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  type Worker,
} from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { prepareRelease, startRelease, utcStamp } from '../src/cli/commands/release-db';
import { summaryOfResult } from '../src/cli/release-runs';
import { loadEnvScope } from '../src/config/env-files';
import { pathWithTools, repoRoot, temporalExecutable } from '../src/devstack/paths';
import { adminUrl, createDatabase, dropDatabase } from '../src/devstack/postgres';
import { prepareSampleBackend } from '../src/devstack/sample-backend';
import { PEER_SECRET_KEY, PEER_WEBHOOK_SECRET } from '../src/devstack/stack';
import { startStripePeer } from '../dev/stripe-peer';
import { addressOf, startDevServer } from '../src/devstack/temporal';
import { runCommand } from '../src/runtime/command-runner';
import { createReleaseWorker } from '../src/worker';
import { Cleanup } from './bench/cleanup';
import { cpuShare, cpuSnapshot, type CpuShare, type CpuSnapshot } from './bench/cpu';
import {
  DIRECT_ACTIVITIES,
  setMigrateCommand,
  timedRelease,
  type MigrateMode,
  type RunContext,
  type RunResult,
  type Variant,
} from './bench/release-runs';
import { runScaleCase, type ScaleCase, type ScaleContext, type ScaleResult } from './bench/scale';
import { markdownTable, median, mib, ms, ratio } from './bench/stats';
import {
  timeCli,
  timeWorkerCreate,
  timeWorkerProcess,
  type BundleMode,
  type CliTiming,
} from './bench/startup';
import { startWorkerChild, type WorkerChild } from './bench/worker-child';

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}="${raw}": use a whole number ≥ 1`);
  return n;
}

/** Rotates the variants so none always runs first (A/B/C, B/C/A, C/A/B, …). */
function rotated<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

interface ReleaseRow {
  mode: MigrateMode;
  medians: Record<Variant, number>;
  samples: Record<Variant, number[]>;
  /** Activities a workflow run scheduled (median over the timed runs, from their histories). */
  activities: number;
  /** workflow / by hand, workflow / direct, and the differences per activity. */
  derived: {
    workflowOverManual: number;
    workflowOverDirect: number;
    perActivityVsManualMs: number;
    perActivityVsDirectMs: number;
  };
  allOk: boolean;
}

interface StartupResult {
  inProcessCreateMs: Record<BundleMode, number[]>;
  processSpawnToReadyMs: Record<BundleMode, number[]>;
  processCreateMs: Record<BundleMode, number[]>;
  bundleOnceMs: number;
  cli: CliTiming[];
  inProcessStartMs: number[];
}

async function main(): Promise<number> {
  const benchStarted = performance.now();
  const reps = intEnv('BENCH_REPS', 5);
  const budgetMs = intEnv('BENCH_BUDGET_S', 840) * 1000;
  const scaleNs = (process.env.BENCH_SCALE ?? '1,2,10,50,200')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  const elapsed = () => performance.now() - benchStarted;
  const left = () => budgetMs - elapsed();
  process.env.PATH = pathWithTools();
  Runtime.install({ logger: new DefaultLogger('WARN') });

  const cleanup = new Cleanup();
  // Installed for the whole run (not `once`): the Temporal runtime drops its own signal handlers when
  // it sees the first signal, and without a listener left a later one would kill us mid-cleanup.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      log(`${signal} again: still cleaning up`);
      return;
    }
    interrupted = true;
    log(`${signal}: cleaning up`);
    void cleanup.run(log).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const notes: string[] = [];
  const phases: Record<string, number> = {};
  const phaseCpu: Record<string, CpuShare> = {};
  // What the machine does without us: on a shared host other jobs run too, and every number below moves with them.
  const idleBefore = await cpuSnapshot();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const background = cpuShare(idleBefore, await cpuSnapshot());
  log(`background CPU before starting: ${Math.round(background.machineBusyPct)}% of the machine busy`);
  if (background.machineBusyPct > 20)
    notes.push(
      `the machine was ${Math.round(background.machineBusyPct)}% busy before the benchmark started (other jobs); expect noise`,
    );
  let phaseCpuStart: CpuSnapshot = await cpuSnapshot();
  const endPhase = async (name: string, started: number) => {
    phases[name] = performance.now() - started;
    const now = await cpuSnapshot();
    phaseCpu[name] = cpuShare(phaseCpuStart, now);
    phaseCpuStart = now;
  };
  const tag = String(process.pid);
  const databases = new Set<string>();
  try {
    const work = await mkdtemp(path.join(os.tmpdir(), 'db-release-bench-'));
    cleanup.add(`remove ${work}`, () => rm(work, { recursive: true, force: true }));
    cleanup.add('drop benchmark databases', async () => {
      for (const name of [...databases]) await dropDatabase(name);
    });

    log('starting the Temporal dev server and the Stripe peer');
    const server = await startDevServer();
    cleanup.add('stop the Temporal dev server', () => server.teardown());
    const address = addressOf(server);
    const peer = await startStripePeer({ port: 0, apiKeys: [PEER_SECRET_KEY] });
    cleanup.add('stop the Stripe peer', () => peer.close());
    const connection = await Connection.connect({ address });
    cleanup.add('close the client connection', () => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const native = await NativeConnection.connect({ address });
    cleanup.add('close the worker connection', () => native.close());

    const bundleStarted = performance.now();
    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../src/workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const bundleOnceMs = performance.now() - bundleStarted;
    const bundlePath = path.join(work, 'workflow-bundle.js');
    await writeFile(bundlePath, bundle.code);
    log(`workflow bundle built in ${Math.round(bundleOnceMs)} ms`);
    const env: NodeJS.ProcessEnv = { ...process.env };
    const meta = {
      startedAt: new Date().toISOString(),
      host: os.hostname(),
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryBytes: os.totalmem(),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      temporalCli: safe(() => execFileSync(temporalExecutable(), ['--version'], { encoding: 'utf8' }).trim()),
      postgres: await pgFacts(),
      reps,
      backgroundCpu: background,
    };

    // ---- 1. release overhead ----------------------------------------------------------------
    phaseCpuStart = await cpuSnapshot();
    let phaseStarted = performance.now();
    const releaseQueue = 'bench-release';
    const releaseBackend = path.join(work, 'backend-release');
    const workerA: Worker = await createReleaseWorker({
      projectRoot: releaseBackend,
      taskQueue: releaseQueue,
      namespace: 'default',
      connection: native,
      workflowBundle: { code: bundle.code },
    });
    const runningA = workerA.run();
    const stopWorkerA = cleanup.add('stop the release worker', async () => {
      if (workerA.getState() === 'RUNNING') workerA.shutdown();
      await runningA;
    });
    const ctx: RunContext = {
      client,
      address,
      taskQueue: releaseQueue,
      peer,
      backendDir: releaseBackend,
      tag,
      databases,
      env,
    };
    const variants: Variant[] = ['workflow', 'manual', 'direct'];
    const runs: RunResult[] = [];
    const releaseRows: ReleaseRow[] = [];
    let seq = 0;
    for (const mode of ['real', 'noop'] as const) {
      log(`release overhead, ${mode} migrations: 1 warm-up + ${reps} timed runs of ${variants.join(' / ')}`);
      for (const variant of variants) runs.push(await timedRelease(ctx, variant, mode, ++seq, true));
      for (let i = 0; i < reps; i++) {
        for (const variant of rotated(variants, i)) {
          const r = await timedRelease(ctx, variant, mode, ++seq, false);
          runs.push(r);
          log(`  ${mode} #${i + 1} ${variant}: ${Math.round(r.ms)} ms${r.ok ? '' : ` NOT OK (${r.detail})`}`);
        }
      }
      const timed = runs.filter((r) => r.mode === mode && !r.warmup);
      const samples = Object.fromEntries(
        variants.map((v) => [v, timed.filter((r) => r.variant === v).map((r) => r.ms)]),
      ) as Record<Variant, number[]>;
      const medians = Object.fromEntries(variants.map((v) => [v, median(samples[v])])) as Record<
        Variant,
        number
      >;
      const counted = timed
        .filter((r) => r.variant === 'workflow' && r.activities !== null)
        .map((r) => r.activities as number);
      const activities = counted.length > 0 ? median(counted) : DIRECT_ACTIVITIES;
      if (activities !== DIRECT_ACTIVITIES) {
        notes.push(
          `${mode}: the workflow scheduled ${activities} activities, the direct variant calls ${DIRECT_ACTIVITIES}; update scripts/bench/release-runs.ts`,
        );
      }
      releaseRows.push({
        mode,
        samples,
        medians,
        activities,
        derived: {
          workflowOverManual: medians.workflow / medians.manual,
          workflowOverDirect: medians.workflow / medians.direct,
          perActivityVsManualMs: (medians.workflow - medians.manual) / activities,
          perActivityVsDirectMs: (medians.workflow - medians.direct) / activities,
        },
        allOk: timed.every((r) => r.ok),
      });
    }
    await stopWorkerA();
    await endPhase('release', phaseStarted);

    // ---- 2. start-up ------------------------------------------------------------------------
    phaseStarted = performance.now();
    log(
      `start-up: Worker.create with the bundle built at start vs prebuilt, ${reps} each, in this process and as a fresh process`,
    );
    const startup: StartupResult = {
      bundleOnceMs,
      inProcessCreateMs: { 'at-start': [], prebuilt: [] },
      processSpawnToReadyMs: { 'at-start': [], prebuilt: [] },
      processCreateMs: { 'at-start': [], prebuilt: [] },
      cli: [],
      inProcessStartMs: [],
    };
    const modes: BundleMode[] = ['at-start', 'prebuilt'];
    for (let i = 0; i < reps; i++) {
      for (const mode of rotated(modes, i)) {
        startup.inProcessCreateMs[mode].push(
          await timeWorkerCreate(native, releaseBackend, `bench-startup-${i}-${mode}`, mode, bundle.code),
        );
      }
    }
    for (let i = 0; i < reps; i++) {
      for (const mode of rotated(modes, i)) {
        const t = await timeWorkerProcess(
          address,
          releaseBackend,
          `bench-startup-proc-${i}-${mode}`,
          mode,
          bundlePath,
          log,
        );
        startup.processSpawnToReadyMs[mode].push(t.spawnToReadyMs);
        startup.processCreateMs[mode].push(t.createMs);
      }
    }
    log(
      `  Worker.create in process: at start ${Math.round(median(startup.inProcessCreateMs['at-start']))} ms, prebuilt ${Math.round(median(startup.inProcessCreateMs.prebuilt))} ms; ` +
        `fresh process spawn→ready: ${Math.round(median(startup.processSpawnToReadyMs['at-start']))} / ${Math.round(median(startup.processSpawnToReadyMs.prebuilt))} ms`,
    );

    // The scale backend: one shared database migrated once, price ids set, migrate command `true`.
    const scaleBackend = path.join(work, 'backend-scale');
    const sharedDb = `dbr_bench_${tag}_shared`;
    databases.add(sharedDb);
    await createDatabase(sharedDb);
    await prepareSampleBackend({
      dir: scaleBackend,
      databaseName: sharedDb,
      serverUrl: adminUrl(),
      stripeApiBase: peer.url,
      stripeSecretKey: PEER_SECRET_KEY,
      stripeWebhookSecret: PEER_WEBHOOK_SECRET,
      environment: 'bench-scale',
    });
    await setMigrateCommand(scaleBackend, ['true']);
    const scaleEnv = (await loadEnvScope(scaleBackend, env)).values;
    const migrated = await runCommand({ command: ['just', 'migrate'], cwd: scaleBackend, env: scaleEnv });
    if (migrated.exitCode !== 0)
      throw new Error(`just migrate on the shared database failed: ${migrated.all.slice(-1000)}`);
    await withDb(sharedDb, (db) =>
      db.query("update billing_plans set stripe_price_id = 'price_bench_' || code"),
    );

    const scaleQueue = 'bench-scale';
    let scaleWorker: WorkerChild = await startWorkerChild(
      { projectRoot: scaleBackend, address, taskQueue: scaleQueue, bundlePath },
      log,
    );
    let stopScaleWorker = cleanup.add('stop the worker process', () => scaleWorker.stop());

    log(
      `start-up: the CLI's time to "Started release", ${reps} runs (--skip-stripe, no-op migrate, shared database)`,
    );
    for (let i = 0; i < reps; i++) {
      const t = await timeCli([
        'release',
        'db',
        '--project-root',
        scaleBackend,
        '--environment',
        `bench-cli-${i}`,
        '--non-interactive',
        '--skip-stripe',
        '--summary-path',
        path.join(work, `cli-summary-${i}.json`),
        '--address',
        address,
        '--task-queue',
        scaleQueue,
      ]);
      startup.cli.push(t);
      if (t.exitCode !== 0) notes.push(`CLI run ${i} exited ${t.exitCode}`);
    }
    for (let i = 0; i < reps; i++) {
      const prepared = await prepareRelease(
        {
          projectRoot: scaleBackend,
          environment: `bench-start-${i}`,
          nonInteractive: true,
          skipStripe: true,
          address,
          taskQueue: scaleQueue,
        },
        env,
      );
      const t0 = performance.now();
      const handle = await startRelease(client, prepared);
      startup.inProcessStartMs.push(performance.now() - t0);
      await summaryOfResult(handle);
    }
    await endPhase('startup', phaseStarted);

    // ---- 3. scale ---------------------------------------------------------------------------
    phaseStarted = performance.now();
    const scaleResults: ScaleResult[] = [];
    // Hard stop: the scale phase ends by the budget even if the estimate below was wrong (60 s kept for cleanup and the report).
    const deadline = benchStarted + budgetMs - 60_000;
    const scaleCtx = (): ScaleContext => ({
      client,
      address,
      taskQueue: scaleQueue,
      backendDir: scaleBackend,
      env,
      worker: scaleWorker,
      log,
      deadline,
    });
    let lastCaseMs = 0;
    let lastCaseN = 1;
    const cases: ScaleCase[] = [
      ...scaleNs.map((n) => ({ n, maxConcurrentActivities: 20, maxConcurrentWorkflowTasks: 40 })),
      { n: Math.max(...scaleNs), maxConcurrentActivities: 100, maxConcurrentWorkflowTasks: 40 },
    ];
    for (const scaleCase of cases) {
      // Skip what would not fit in the budget (estimated from the last case, per release).
      const estimate = (lastCaseMs / lastCaseN) * scaleCase.n * 1.3 + 15_000;
      if (estimate > left() - 60_000) {
        const note = `scale case n=${scaleCase.n} activities=${scaleCase.maxConcurrentActivities} skipped: ~${Math.round(estimate / 1000)} s estimated, ${Math.round((left() - 60_000) / 1000)} s of the budget left for it`;
        notes.push(note);
        log(note);
        continue;
      }
      if (scaleCase.maxConcurrentActivities !== 20) {
        await stopScaleWorker();
        scaleWorker = await startWorkerChild(
          {
            projectRoot: scaleBackend,
            address,
            taskQueue: scaleQueue,
            bundlePath,
            maxConcurrentActivities: scaleCase.maxConcurrentActivities,
            maxConcurrentWorkflowTasks: scaleCase.maxConcurrentWorkflowTasks,
          },
          log,
        );
        stopScaleWorker = cleanup.add('stop the worker process', () => scaleWorker.stop());
      }
      log(
        `scale: ${scaleCase.n} releases at once, worker limits ${scaleCase.maxConcurrentActivities} activities / ${scaleCase.maxConcurrentWorkflowTasks} workflow tasks`,
      );
      const result = await runScaleCase(scaleCtx(), scaleCase);
      scaleResults.push(result);
      if (result.terminatedAtDeadline > 0)
        notes.push(
          `scale case ${result.label}: ${result.terminatedAtDeadline} releases were still running at the time budget and were terminated (counted as failed)`,
        );
      lastCaseMs = result.wallMs;
      lastCaseN = result.n;
      log(
        `  ${result.n} releases in ${(result.wallMs / 1000).toFixed(1)} s (${result.releasesPerSecond.toFixed(2)}/s), ` +
          `${result.failed} failed, worker peak RSS ${mib(result.workerPeakRssBytes)}, peak ${result.peakPgConnections} Postgres connections, CPU ${Math.round(result.machineCpuBusyPct)}% busy`,
      );
    }
    await stopScaleWorker();
    await endPhase('scale', phaseStarted);
    const biggest = [...scaleResults].filter((r) => r.failed === 0).sort((a, b) => b.n - a.n)[0];
    if (biggest && biggest.workerCpuSeconds !== null && biggest.commandCpuSeconds !== null) {
      const perRelease =
        (biggest.workerCpuSeconds + biggest.commandCpuSeconds + (biggest.devServerCpuSeconds ?? 0)) /
        biggest.n;
      notes.push(
        `CPU ceiling: a release costs ${perRelease.toFixed(2)} CPU-s here (${((100 * biggest.commandCpuSeconds) / biggest.n / perRelease).toFixed(0)}% in the commands it runs), ` +
          `so ${os.cpus().length} idle cores top out near ${(os.cpus().length / perRelease).toFixed(2)} releases/s whatever the worker's slot limits`,
      );
    }

    // ---- report -----------------------------------------------------------------------------
    const report = {
      meta: { ...meta, totalMs: elapsed(), phasesMs: phases, phaseCpu },
      release: { rows: releaseRows, runs },
      startup,
      scale: scaleResults,
      notes,
    };
    for (const [name, share] of Object.entries(phaseCpu)) {
      if (share.othersPct !== null && share.othersPct > 10) {
        notes.push(
          `during the ${name} phase, processes outside the benchmark used ${Math.round(share.othersPct)}% of the machine's CPU`,
        );
      }
    }
    const tables = renderTables(report.meta, releaseRows, startup, scaleResults, notes);
    const outDir = path.join(repoRoot(), 'var', 'bench');
    await mkdir(outDir, { recursive: true });
    const outFile = path.join(outDir, `bench-${utcStamp(new Date())}.json`);
    await writeFile(outFile, `${JSON.stringify({ ...report, tables }, null, 2)}\n`);
    process.stdout.write(`${tables}\n\nJSON: ${path.relative(repoRoot(), outFile)}\n`);
    log(`done in ${Math.round(elapsed() / 1000)} s`);
    const failedRuns =
      runs.filter((r) => !r.warmup && !r.ok).length + scaleResults.reduce((n, r) => n + r.failed, 0);
    return failedRuns > 0 ? 1 : 0;
  } finally {
    await cleanup.run(log);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function perRelease(r: ScaleResult): string {
  if (r.workerCpuSeconds === null || r.commandCpuSeconds === null) return 'n/a';
  const server = r.devServerCpuSeconds ?? 0;
  const each = (x: number) => (x / r.n).toFixed(2);
  return `${each(r.workerCpuSeconds + r.commandCpuSeconds + server)} = ${each(r.workerCpuSeconds)} + ${each(r.commandCpuSeconds)} + ${each(server)}`;
}

function safe(f: () => string): string {
  try {
    return f();
  } catch {
    return 'unknown';
  }
}

async function withDb<T>(database: string, use: (db: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  const db = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
  await db.connect();
  try {
    return await use(db);
  } finally {
    await db.end();
  }
}

async function pgFacts(): Promise<{ version: string; maxConnections: number }> {
  return withDb(new URL(adminUrl()).pathname.slice(1) || 'postgres', async (db) => {
    const version =
      (await db.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v ??
      'unknown';
    const max =
      (
        await db.query<{ max_connections: string }>(
          "select current_setting('max_connections') as max_connections",
        )
      ).rows[0]?.max_connections ?? 'NaN';
    return { version, maxConnections: Number(max) };
  });
}

function renderTables(
  meta: {
    cpus: number;
    cpuModel: string;
    node: string;
    temporalCli: string;
    postgres: { version: string; maxConnections: number };
    reps: number;
    totalMs: number;
  },
  rows: ReleaseRow[],
  startup: StartupResult,
  scale: ScaleResult[],
  notes: string[],
): string {
  const out: string[] = [];
  out.push(
    `Machine: ${meta.cpus} CPUs (${meta.cpuModel}), Node ${meta.node}, ${meta.temporalCli.split('\n')[0] ?? ''}, PostgreSQL ${meta.postgres.version} (max_connections ${meta.postgres.maxConnections}); ` +
      `medians of ${meta.reps} runs; whole bench ${Math.round(meta.totalMs / 1000)} s`,
  );
  out.push(
    '',
    `1. Full release of the sample backend (fresh database + fresh Stripe peer per run; n = activities per workflow run, from its history)`,
    '',
  );
  out.push(
    markdownTable(
      [
        'migrate',
        'workflow',
        'by hand',
        'activities direct',
        'workflow / by hand',
        'workflow / direct',
        'n',
        '(workflow − by hand) / n',
        '(workflow − direct) / n',
        'all ok',
      ],
      rows.map((r) => [
        r.mode === 'real' ? 'real (just migrate)' : 'no-op (`true`)',
        ms(r.medians.workflow),
        ms(r.medians.manual),
        ms(r.medians.direct),
        ratio(r.medians.workflow, r.medians.manual),
        ratio(r.medians.workflow, r.medians.direct),
        String(r.activities),
        ms(r.derived.perActivityVsManualMs),
        ms(r.derived.perActivityVsDirectMs),
        r.allOk ? 'yes' : 'NO',
      ]),
    ),
  );
  const m = (xs: number[]) => median(xs);
  out.push('', '2. Start-up', '');
  out.push(
    markdownTable(
      ['measurement', 'median', 'vs prebuilt bundle'],
      [
        [
          'Worker.create, workflow code bundled at start (in process)',
          ms(m(startup.inProcessCreateMs['at-start'])),
          ratio(m(startup.inProcessCreateMs['at-start']), m(startup.inProcessCreateMs.prebuilt)),
        ],
        ['Worker.create, prebuilt bundle (in process)', ms(m(startup.inProcessCreateMs.prebuilt)), '1.00×'],
        [
          'fresh worker process, spawn → ready, bundled at start',
          ms(m(startup.processSpawnToReadyMs['at-start'])),
          ratio(m(startup.processSpawnToReadyMs['at-start']), m(startup.processSpawnToReadyMs.prebuilt)),
        ],
        [
          'fresh worker process, spawn → ready, prebuilt bundle',
          ms(m(startup.processSpawnToReadyMs.prebuilt)),
          '1.00×',
        ],
        ['bundleWorkflowCode once (warm process)', ms(startup.bundleOnceMs), ''],
        ['CLI `release db`: spawn → "Started release"', ms(m(startup.cli.map((c) => c.startedMs))), ''],
        [
          'CLI `release db`: spawn → exit (--skip-stripe, no-op migrate)',
          ms(m(startup.cli.map((c) => c.exitMs))),
          '',
        ],
        ['client.workflow.start in process (the start RPC alone)', ms(m(startup.inProcessStartMs)), ''],
      ],
    ),
  );
  out.push(
    '',
    `3. Scale: N releases at once, one dev server, one worker process, shared database, no-op migrate, --skip-stripe (${scale[0]?.activitiesPerRelease ?? '?'} activities each)`,
    '',
  );
  out.push(
    markdownTable(
      [
        'N',
        'activity / wf-task slots',
        'wall',
        'releases/s',
        'latency p50',
        'p95',
        'preflight step p50',
        'failed',
        'worker peak RSS',
        'peak PG conns',
        'CPU busy (others)',
        'CPU s / release: worker + commands + server',
      ],
      scale.map((r) => [
        String(r.n),
        `${r.maxConcurrentActivities} / ${r.maxConcurrentWorkflowTasks}`,
        ms(r.wallMs),
        r.releasesPerSecond.toFixed(2),
        ms(r.latencyP50Ms),
        ms(r.latencyP95Ms),
        ms(r.stepMedianMs.preflight ?? Number.NaN),
        String(r.failed),
        mib(r.workerPeakRssBytes),
        String(r.peakPgConnections),
        `${Math.round(r.machineCpuBusyPct)}%${r.othersCpuPct === null ? '' : ` (${Math.round(r.othersCpuPct)}%)`}`,
        perRelease(r),
      ]),
    ),
  );
  if (notes.length > 0) out.push('', 'Notes:', ...notes.map((n) => `- ${n}`));
  return out.join('\n');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
