/**
 * What `db-release worker` does once it runs (commands/worker.ts registers it): checks the backend,
 * then loads the worker SDK (its native bridge, webpack, the activities) and polls. Loaded only
 * when the command runs, so `--help` and every other command load none of it (issue 15).
 */
import type { NativeConnection } from '@temporalio/worker';
import type { WorkerFlags } from './commands/worker';
import { describeLayout, resolveBackendLayout } from '../config/backend-layout';
import { envFilesOf, workerEnvironment } from '../config/release-config';
import { requireNamespace, resolveTemporalTarget } from './connection';
import { CliError } from './errors';
import { environmentName, positiveInt, projectRootDir, readBackendConfig, readBackendEnv } from './input';

/** `worker`: polls the task queue for releases of one backend checkout until SIGINT/SIGTERM. */
export async function runWorkerCommand(flags: WorkerFlags, log: (line: string) => void): Promise<number> {
  const projectRoot = await projectRootDir(flags.projectRoot);
  // The worker is the authority on what it serves: refuse to start when it cannot say (exit 2).
  if (flags.environment !== undefined) environmentName(flags.environment);
  // The flags first: a bad one is refused before the backend is even looked at.
  const target = resolveTemporalTarget(flags);
  const maxActivities = positiveInt(
    '--max-concurrent-activities',
    flags.maxConcurrentActivities ?? process.env.DB_RELEASE_MAX_CONCURRENT_ACTIVITIES,
  );
  const maxWorkflowTasks = positiveInt(
    '--max-concurrent-workflow-tasks',
    flags.maxConcurrentWorkflowTasks ?? process.env.DB_RELEASE_MAX_CONCURRENT_WORKFLOW_TASKS,
  );
  const config = await readBackendConfig(projectRoot);
  const scope = await readBackendEnv(projectRoot, process.env, {
    files: envFilesOf(config).files,
    parseErrorStyle: 'under-project-root',
  });
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
  const [{ NativeConnection }, { installWorkerLogger }, { createReleaseWorker }] = await Promise.all([
    import('@temporalio/worker'),
    import('../worker-log.js'),
    import('../worker.js'),
  ]);
  installWorkerLogger(); // before the first connection creates the runtime
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({
      address: target.address,
      ...(target.apiKey ? { apiKey: target.apiKey } : {}),
      ...(target.tls ? { tls: target.tls } : {}),
    });
  } catch (error) {
    throw new CliError(
      `Temporal is not reachable at ${target.address} (${(error as Error).message.split('\n')[0]}); set --address / TEMPORAL_ADDRESS`,
    );
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
    log(
      `db-release worker ready: task queue ${target.taskQueue}, namespace ${target.namespace}, backend ${projectRoot}, environment ${served.environment}`,
    );
    await worker.run();
    return 0;
  } finally {
    await connection.close();
  }
}
