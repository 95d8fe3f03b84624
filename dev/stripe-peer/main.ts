/**
 * CLI entry for the Stripe peer, so a dev stack or an end-to-end test can run it as its own process:
 *
 *   node dist/dev/stripe-peer/main.js --port 12111 [--host 127.0.0.1] [--state-file path]
 *     [--api-key sk_test_x ...] [--restricted-key rk_test_y=rak_product_write,rak_price_write ...]
 *     [--idempotency-ttl-ms 86400000]
 *
 * Prints exactly one line, `stripe-peer listening on http://HOST:PORT`, once it accepts
 * connections: launchers wait for that line instead of polling the port.
 */
import { parseArgs } from 'node:util';
import { startStripePeer } from './server.js';
import { PERMISSIONS, type Permission, type StripePeerOptions } from './types.js';

const USAGE =
  'usage: stripe-peer [--port 12111] [--host 127.0.0.1] [--state-file path] [--api-key sk_test_... ...]\n' +
  '                   [--restricted-key rk_test_...=PERMISSION,PERMISSION ...] [--idempotency-ttl-ms N]\n' +
  `  permissions: ${PERMISSIONS.join(', ')}`;

function parseRestricted(specs: string[]): Record<string, Permission[]> {
  const out: Record<string, Permission[]> = {};
  for (const spec of specs) {
    const m = /^(rk_(?:test|live)_[A-Za-z0-9_]+)=(.+)$/.exec(spec);
    if (!m?.[1] || !m[2])
      throw new Error('--restricted-key must look like rk_test_...=rak_product_write,rak_price_write');
    const permissions = m[2].split(',').map((x) => x.trim());
    const unknown = permissions.filter((x) => !PERMISSIONS.some((known) => known === x));
    if (unknown.length) throw new Error(`--restricted-key: unknown permission ${unknown.join(', ')}`);
    out[m[1]] = permissions as Permission[];
  }
  return out;
}

function parseOptions(argv: string[]): StripePeerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '12111' },
      host: { type: 'string', default: '127.0.0.1' },
      'state-file': { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      'restricted-key': { type: 'string', multiple: true },
      'idempotency-ttl-ms': { type: 'string' },
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
  if (values['restricted-key']?.length) opts.restrictedKeys = parseRestricted(values['restricted-key']);
  const ttl = values['idempotency-ttl-ms'];
  if (ttl !== undefined) {
    if (!/^\d+$/.test(ttl) || Number(ttl) < 1)
      throw new Error(`--idempotency-ttl-ms must be a positive integer, got ${ttl}`);
    opts.idempotencyTtlMs = Number(ttl);
  }
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
