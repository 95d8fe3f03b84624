import { NativeConnection } from '@temporalio/worker';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describeLayout, resolveBackendLayout } from '../config/backend-layout';
import { loadEnvScope, type EnvFileError, type EnvScope } from '../config/env-files';
import { ConfigError, envFilesOf, loadReleaseConfig, workerEnvironment, type ReleaseConfig } from '../config/release-config';
import { createReleaseWorker } from '../worker';
import { installWorkerLogger } from '../worker-log';
import { requireNamespace, resolveTemporalTarget, type TemporalFlags } from './connection';
import { CliError } from './errors';

export interface WorkerFlags extends TemporalFlags {
  projectRoot?: string;
  /** The environment this worker serves; must agree with ENVIRONMENT/APP_ENV in the backend env files. */
  environment?: string;
  maxConcurrentActivities?: string;
  maxConcurrentWorkflowTasks?: string;
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new CliError(`${flag} "${value}": use a whole number of at least 1`);
  return Number(value);
}

/** `worker`: polls the task queue for releases of one backend checkout until SIGINT/SIGTERM. */
export async function workerCommand(flags: WorkerFlags, log: (line: string) => void): Promise<number> {
  const projectRoot = path.resolve(flags.projectRoot ?? process.env.DB_RELEASE_PROJECT_ROOT ?? '.');
  if (!(await stat(projectRoot).catch(() => null))?.isDirectory()) {
    throw new CliError(`--project-root "${projectRoot}" is not a directory; point it at the backend checkout`);
  }
  // The worker is the authority on what it serves: refuse to start when it cannot say (exit 2).
  if (flags.environment !== undefined && !/^[a-z0-9][a-z0-9_-]{0,62}$/i.test(flags.environment)) {
    throw new CliError(`--environment "${flags.environment}": use letters, digits, - and _`);
  }
  // The flags first: a bad one is refused before the backend is even looked at.
  const target = resolveTemporalTarget(flags);
  const maxActivities = positiveInt('--max-concurrent-activities', flags.maxConcurrentActivities ?? process.env.DB_RELEASE_MAX_CONCURRENT_ACTIVITIES);
  const maxWorkflowTasks = positiveInt(
    '--max-concurrent-workflow-tasks',
    flags.maxConcurrentWorkflowTasks ?? process.env.DB_RELEASE_MAX_CONCURRENT_WORKFLOW_TASKS,
  );
  let config: ReleaseConfig;
  try {
    config = await loadReleaseConfig(projectRoot);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
  let scope: EnvScope;
  try {
    scope = await loadEnvScope(projectRoot, process.env, envFilesOf(config).files);
  } catch (error) {
    if ((error as { type?: unknown }).type === 'EnvFileError') throw new CliError(`${projectRoot}: ${(error as EnvFileError).message}`);
    throw error;
  }
  // Checked once here rather than found out by the first release: which environment it serves, a
  // missing alembic.ini, a program not installed, an env file that is not there (issue 12 item 7,
  // issue 14). Every problem is listed at once, so one restart fixes them all.
  const served = workerEnvironment(scope.values, flags.environment);
  const layout = await resolveBackendLayout(projectRoot, config, scope.values);
  const problems = [...(served.error !== null ? [served.error] : []), ...layout.problems];
  if (served.error !== null || problems.length > 0) {
    const list = problems.map((p) => `  - ${p}`).join('\n');
    throw new CliError(`the worker cannot release ${projectRoot}:\n${list}`);
  }
  log(describeLayout(layout, config.alembicCommand));
  installWorkerLogger(); // before the first connection creates the runtime
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({
      address: target.address,
      ...(target.apiKey ? { apiKey: target.apiKey } : {}),
      ...(target.tls ? { tls: target.tls } : {}),
    });
  } catch (error) {
    throw new CliError(`Temporal is not reachable at ${target.address} (${(error as Error).message.split('\n')[0]}); set --address / TEMPORAL_ADDRESS`);
  }
  // A namespace the server does not have would leave the worker polling nothing, forever.
  await requireNamespace(connection.workflowService, target).catch(async (error: unknown) => {
    await connection.close().catch(() => undefined);
    throw error;
  });
  try {
    const worker = await createReleaseWorker({
      projectRoot,
      environment: flags.environment,
      taskQueue: target.taskQueue,
      namespace: target.namespace,
      connection,
      maxConcurrentActivityTaskExecutions: maxActivities,
      maxConcurrentWorkflowTaskExecutions: maxWorkflowTasks,
    });
    log(`db-release worker ready: task queue ${target.taskQueue}, namespace ${target.namespace}, backend ${projectRoot}, environment ${served.environment}`);
    await worker.run();
    return 0;
  } finally {
    await connection.close();
  }
}
