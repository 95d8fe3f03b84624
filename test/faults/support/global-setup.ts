/**
 * The fault suite's setup: the compiled CLI must exist (the worker runs as `node bin/db-release.js`),
 * results of an earlier run are cleared, and the shared Temporal dev server is started the same
 * way the main suite starts it.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../../src/devstack/paths';
import startSharedDevServer from '../../support/global-setup';
import { resultsDir } from './results';

export default async function globalSetup(): Promise<void> {
  const cli = path.join(repoRoot(), 'dist', 'src', 'client.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build (npm run test:faults does it)`);
  await rm(resultsDir(), { recursive: true, force: true });
  await startSharedDevServer();
}
