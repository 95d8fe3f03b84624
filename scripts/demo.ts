/**
 * `npm run demo`: one complete release of the sample backend on the embedded default stack.
 * Starts a Temporal dev server with its Web UI (unless TEMPORAL_ADDRESS points at one), a
 * database on the local Postgres, the Stripe peer and a worker, then runs the real CLI.
 * On a terminal it keeps the stack up so the release can be explored in the Web UI.
 */
import { NativeConnection } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathWithTools, repoRoot, toolsDir } from '../src/devstack/paths';
import { startStack } from '../src/devstack/stack';
import { createReleaseWorker } from '../src/worker';

const TASK_QUEUE = 'db-release-demo';

async function main(): Promise<number> {
  process.env.PATH = pathWithTools();
  const root = repoRoot();
  const demoDir = path.join(toolsDir(), 'demo');
  await mkdir(demoDir, { recursive: true });
  const external = process.env.TEMPORAL_ADDRESS;
  const uiPort = Number(process.env.DEMO_UI_PORT ?? 8233);
  const stack = await startStack({
    name: 'db_release_demo',
    backendDir: path.join(demoDir, 'backend'),
    keepDatabase: true,
    temporal: external ? { address: external } : { port: Number(process.env.DEMO_TEMPORAL_PORT ?? 7233), uiPort, dbFilename: path.join(demoDir, 'temporal.db') },
    stripe: { stateFile: path.join(demoDir, 'stripe-peer.json') },
  });
  const uiUrl = external ? (process.env.TEMPORAL_UI_URL ?? null) : `http://127.0.0.1:${uiPort}`;
  process.stderr.write(`demo: Temporal at ${stack.temporalAddress}${uiUrl ? `, Web UI ${uiUrl}` : ''}\n`);
  process.stderr.write(`demo: backend copy ${stack.backendDir}, database ${stack.databaseName}, Stripe peer ${stack.stripe.url}\n`);

  const connection = await NativeConnection.connect({ address: stack.temporalAddress });
  const worker = await createReleaseWorker({ projectRoot: stack.backendDir, taskQueue: TASK_QUEUE, namespace: 'default', connection });
  const running = worker.run();
  try {
    const summaryPath = path.join(stack.backendDir, 'var', 'reports', `db-release-demo-${Date.now()}.json`);
    const args = [
      path.join(root, 'dist', 'src', 'client.js'),
      'release', 'db',
      '--project-root', stack.backendDir,
      '--non-interactive',
      '--plan', 'starter=0',
      '--plan', 'pro=9900',
      '--summary-path', summaryPath,
      '--address', stack.temporalAddress,
      '--task-queue', TASK_QUEUE,
      ...(uiUrl ? ['--ui-url', uiUrl] : []),
    ];
    process.stderr.write(`demo: db-release ${args.slice(1).join(' ')}\n`);
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, args, { stdio: 'inherit' });
      child.on('exit', (c) => resolve(c ?? 1));
    });
    process.stdout.write(`Summary: ${summaryPath}\n`);
    if (uiUrl) process.stdout.write(`Web UI:  ${uiUrl}/namespaces/default/workflows\n`);
    if (process.stdout.isTTY && !process.env.CI && !external) {
      process.stdout.write('The stack stays up so you can explore the release in the Web UI. Press Ctrl-C to stop.\n');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return code;
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await stack.close({ dropDatabase: false });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
