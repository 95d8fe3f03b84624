/**
 * One Temporal dev server for the whole test run (workflow and end-to-end tests), started from
 * the project's own binary; every test uses its own task queue and workflow ids.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { pathWithTools } from '../../src/devstack/paths';
import { addressOf, startDevServer } from '../../src/devstack/temporal';

declare global {
  var __dbReleaseTemporal: TestWorkflowEnvironment | undefined;
}

export default async function globalSetup(): Promise<void> {
  process.env.PATH = pathWithTools();
  if (process.env.DB_RELEASE_TEST_TEMPORAL_ADDRESS) return;
  const env = await startDevServer();
  globalThis.__dbReleaseTemporal = env;
  process.env.DB_RELEASE_TEST_TEMPORAL_ADDRESS = addressOf(env);
}
