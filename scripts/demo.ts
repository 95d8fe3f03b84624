/**
 * `npm run demo`: one complete release of the sample backend on the embedded default stack.
 * Starts a Temporal dev server with its Web UI (unless TEMPORAL_ADDRESS points at one), a
 * database on the local Postgres, the Stripe peer and a worker, then runs the real CLI and tells
 * what the release did, read back from its summary. On a terminal it keeps the stack up so the
 * release can be explored in the Web UI.
 *
 * Each checkout has its own demo database and folder; a second demo while one runs (from this
 * checkout, or another one holding the ports) is refused before anything is touched. Every run's
 * summary and report are kept under var/demo/reports.
 */
import { DefaultLogger, NativeConnection, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { pathWithTools, repoRoot, toolsDir } from '../src/devstack/paths';
import { startStack } from '../src/devstack/stack';
import { formatPrice } from '../src/release/money';
import { reportPathFor } from '../src/release/report';
import type { ReleaseSummary } from '../src/release/types';
import { createReleaseWorker } from '../src/worker';

const TASK_QUEUE = 'db-release-demo';

class DemoRefused extends Error {}

/** Refuses when a port is taken: a second demo must not carry on beside the first. */
async function assertPortFree(port: number, variable: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new DemoRefused(
          error.code === 'EADDRINUSE'
            ? `port ${port} is already in use (another demo or Temporal server?): stop it, or pick another port with ${variable}=PORT`
            : `cannot listen on 127.0.0.1:${port} (${error.message}); pick another port with ${variable}=PORT`,
        ),
      );
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One demo per checkout: a lock file holding the pid; a stale one (dead pid) is taken over. */
async function takeLock(file: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
        throw new DemoRefused(
          `another demo (pid ${pid}) is running from this checkout; wait for it or stop it (kill ${pid})`,
        );
      }
      await rm(file, { force: true });
    }
  }
  throw new DemoRefused(`could not take the demo lock ${file}`);
}

/** What the release did, from its summary: the short account a newcomer reads. */
export function demoAccount(
  summary: ReleaseSummary,
  files: { summary: string; report: string; webUi: string | null },
): string[] {
  const applied =
    summary.steps.find((s) => s.name === 'migrations')?.status === 'success' ? summary.pending_revisions : [];
  const migrations =
    applied.length > 0
      ? `applied ${applied.length} revision(s) (${summary.pre_release_revision ?? 'base'} → ${summary.alembic_revision ?? '?'})`
      : `none applied (database at ${summary.alembic_revision ?? summary.pre_release_revision ?? 'base'})`;
  const stripeStep = summary.steps.find((s) => s.name === 'stripe_setup');
  let stripe: string;
  if (stripeStep?.status === 'skipped') stripe = `skipped (${stripeStep.detail ?? 'no reason'})`;
  else if (!summary.stripe)
    stripe = stripeStep
      ? `${stripeStep.status}${stripeStep.detail ? `: ${stripeStep.detail}` : ''}`
      : 'not reached';
  else {
    const provisioned = summary.stripe.plans;
    const count = (pred: (p: (typeof provisioned)[number]) => boolean) => provisioned.filter(pred).length;
    stripe =
      `products ${count((p) => p.productAction === 'created')} created, ${count((p) => p.productAction !== 'created')} reused; ` +
      `prices ${count((p) => p.priceAction === 'created')} created, ${count((p) => p.priceAction !== 'created')} reused`;
  }
  // The amounts as a customer sees them (minor units are easy to misread: 9900 is 99.00).
  const prices = summary.stripe
    ? summary.stripe.plans
        .map(
          (p) =>
            `${p.code} ${formatPrice({ amount: p.amount, currency: summary.stripe?.currency ?? 'usd' })} (${p.priceAction})`,
        )
        .join(', ')
    : null;
  const plans =
    summary.billing_plans.length > 0
      ? summary.billing_plans.map((p) => `${p.code}=${p.status}`).join(', ')
      : 'not checked';
  return [
    `Demo release ${summary.status}${summary.duration_ms !== null ? ` in ${(summary.duration_ms / 1000).toFixed(1)} s` : ''}`,
    `  migrations:    ${migrations}`,
    `  Stripe:        ${stripe}`,
    ...(prices ? [`  prices:        ${prices}`] : []),
    `  billing_plans: ${plans}`,
    ...(summary.error
      ? [`  error:         ${summary.error.step ?? 'release'}: ${summary.error.message}`]
      : []),
    ...summary.compensations.map(
      (c) => `  compensation:  ${c.name} ${c.status}${c.detail ? ` (${c.detail})` : ''}`,
    ),
    `  summary:       ${files.summary}`,
    `  report:        ${files.report}`,
    ...(files.webUi ? [`  Web UI:        ${files.webUi}`] : []),
  ];
}

async function main(): Promise<number> {
  process.env.PATH = pathWithTools();
  // The worker's INFO lines and webpack's module tree are not what a newcomer came to read.
  Runtime.install({ logger: new DefaultLogger(process.env.DEBUG_TEMPORAL ? 'INFO' : 'WARN') });
  const root = repoRoot();
  const demoDir = process.env.DB_RELEASE_DEMO_DIR ?? path.join(toolsDir(), 'demo');
  const reportsDir = process.env.DB_RELEASE_DEMO_REPORTS ?? path.join(root, 'var', 'demo', 'reports');
  await mkdir(demoDir, { recursive: true });
  await mkdir(reportsDir, { recursive: true });
  const unlock = await takeLock(path.join(demoDir, 'demo.lock'));
  try {
    const external = process.env.TEMPORAL_ADDRESS;
    const uiPort = Number(process.env.DEMO_UI_PORT ?? 8233);
    const temporalPort = Number(process.env.DEMO_TEMPORAL_PORT ?? 7233);
    if (!external) {
      await assertPortFree(temporalPort, 'DEMO_TEMPORAL_PORT');
      await assertPortFree(uiPort, 'DEMO_UI_PORT');
    }
    // One database per checkout, so two clones on one Postgres never share (or drop) each other's.
    const checkout = createHash('sha256').update(root).digest('hex').slice(0, 8);
    const stack = await startStack({
      name: process.env.DB_RELEASE_DEMO_DATABASE ?? `db_release_demo_${checkout}`,
      backendDir: path.join(demoDir, 'backend'),
      keepDatabase: true,
      temporal: external
        ? { address: external }
        : { port: temporalPort, uiPort, dbFilename: path.join(demoDir, 'temporal.db') },
      stripe: { stateFile: path.join(demoDir, 'stripe-peer.json') },
    });
    const uiUrl = external ? (process.env.TEMPORAL_UI_URL ?? null) : `http://127.0.0.1:${uiPort}`;
    process.stderr.write(
      `demo: Temporal ${stack.temporalAddress}, database ${stack.databaseName}, Stripe peer ${stack.stripe.url}\n`,
    );

    const connection = await NativeConnection.connect({ address: stack.temporalAddress });
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../src/workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const worker = await createReleaseWorker({
      projectRoot: stack.backendDir,
      taskQueue: TASK_QUEUE,
      namespace: 'default',
      connection,
      workflowBundle,
    });
    const running = worker.run();
    try {
      const stamp = new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}Z$/, 'Z');
      const summaryPath = path.join(reportsDir, `db-release-${stamp}.json`);
      const args = [
        path.join(root, 'dist', 'src', 'client.js'),
        'release',
        'db',
        '--project-root',
        stack.backendDir,
        '--non-interactive',
        '--plan',
        'starter=0',
        '--plan',
        'pro=9900',
        '--summary-path',
        summaryPath,
        '--address',
        stack.temporalAddress,
        '--task-queue',
        TASK_QUEUE,
        ...(uiUrl ? ['--ui-url', uiUrl] : []),
      ];
      process.stderr.write(`demo: db-release ${args.slice(1).join(' ')}\n`);
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
        child.on('exit', (c) => resolve(c ?? 1));
      });
      const summary = JSON.parse(
        await readFile(summaryPath, 'utf8').catch(() => 'null'),
      ) as ReleaseSummary | null;
      if (!summary) {
        process.stdout.write(
          `Demo release: the CLI exited ${code} without writing ${summaryPath}; its messages above say why\n`,
        );
        return code || 1;
      }
      const webUi = uiUrl
        ? `${uiUrl}/namespaces/default/workflows/${summary.workflow_id}/${summary.run_id}/history`
        : null;
      process.stdout.write(
        `${demoAccount(summary, { summary: summaryPath, report: reportPathFor(summaryPath), webUi }).join('\n')}\n`,
      );
      if (process.stdout.isTTY && !process.env.CI && !external) {
        process.stdout.write(
          'The stack stays up so you can explore the release in the Web UI. Press Ctrl-C to stop.\n',
        );
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      }
      return code;
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
      await stack.close({ dropDatabase: false });
    }
  } finally {
    await unlock();
  }
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof DemoRefused) {
        process.stderr.write(`demo refused: ${error.message}; nothing was started or changed\n`);
        process.exitCode = 2;
        return;
      }
      process.stderr.write(`demo: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
