import { Worker } from '@temporalio/worker';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  startStack,
  type DevStack,
  type SampleName,
  type StarterSampleOptions,
} from '../../src/devstack/stack';
import { createActivities } from '../../src/activities';
import { realActivityDeps } from '../../src/worker';
import { temporalTestContext, testAddress, uniqueName, type TemporalTestContext } from './temporal';

export interface E2eStack {
  stack: DevStack;
  ctx: TemporalTestContext;
  taskQueue: string;
  /** CLI flags that point at this stack's Temporal and worker. */
  temporalArgs: string[];
  query<R extends object>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export interface E2eStackOptions {
  environment?: string;
  temporalAddress?: string;
  /** Default 'saas-backend'; with 'starter-monorepo' the worker's project root is apps/api-service. */
  sample?: SampleName;
  starter?: StarterSampleOptions;
}

/**
 * A real stack for one test file: a fresh database, a Stripe peer, a copy of the sample backend,
 * and a worker polling its own task queue on the shared dev server. Everything is dropped after.
 */
export async function startE2eStack(name: string, options: E2eStackOptions = {}): Promise<E2eStack> {
  const address = options.temporalAddress ?? testAddress();
  const ctx = await temporalTestContext(address);
  const id = uniqueName(name).replace(/-/g, '_');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'db-release-e2e-'));
  const stack = await startStack({
    name: `dbr_test_${id}`,
    backendDir: path.join(dir, 'backend'),
    temporal: { address },
    environment: options.environment,
    sample: options.sample,
    starter: options.starter,
  });
  const taskQueue = `e2e-${id}`;
  const worker = await Worker.create({
    connection: ctx.nativeConnection,
    taskQueue,
    workflowBundle: ctx.bundle,
    activities: createActivities(realActivityDeps(stack.backendDir)),
  });
  const running = worker.run();
  return {
    stack,
    ctx,
    taskQueue,
    temporalArgs: ['--address', address, '--task-queue', taskQueue],
    async query<R extends object>(sql: string, params?: unknown[]) {
      const client = new pg.Client({ connectionString: stack.databaseUrl });
      await client.connect();
      try {
        return (await client.query<R>(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    async close() {
      worker.shutdown();
      await running;
      await ctx.close();
      await stack.close({ dropDatabase: true });
    },
  };
}
