import { TestWorkflowEnvironment } from '@temporalio/testing';
import { RELEASE_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { temporalExecutable } from './paths';

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  /** Keep history across restarts (the demo); omitted, the server keeps it in memory. */
  dbFilename?: string;
  namespace?: string;
}

/**
 * The Temporal CLI dev server through @temporalio/testing, with an existing executable: the SDK's
 * own download of the server cannot work on machines without internet access.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalExecutable() },
      ip: '127.0.0.1',
      port: options.port,
      ui: options.uiPort !== undefined,
      uiPort: options.uiPort,
      dbFilename: options.dbFilename,
      namespace: options.namespace ?? 'default',
      // Registered at start, so releases are indexed for `release list` and the Web UI's filter.
      searchAttributes: [...RELEASE_SEARCH_ATTRIBUTES],
      extraArgs: ['--log-level', 'error'],
    },
  });
}

export function addressOf(env: TestWorkflowEnvironment): string {
  return (env.connection as unknown as { options: { address: string } }).options.address;
}
