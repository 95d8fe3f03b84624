import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  NativeConnection,
  Runtime,
  DefaultLogger,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { randomUUID } from 'node:crypto';

let logsQuieted = false;
/** Worker errors only, unless DEBUG_TEMPORAL is set: failing releases are expected in tests. */
export function quietLogs(): void {
  if (logsQuieted || process.env.DEBUG_TEMPORAL) return;
  logsQuieted = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

export function testAddress(): string {
  const address = process.env.DB_RELEASE_TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error(
      'DB_RELEASE_TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (global setup starts the dev server)',
    );
  return address;
}

export interface TemporalTestContext {
  client: Client;
  connection: Connection;
  nativeConnection: NativeConnection;
  bundle: WorkflowBundleWithSourceMap;
  close(): Promise<void>;
}

/** Connections and one workflow bundle per test file. */
export async function temporalTestContext(address = testAddress()): Promise<TemporalTestContext> {
  quietLogs();
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: new DefaultLogger('WARN'),
  });
  return {
    client: new Client({ connection }),
    connection,
    nativeConnection,
    bundle,
    async close() {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
