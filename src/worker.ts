/**
 * The worker runs on the machine that holds the backend checkout, its env files and its secrets.
 * It binds the activities to real clients (execa, pg, the Stripe SDK) and polls one task queue.
 */
import {
  Worker,
  type ActivityInterceptorsFactory,
  type NativeConnection,
  type WorkerOptions,
} from '@temporalio/worker';
import path from 'node:path';
import type { ActivityDeps } from './activities/deps';
import { createActivities } from './activities';
import { createStripeGateway } from './activities/stripe-gateway';
import { loadEnvScope } from './config/env-files';
import { envFilesOf, loadReleaseConfig } from './config/release-config';
import { runCommand } from './runtime/command-runner';
import { connectDb } from './runtime/db';
import { workTracker } from './runtime/warm-process';

export interface WorkerSettings {
  projectRoot: string;
  taskQueue: string;
  namespace: string;
  connection: NativeConnection;
  /** Activities run at once on this worker (migrations, Stripe calls, checks). */
  maxConcurrentActivityTaskExecutions?: number;
  /** Workflow tasks processed at once; raise with the number of environments released together. */
  maxConcurrentWorkflowTaskExecutions?: number;
  /** A bundle prepared ahead with `bundleWorkflowCode`; omitted, the worker bundles at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Where journals for idempotent retries live; default `<project root>/var/db-release/state`. */
  stateDir?: string;
  identity?: string;
  /**
   * Tuning for a process that hosts many workers (one per backend checkout, e.g. the scale
   * benchmark): fewer pollers each, workflows on the main thread, a shared activity interceptor.
   */
  tuning?: Pick<
    WorkerOptions,
    | 'maxConcurrentWorkflowTaskPolls'
    | 'maxConcurrentActivityTaskPolls'
    | 'maxCachedWorkflows'
    | 'debugMode'
    | 'interceptors'
  >;
  /** The environment this worker serves (`--environment`); must agree with the env files' ENVIRONMENT/APP_ENV. */
  environment?: string;
}

export { connectDb };

/** The real dependencies of every activity, for one backend checkout. */
export function realActivityDeps(projectRoot: string, stateDir?: string, environment?: string): ActivityDeps {
  const root = path.resolve(projectRoot);
  return {
    ...(environment ? { environment } : {}),
    projectRoot: root,
    // The config says which env files (and in which order); read afresh each time, like the files.
    loadEnv: async () => loadEnvScope(root, process.env, envFilesOf(await loadReleaseConfig(root)).files),
    loadConfig: () => loadReleaseConfig(root),
    run: runCommand,
    connectDb,
    stripe: createStripeGateway,
    stateDir: stateDir ?? path.join(root, 'var', 'db-release', 'state'),
  };
}

export async function createReleaseWorker(settings: WorkerSettings): Promise<Worker> {
  const workflowSource = settings.workflowBundle
    ? { workflowBundle: settings.workflowBundle }
    : { workflowsPath: require.resolve('./workflows') };
  return Worker.create({
    connection: settings.connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    ...workflowSource,
    activities: createActivities(
      realActivityDeps(settings.projectRoot, settings.stateDir, settings.environment),
    ),
    maxConcurrentActivityTaskExecutions: settings.maxConcurrentActivityTaskExecutions ?? 20,
    maxConcurrentWorkflowTaskExecutions: settings.maxConcurrentWorkflowTaskExecutions ?? 40,
    ...(settings.identity ? { identity: settings.identity } : {}),
    ...settings.tuning,
    interceptors: {
      ...settings.tuning?.interceptors,
      // First, so it counts an activity (local ones too) for as long as any other interceptor holds it.
      activity: [countActivities, ...(settings.tuning?.interceptors?.activity ?? [])],
    },
  });
}

/** Tells the processes started ahead when this worker runs activities: they start when it is quiet. */
const countActivities: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      workTracker.started();
      try {
        return await next(input);
      } finally {
        // The lease release is a release's last step: what it used can be replaced now.
        workTracker.ended(ctx.info.activityType === 'releaseTargetLease');
      }
    },
  },
});
