import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { DEFAULT_TASK_QUEUE } from '../workflows/messages';
import { CliError } from './errors';

export interface TemporalFlags {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  uiUrl?: string;
}

export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
  uiUrl: string | null;
  apiKey?: string;
  tls?: boolean | object;
}

/**
 * Where Temporal is: flags first, then `TEMPORAL_ADDRESS` / `TEMPORAL_NAMESPACE` / profiles the way
 * the `temporal` CLI reads them (through @temporalio/envconfig), then the local dev server.
 */
export function resolveTemporalTarget(
  flags: TemporalFlags,
  env: NodeJS.ProcessEnv = process.env,
): TemporalTarget {
  let profile: ReturnType<typeof loadClientConnectConfig> | undefined;
  try {
    profile = loadClientConnectConfig({
      overrideEnvVars: Object.fromEntries(
        Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
      ),
    });
  } catch (error) {
    throw new CliError(
      `Temporal client config could not be read: ${(error as Error).message}; check TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE`,
    );
  }
  const address = flags.address ?? profile.connectionOptions.address ?? 'localhost:7233';
  if (!/^[^\s:/]+:\d{1,5}$/.test(address) && !/^\[[0-9a-f:]+\]:\d{1,5}$/i.test(address)) {
    throw new CliError(`--address "${address}": expected HOST:PORT, e.g. localhost:7233`);
  }
  const namespace = flags.namespace ?? profile.namespace ?? 'default';
  const taskQueue = flags.taskQueue ?? env.DB_RELEASE_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
  // Empty names reach Temporal as '' and come back as a stack; refuse them here with the flag.
  if (!namespace.trim())
    throw new CliError(
      '--namespace (TEMPORAL_NAMESPACE) is empty: give the Temporal namespace, e.g. default',
    );
  if (!taskQueue.trim())
    throw new CliError(
      `--task-queue (DB_RELEASE_TASK_QUEUE) is empty: give the worker's task queue, e.g. ${DEFAULT_TASK_QUEUE}`,
    );
  if (/\s/.test(taskQueue) || taskQueue.length > 1000) {
    throw new CliError(
      `--task-queue "${taskQueue}": a task queue name has no spaces; give the one the worker polls (default ${DEFAULT_TASK_QUEUE})`,
    );
  }
  const local = /^(localhost|127\.0\.0\.1):7233$/.test(address);
  const uiUrl = flags.uiUrl ?? env.TEMPORAL_UI_URL ?? (local ? 'http://localhost:8233' : null);
  return {
    address,
    namespace,
    taskQueue,
    uiUrl: uiUrl ? uiUrl.replace(/\/$/, '') : null,
    apiKey: profile.connectionOptions.apiKey,
    tls: profile.connectionOptions.tls as boolean | object | undefined,
  };
}

/** Connects, or fails with exit 2 and a message that says how to reach or start Temporal. */
export async function connectClient(
  target: TemporalTarget,
): Promise<{ client: Client; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: target.address,
      connectTimeout: '5 seconds',
      ...(target.apiKey ? { apiKey: target.apiKey } : {}),
      ...(target.tls ? { tls: target.tls } : {}),
    });
    // connect() is lazy about some failures; one cheap call proves the server answers.
    await connection.workflowService.getSystemInfo({});
  } catch (error) {
    throw new CliError(
      `Temporal is not reachable at ${target.address} (${(error as Error).message.split('\n')[0]}); ` +
        'start it (temporal server start-dev, or npm run demo) or set --address / TEMPORAL_ADDRESS',
    );
  }
  await requireNamespace(connection.workflowService, target).catch(async (error: unknown) => {
    await connection.close().catch(() => undefined);
    throw error;
  });
  return { client: new Client({ connection, namespace: target.namespace }), connection };
}

/** gRPC NOT_FOUND, as the server answers for a namespace it does not have. */
const GRPC_NOT_FOUND = 5;

/**
 * A namespace the server does not have is bad input, said once here: otherwise each command meets
 * it differently (a "no release" that is not true, a NamespaceNotFoundError stack). Only a clear
 * NOT_FOUND refuses: a key that may not describe namespaces goes on and meets its own error later.
 */
export async function requireNamespace(
  service: Pick<Connection['workflowService'], 'describeNamespace' | 'listNamespaces'>,
  target: TemporalTarget,
): Promise<void> {
  try {
    await service.describeNamespace({ namespace: target.namespace });
  } catch (error) {
    const e = error as Error & { code?: number };
    if (e.code !== GRPC_NOT_FOUND && e.name !== 'NamespaceNotFoundError') return;
    const known = await service
      .listNamespaces({ pageSize: 20 })
      .then((r) =>
        (r.namespaces ?? [])
          .map((n) => n.namespaceInfo?.name)
          .filter((n): n is string => Boolean(n) && n !== 'temporal-system'),
      )
      .catch(() => [] as string[]);
    throw new CliError(
      `--namespace "${target.namespace}": no such namespace on ${target.address}` +
        `${known.length > 0 ? ` (it has ${known.join(', ')})` : ''}; give an existing one with --namespace / TEMPORAL_NAMESPACE, ` +
        `or create it (temporal operator namespace create --namespace ${target.namespace})`,
    );
  }
}

export function workflowUrl(target: TemporalTarget, workflowId: string, runId?: string): string | null {
  if (!target.uiUrl) return null;
  const base = `${target.uiUrl}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
