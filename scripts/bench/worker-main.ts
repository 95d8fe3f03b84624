/**
 * The release worker as its own process, so the benchmark can measure its memory apart from the
 * client, the Stripe peer and the dev server:
 *
 *   node dist/scripts/bench/worker-main.js --project-root DIR --address HOST:PORT --task-queue Q
 *       [--namespace default] [--bundle FILE] [--max-concurrent-activities N]
 *       [--max-concurrent-workflow-tasks N] [--exit-when-ready]
 *
 * Prints JSON lines on stdout: `{"event":"ready",...}` once `Worker.create` has resolved (with the
 * time it took and the time since the process started), then one `{"event":"memory",...}` per
 * `memory` or `reset` line read on stdin. RSS is sampled every 100 ms; `reset` starts a new peak.
 * `shutdown` on stdin (or SIGTERM/SIGINT) stops the worker gracefully.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createReleaseWorker } from '../../src/worker';

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
    },
    strict: true,
  });
  const projectRoot = values['project-root'];
  const address = values.address;
  const taskQueue = values['task-queue'];
  if (!projectRoot || !address || !taskQueue)
    throw new Error('--project-root, --address and --task-queue are required');

  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  sampler.unref();

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const createStarted = performance.now();
  const worker = await createReleaseWorker({
    projectRoot,
    taskQueue,
    namespace: values.namespace,
    connection,
    maxConcurrentActivityTaskExecutions: optionalInt(values['max-concurrent-activities']),
    maxConcurrentWorkflowTaskExecutions: optionalInt(values['max-concurrent-workflow-tasks']),
    ...(values.bundle ? { workflowBundle: { codePath: values.bundle } } : {}),
  });
  const readyAt = performance.now();
  emit({
    event: 'ready',
    createMs: readyAt - createStarted,
    sinceProcessStartMs: readyAt,
    rss: process.memoryUsage().rss,
  });

  if (values['exit-when-ready']) {
    // Never polled: run and stop at once so the native worker is released cleanly.
    await worker.runUntil(Promise.resolve());
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
      emit({ event: 'memory', rss, peakRss, heapUsed: process.memoryUsage().heapUsed });
      if (command === 'reset') peakRss = rss;
    } else if (command === 'shutdown' && worker.getState() === 'RUNNING') {
      worker.shutdown();
    }
  });
  // stdin closing (the benchmark died) stops the worker too.
  lines.on('close', () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });
  await worker.run();
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
