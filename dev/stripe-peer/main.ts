/**
 * CLI entry for the Stripe peer, so a dev stack or an end-to-end test can run it as its own process:
 *
 *   node dist/src/devstack/stripe-peer-main.js --port 12111 [--host 127.0.0.1] [--state-file path] [--api-key sk_test_x ...]
 *
 * Prints exactly one line, `stripe-peer listening on http://HOST:PORT`, once it accepts
 * connections: launchers wait for that line instead of polling the port.
 */
import { parseArgs } from 'node:util';
import { startStripePeer } from './stripe-peer.js';
import type { StripePeerOptions } from './stripe-peer.js';

const USAGE =
  'usage: stripe-peer-main [--port 12111] [--host 127.0.0.1] [--state-file path] [--api-key sk_test_... ...]';

function parseOptions(argv: string[]): StripePeerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '12111' },
      host: { type: 'string', default: '127.0.0.1' },
      'state-file': { type: 'string' },
      'api-key': { type: 'string', multiple: true },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535)
    throw new Error(`--port must be an integer between 0 and 65535, got ${values.port}`);
  const opts: StripePeerOptions = { port, host: values.host };
  if (values['state-file']) opts.stateFile = values['state-file'];
  if (values['api-key']?.length) opts.apiKeys = values['api-key'];
  return opts;
}

async function main(): Promise<void> {
  let opts: StripePeerOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const peer = await startStripePeer(opts);
  process.stdout.write(`stripe-peer listening on ${peer.url}\n`);
  let closing = false;
  const shutdown = (): void => {
    // A second signal while closing is ignored: close() already drops every connection.
    if (closing) return;
    closing = true;
    peer.close().then(
      () => {
        process.exitCode = 0;
      },
      (e: unknown) => {
        process.stderr.write(`stripe-peer: close failed: ${String(e)}\n`);
        process.exitCode = 1;
      },
    );
  };
  // With the server closed nothing keeps the event loop alive, so the process exits by itself.
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((e: unknown) => {
  process.stderr.write(`stripe-peer: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
