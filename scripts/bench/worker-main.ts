/**
 * The release worker as its own process, so the benchmark can measure its memory apart from the
 * client, the Stripe peer and the dev server:
 *
 *   node dist/scripts/bench/worker-main.js --project-root DIR --address HOST:PORT --task-queue Q
 *       [--namespace default] [--bundle FILE] [--max-concurrent-activities N]
 *       [--max-concurrent-workflow-tasks N] [--exit-when-ready]
 *   node dist/scripts/bench/worker-main.js --backends FILE --address HOST:PORT [--admission N] ...
 *
 * With `--backends`, FILE is a JSON list of `{ "projectRoot", "taskQueue" }`: one release worker
 * per backend checkout (as `db-release worker` runs one per checkout), all in this one process,
 * sharing one NativeConnection and one Runtime, each with one workflow and one activity poller
 * and its workflows on the main thread (200 worker threads would cost gigabytes). `--admission N`
 * lets at most N activities of the whole process run at once, nearest-to-done release first
 * (scripts/bench/admission.ts); 0 or absent: no limit.
 *
 * Prints JSON lines on stdout: `{"event":"ready",...}` once `Worker.create` has resolved (with the
 * time it took and the time since the process started), then one `{"event":"memory",...}` per
 * `memory` or `reset` line read on stdin. RSS is sampled every 100 ms; `reset` starts a new peak.
 * `shutdown` on stdin (or SIGTERM/SIGINT) stops the worker gracefully.
 */
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { createReleaseWorker } from '../../src/worker';
import { AdmissionLimiter, admissionInterceptor } from './admission';

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function optionalInt(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a whole number ≥ 1, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'project-root': { type: 'string' },
      address: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      'task-queue': { type: 'string' },
      bundle: { type: 'string' },
      'max-concurrent-activities': { type: 'string' },
      'max-concurrent-workflow-tasks': { type: 'string' },
      'exit-when-ready': { type: 'boolean', default: false },
      backends: { type: 'string' },
      admission: { type: 'string' },
    },
    strict: true,
  });
  const address = values.address;
  let backends: Array<{ projectRoot: string; taskQueue: string }>;
  if (values.backends) {
    backends = JSON.parse(await readFile(values.backends, 'utf8')) as typeof backends;
  } else {
    const projectRoot = values['project-root'];
    const taskQueue = values['task-queue'];
    if (!projectRoot || !taskQueue)
      throw new Error('--project-root and --task-queue (or --backends) are required');
    backends = [{ projectRoot, taskQueue }];
  }
  if (!address || backends.length === 0) throw new Error('--address and at least one backend are required');
  const admissionLimit = values.admission ? Number(values.admission) : 0;
  const limiter = admissionLimit > 0 ? new AdmissionLimiter(admissionLimit) : null;
  const many = values.backends !== undefined;

  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  sampler.unref();

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const createStarted = performance.now();
  const workers: Worker[] = [];
  for (const backend of backends) {
    workers.push(
      await createReleaseWorker({
        projectRoot: backend.projectRoot,
        taskQueue: backend.taskQueue,
        namespace: values.namespace,
        connection,
        // One release per backend runs one activity at a time (two with a lease renewal).
        maxConcurrentActivityTaskExecutions:
          optionalInt(values['max-concurrent-activities']) ?? (many ? 2 : undefined),
        maxConcurrentWorkflowTaskExecutions:
          optionalInt(values['max-concurrent-workflow-tasks']) ?? (many ? 2 : undefined),
        ...(values.bundle ? { workflowBundle: { codePath: values.bundle } } : {}),
        tuning: {
          ...(many
            ? {
                maxConcurrentWorkflowTaskPolls: 2,
                maxConcurrentActivityTaskPolls: 1,
                maxCachedWorkflows: 4,
                debugMode: true,
              }
            : {}),
          ...(limiter ? { interceptors: { activity: [admissionInterceptor(limiter)] } } : {}),
        },
      }),
    );
  }
  const readyAt = performance.now();
  emit({
    event: 'ready',
    createMs: readyAt - createStarted,
    sinceProcessStartMs: readyAt,
    rss: process.memoryUsage().rss,
  });

  if (values['exit-when-ready']) {
    // Never polled: run and stop at once so the native worker is released cleanly.
    await Promise.all(workers.map((w) => w.runUntil(Promise.resolve())));
    await connection.close();
    clearInterval(sampler);
    return;
  }

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = line.trim();
    if (command === 'memory' || command === 'reset') {
      const rss = process.memoryUsage().rss;
      peakRss = Math.max(peakRss, rss);
      emit({
        event: 'memory',
        rss,
        peakRss,
        heapUsed: process.memoryUsage().heapUsed,
        admission: limiter?.stats ?? null,
      });
      if (command === 'reset') peakRss = rss;
    } else if (command === 'shutdown') {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    }
  });
  // stdin closing (the benchmark died) stops the worker too.
  lines.on('close', () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  });
  await Promise.all(workers.map((w) => w.run()));
  lines.close();
  clearInterval(sampler);
  await connection.close();
  emit({ event: 'stopped' });
}

main().then(
  () => {
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(
      `worker-main: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
