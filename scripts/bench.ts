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
 * Knobs: BENCH_REPS (default 5), BENCH_SCALE (default 1,2,10,50,200), BENCH_BUDGET_S (default 1500),
 * BENCH_SAMPLES (part 1's samples, default saas,starter), BENCH_ADMISSION.
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
import { installPythonCounter } from './bench/proc-count';
import {
  DIRECT_ACTIVITIES,
  projectRootOf,
  setMigrateCommand,
  type Sample,
  timedRelease,
  type MigrateMode,
  type RunContext,
  type RunResult,
  type Variant,
} from './bench/release-runs';
import {
  runScaleCase,
  type ScaleBackend,
  type ScaleCase,
  type ScaleContext,
  type ScaleResult,
} from './bench/scale';
import { markdownTable, median, mib, ms, ratio } from './bench/stats';
import {
  bareClientScript,
  CLI_COMMAND_NAMES,
  cliScript,
  timeCli,
  timeSpawn,
  type CliCommandName,
  type SpawnTiming,
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
  sample: Sample;
  mode: MigrateMode;
  /** Python interpreters one release started (median over the timed runs), per variant. */
  python: Record<Variant, number>;
  /** Commands the activities started through deps.run (direct variant, median). */
  commands: number | null;
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
  /** `db-release --help`, `release status` and the bare-client baseline, spawn → exit. */
  commands: Record<CliCommandName, SpawnTiming[]>;
}

async function main(): Promise<number> {
  const benchStarted = performance.now();
  const reps = intEnv('BENCH_REPS', 5);
  // Activities the scale worker process runs at once; 2 per core keeps the cores busy while one waits on I/O.
  const admissionLimit = intEnv('BENCH_ADMISSION', 2 * os.cpus().length);
  const budgetMs = intEnv('BENCH_BUDGET_S', 1500) * 1000;
  // Part 1's samples (a quick look at one: BENCH_SAMPLES=saas).
  const samples = (process.env.BENCH_SAMPLES ?? 'saas,starter')
    .split(',')
    .map((s) => s.trim())
    .filter((s): s is 'saas' | 'starter' => s === 'saas' || s === 'starter');
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

    // Every Python interpreter started from here on is counted, whoever starts it.
    const python = await installPythonCounter(work, process.env);
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
    const variants: Variant[] = ['workflow', 'manual', 'direct'];
    const runs: RunResult[] = [];
    const releaseRows: ReleaseRow[] = [];
    let seq = 0;
    const releaseBackend = path.join(work, 'backend-release');
    const workerStops: Array<() => Promise<void>> = [];
    for (const sample of samples) {
      const sampleDir = path.join(work, `backend-release-${sample}`);
      const releaseQueue = `bench-release-${sample}`;
      const sampleWorker: Worker = await createReleaseWorker({
        projectRoot: projectRootOf(sample, sampleDir),
        taskQueue: releaseQueue,
        namespace: 'default',
        connection: native,
        workflowBundle: { code: bundle.code },
      });
      const running = sampleWorker.run();
      const stop = cleanup.add(`stop the ${sample} release worker`, async () => {
        if (sampleWorker.getState() === 'RUNNING') sampleWorker.shutdown();
        await running;
      });
      workerStops.push(stop);
      const ctx: RunContext = {
        client,
        address,
        taskQueue: releaseQueue,
        peer,
        sample,
        backendDir: sampleDir,
        python,
        tag,
        databases,
        env,
      };
      for (const mode of ['real', 'noop'] as const) {
        log(
          `release overhead, ${sample} sample, ${mode} migrations: 1 warm-up + ${reps} timed runs of ${variants.join(' / ')}`,
        );
        for (const variant of variants) runs.push(await timedRelease(ctx, variant, mode, ++seq, true));
        for (let i = 0; i < reps; i++) {
          for (const variant of rotated(variants, i)) {
            const r = await timedRelease(ctx, variant, mode, ++seq, false);
            runs.push(r);
            log(
              `  ${sample} ${mode} #${i + 1} ${variant}: ${Math.round(r.ms)} ms, ${r.pythonProcesses} python${r.ok ? '' : ` NOT OK (${r.detail})`}`,
            );
          }
        }
        const timed = runs.filter((r) => r.sample === sample && r.mode === mode && !r.warmup);
        const of = (v: Variant) => timed.filter((r) => r.variant === v);
        const samples = Object.fromEntries(variants.map((v) => [v, of(v).map((r) => r.ms)])) as Record<
          Variant,
          number[]
        >;
        const medians = Object.fromEntries(variants.map((v) => [v, median(samples[v])])) as Record<
          Variant,
          number
        >;
        const pythonPer = Object.fromEntries(
          variants.map((v) => [v, median(of(v).map((r) => r.pythonProcesses))]),
        ) as Record<Variant, number>;
        const commandCounts = of('direct')
          .map((r) => r.commands)
          .filter((c): c is number => c !== null);
        const counted = of('workflow')
          .filter((r) => r.activities !== null)
          .map((r) => r.activities as number);
        const activities = counted.length > 0 ? median(counted) : DIRECT_ACTIVITIES;
        if (activities !== DIRECT_ACTIVITIES) {
          notes.push(
            `${sample} ${mode}: the workflow scheduled ${activities} activities, the direct variant calls ${DIRECT_ACTIVITIES}; update scripts/bench/release-runs.ts`,
          );
        }
        releaseRows.push({
          sample,
          mode,
          samples,
          medians,
          python: pythonPer,
          commands: commandCounts.length > 0 ? median(commandCounts) : null,
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
    }
    // Part 2 times Worker.create against the saas copy.
    await prepareSampleBackend({
      dir: releaseBackend,
      databaseName: `dbr_bench_${tag}_unused`,
      serverUrl: adminUrl(),
      stripeApiBase: peer.url,
      stripeSecretKey: PEER_SECRET_KEY,
      stripeWebhookSecret: PEER_WEBHOOK_SECRET,
      environment: 'bench-startup',
    });
    for (const stop of workerStops) await stop();
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
      commands: Object.fromEntries(CLI_COMMAND_NAMES.map((n) => [n, []])) as unknown as Record<
        CliCommandName,
        SpawnTiming[]
      >,
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

    // The scale backends: N copies of the sample, each with its own environment, its own database
    // (cloned from one template migrated once, price ids set) and its own task queue; migrate `true`.
    const maxScale = Math.max(1, ...scaleNs);
    const templateDb = `dbr_bench_${tag}_tpl`;
    databases.add(templateDb);
    await createDatabase(templateDb);
    const templateDir = path.join(work, 'backend-scale-template');
    await prepareSampleBackend({
      dir: templateDir,
      databaseName: templateDb,
      serverUrl: adminUrl(),
      stripeApiBase: peer.url,
      stripeSecretKey: PEER_SECRET_KEY,
      stripeWebhookSecret: PEER_WEBHOOK_SECRET,
      environment: 'bench-scale-template',
    });
    const templateEnv = (await loadEnvScope(templateDir, env)).values;
    const migrated = await runCommand({ command: ['just', 'migrate'], cwd: templateDir, env: templateEnv });
    if (migrated.exitCode !== 0)
      throw new Error(`just migrate on the template database failed: ${migrated.all.slice(-1000)}`);
    await withDb(templateDb, (db) =>
      db.query("update billing_plans set stripe_price_id = 'price_bench_' || code"),
    );
    log(`scale: preparing ${maxScale} backend copies, databases and task queues`);
    const scaleBackends: ScaleBackend[] = [];
    for (let i = 0; i < maxScale; i++) {
      const database = `dbr_bench_${tag}_s${i}`;
      databases.add(database);
      await withDb(new URL(adminUrl()).pathname.slice(1) || 'postgres', (db) =>
        db.query(`create database "${database}" template "${templateDb}"`),
      );
      const dir = path.join(work, `backend-scale-${i}`);
      const environment = `bench-scale-${i}`;
      await prepareSampleBackend({
        dir,
        databaseName: database,
        serverUrl: adminUrl(),
        stripeApiBase: peer.url,
        stripeSecretKey: PEER_SECRET_KEY,
        stripeWebhookSecret: PEER_WEBHOOK_SECRET,
        environment,
      });
      await setMigrateCommand(dir, ['true']);
      scaleBackends.push({ projectRoot: dir, environment, taskQueue: `bench-scale-${i}` });
    }
    const backendsFile = path.join(work, 'scale-backends.json');
    await writeFile(
      backendsFile,
      JSON.stringify(scaleBackends.map(({ projectRoot, taskQueue }) => ({ projectRoot, taskQueue }))),
    );
    const first = scaleBackends[0] as ScaleBackend;

    let scaleWorker: WorkerChild = await startWorkerChild(
      { backendsFile, address, bundlePath, admission: admissionLimit },
      log,
    );
    let stopScaleWorker = cleanup.add('stop the worker process', () => scaleWorker.stop());

    log(`start-up: the CLI's time to "Started release", ${reps} runs (--skip-stripe, no-op migrate)`);
    for (let i = 0; i < reps; i++) {
      const t = await timeCli([
        'release',
        'db',
        '--project-root',
        first.projectRoot,
        '--environment',
        first.environment,
        '--non-interactive',
        '--skip-stripe',
        '--summary-path',
        path.join(work, `cli-summary-${i}.json`),
        '--address',
        address,
        '--task-queue',
        first.taskQueue,
      ]);
      startup.cli.push(t);
      if (t.exitCode !== 0) notes.push(`CLI run ${i} exited ${t.exitCode}`);
    }
    for (let i = 0; i < reps; i++) {
      const prepared = await prepareRelease(
        {
          projectRoot: first.projectRoot,
          environment: first.environment,
          nonInteractive: true,
          skipStripe: true,
          address,
          taskQueue: first.taskQueue,
        },
        env,
      );
      const t0 = performance.now();
      const handle = await startRelease(client, prepared);
      startup.inProcessStartMs.push(performance.now() - t0);
      await summaryOfResult(handle);
    }
    log(
      `start-up: CLI commands vs a bare node that loads @temporalio/client and makes one RPC, ${reps} runs each`,
    );
    const commandRuns: Array<[CliCommandName, string[]]> = [
      ['bare client + 1 RPC', [bareClientScript(), address]],
      ['db-release --help', [cliScript(), '--help']],
      [
        'release status',
        [
          cliScript(),
          'release',
          'status',
          first.environment,
          '--address',
          address,
          '--task-queue',
          first.taskQueue,
        ],
      ],
    ];
    for (let i = 0; i < reps; i++) {
      for (const [name, args] of rotated(commandRuns, i)) {
        const t = await timeSpawn(args, work);
        startup.commands[name].push(t);
        if (t.exitCode !== 0) notes.push(`${name} run ${i} exited ${t.exitCode}: ${t.stderrTail}`);
      }
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
      backends: scaleBackends,
      pythonCount: () => python.count(),
      env,
      worker: scaleWorker,
      log,
      deadline,
    });
    let lastCaseMs = 0;
    let lastCaseN = 1;
    // Every N with the admission limit, then the largest N again without it (the lock step it removes).
    const cases: ScaleCase[] = [
      ...scaleNs.map((n) => ({ n, admission: admissionLimit })),
      { n: maxScale, admission: 0 },
    ];
    let workerAdmission = admissionLimit;
    for (const scaleCase of cases) {
      // Skip what would not fit in the budget (estimated from the last case, per release).
      const estimate = (lastCaseMs / lastCaseN) * scaleCase.n * 1.3 + 15_000;
      if (estimate > left() - 60_000) {
        const note = `scale case n=${scaleCase.n} admission=${scaleCase.admission} skipped: ~${Math.round(estimate / 1000)} s estimated, ${Math.round((left() - 60_000) / 1000)} s of the budget left for it`;
        notes.push(note);
        log(note);
        continue;
      }
      if (scaleCase.admission !== workerAdmission) {
        await stopScaleWorker();
        scaleWorker = await startWorkerChild(
          { backendsFile, address, bundlePath, admission: scaleCase.admission },
          log,
        );
        workerAdmission = scaleCase.admission;
        stopScaleWorker = cleanup.add('stop the worker process', () => scaleWorker.stop());
      }
      log(
        `scale: ${scaleCase.n} releases at once, ${scaleCase.admission > 0 ? `at most ${scaleCase.admission} activities at once` : 'no admission limit'}`,
      );
      const result = await runScaleCase(scaleCtx(), scaleCase);
      scaleResults.push(result);
      if (result.terminatedAtDeadline > 0)
        notes.push(
          `scale case ${result.label}: ${result.terminatedAtDeadline} releases were still running at the time budget and were terminated (counted as failed)`,
        );
      if (result.failures.length > 0)
        notes.push(`scale case ${result.label} failures: ${result.failures.join(' | ')}`);
      lastCaseMs = result.wallMs;
      lastCaseN = result.n;
      log(
        `  ${result.n} releases in ${(result.wallMs / 1000).toFixed(1)} s (${result.releasesPerSecond.toFixed(2)}/s), median done at ${(result.latencyP50Ms / 1000).toFixed(1)} s (${(100 * result.medianOverWall).toFixed(0)}% of the wall), ` +
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
    `1. Full release of each sample backend (fresh database + fresh Stripe peer per run; n = activities per workflow run, from its history)`,
    '',
  );
  out.push(
    markdownTable(
      [
        'sample',
        'migrate',
        'workflow',
        'by hand',
        'activities direct',
        'workflow / by hand',
        'workflow / direct',
        'n',
        '(workflow − by hand) / n',
        '(workflow − direct) / n',
        'python / release: workflow, by hand, direct',
        'commands / release (direct)',
        'all ok',
      ],
      rows.map((r) => [
        r.sample === 'saas' ? 'saas-backend' : 'starter-monorepo (1 s import)',
        r.mode === 'real' ? 'real (just migrate)' : 'no-op (`true`)',
        ms(r.medians.workflow),
        ms(r.medians.manual),
        ms(r.medians.direct),
        ratio(r.medians.workflow, r.medians.manual),
        ratio(r.medians.workflow, r.medians.direct),
        String(r.activities),
        ms(r.derived.perActivityVsManualMs),
        ms(r.derived.perActivityVsDirectMs),
        `${r.python.workflow}, ${r.python.manual}, ${r.python.direct}`,
        r.commands === null ? 'n/a' : String(r.commands),
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
  const bare = m(startup.commands['bare client + 1 RPC'].map((t) => t.ms));
  const modulesOf = (ts: SpawnTiming[]) => {
    const counts = ts.map((t) => t.modules).filter((c): c is number => c !== null);
    return counts.length > 0 ? String(median(counts)) : 'n/a';
  };
  out.push(
    '',
    'CLI commands, spawn → exit, against a bare `node` that loads @temporalio/client and makes one RPC (goal ≤ 1.30×)',
    '',
  );
  out.push(
    markdownTable(
      ['command', 'median', 'vs bare client', 'modules loaded'],
      CLI_COMMAND_NAMES.map((name) => {
        const t = m(startup.commands[name].map((x) => x.ms));
        return [name, ms(t), ratio(t, bare), modulesOf(startup.commands[name])];
      }),
    ),
  );
  out.push(
    '',
    `3. Scale: N releases of N environments at once, one dev server, one worker process hosting one release worker per backend copy (own database, own task queue), no-op migrate, --skip-stripe (${scale[0]?.activitiesPerRelease ?? '?'} activities each)`,
    '',
  );
  out.push(
    markdownTable(
      [
        'N',
        'admission',
        'wall',
        'releases/s',
        'latency p50',
        'p50 / wall',
        'p95',
        'preflight step p50',
        'failed',
        'worker peak RSS',
        'peak PG conns',
        'CPU busy (others)',
        'CPU s / release: worker + commands + server',
        'python / release',
        'retried attempts (gave up waiting)',
      ],
      scale.map((r) => [
        String(r.n),
        r.admission > 0 ? `${r.admission} at once` : 'none',
        ms(r.wallMs),
        r.releasesPerSecond.toFixed(2),
        ms(r.latencyP50Ms),
        r.medianOverWall.toFixed(2),
        ms(r.latencyP95Ms),
        ms(r.stepMedianMs.preflight ?? Number.NaN),
        String(r.failed),
        mib(r.workerPeakRssBytes),
        String(r.peakPgConnections),
        `${Math.round(r.machineCpuBusyPct)}%${r.othersCpuPct === null ? '' : ` (${Math.round(r.othersCpuPct)}%)`}`,
        perRelease(r),
        r.pythonPerRelease === null ? 'n/a' : r.pythonPerRelease.toFixed(1),
        r.retriedAttempts === null ? 'n/a' : `${r.retriedAttempts} (${r.abandonedWaits ?? 0})`,
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
