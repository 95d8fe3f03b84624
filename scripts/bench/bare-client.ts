/**
 * The CLI's baseline: a bare node process that loads the Temporal client library, connects, makes
 * one RPC (getSystemInfo, as the CLI's connect does) and exits. `node bare-client.js HOST:PORT`.
 */
import { Connection } from '@temporalio/client';

async function main(): Promise<void> {
  const address = process.argv[2];
  if (!address) throw new Error('usage: bare-client HOST:PORT');
  const connection = await Connection.connect({ address });
  await connection.workflowService.getSystemInfo({});
  await connection.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`bare-client: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
