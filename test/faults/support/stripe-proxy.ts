/**
 * A loopback HTTP proxy between the worker's Stripe SDK and the Stripe peer. It forwards every
 * request untouched and lets a case hold one: before it reaches the peer (nothing happened yet),
 * or after the peer answered (the write is done, the worker has not heard). A held request is
 * then dropped, the way a dying worker's connection is. Status faults stay with the peer's own
 * injectFault; this only adds timing.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  at: string;
  status: number | null;
  held: 'before' | 'after' | null;
}

export interface HeldRequest {
  method: string;
  path: string;
  /** Forwards a request held before the peer, or delivers an answer held after it. */
  release(): void;
  /** Closes the worker's connection without an answer. */
  drop(): void;
}

interface Hold {
  match: (method: string, path: string) => boolean;
  when: 'before' | 'after';
  resolve: (held: HeldRequest) => void;
}

export class StripeProxy {
  readonly requests: ProxiedRequest[] = [];
  private holds: Hold[] = [];
  private readonly pending = new Set<HeldRequest>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<StripeProxy> {
    let proxy: StripeProxy | null = null;
    const server = createServer((req, res) => {
      proxy?.handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    proxy = new StripeProxy(server, `http://127.0.0.1:${port}`);
    proxy.target = new URL(target);
    return proxy;
  }

  private target = new URL('http://127.0.0.1');

  /** Holds the next request matching `match`; resolves once one is held. */
  hold(match: (method: string, path: string) => boolean, when: 'before' | 'after'): Promise<HeldRequest> {
    return new Promise((resolve) => this.holds.push({ match, when, resolve }));
  }

  /** Forgets armed holds that never matched (so a finished case holds nothing by surprise). */
  disarm(): void {
    this.holds = [];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const pathOnly = (req.url ?? '/').split('?')[0] ?? '/';
    const entry: ProxiedRequest = {
      method,
      path: pathOnly,
      at: new Date().toISOString(),
      status: null,
      held: null,
    };
    this.requests.push(entry);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const index = pathOnly.startsWith('/v1/') ? this.holds.findIndex((h) => h.match(method, pathOnly)) : -1;
    const hold = index >= 0 ? this.holds.splice(index, 1)[0] : undefined;

    const forward = () =>
      new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>(
        (resolve, reject) => {
          const upstream = httpRequest(
            {
              host: this.target.hostname,
              port: this.target.port,
              method,
              path: req.url,
              headers: { ...req.headers, host: this.target.host, connection: 'close' },
            },
            (answer) => {
              const parts: Buffer[] = [];
              answer.on('data', (c: Buffer) => parts.push(c));
              answer.on('end', () =>
                resolve({
                  status: answer.statusCode ?? 502,
                  headers: answer.headers,
                  body: Buffer.concat(parts),
                }),
              );
              answer.on('error', reject);
            },
          );
          upstream.on('error', reject);
          upstream.end(body);
        },
      );
    const deliver = (answer: { status: number; headers: IncomingMessage['headers']; body: Buffer }) => {
      entry.status = answer.status;
      if (res.destroyed || res.headersSent) return;
      const headers = { ...answer.headers };
      delete headers.connection;
      delete headers['transfer-encoding'];
      headers['content-length'] = String(answer.body.length);
      res.writeHead(answer.status, headers);
      res.end(answer.body);
    };
    const drop = () => {
      entry.status = null;
      req.socket.destroy();
    };

    if (!hold) {
      deliver(await forward());
      return;
    }
    entry.held = hold.when;
    if (hold.when === 'before') {
      const held: HeldRequest = {
        method,
        path: pathOnly,
        release: () => {
          this.pending.delete(held);
          forward().then(deliver, drop);
        },
        drop: () => {
          this.pending.delete(held);
          drop();
        },
      };
      this.pending.add(held);
      hold.resolve(held);
      return;
    }
    const answer = await forward();
    entry.status = answer.status;
    const held: HeldRequest = {
      method,
      path: pathOnly,
      release: () => {
        this.pending.delete(held);
        deliver(answer);
      },
      drop: () => {
        this.pending.delete(held);
        drop();
      },
    };
    this.pending.add(held);
    hold.resolve(held);
  }

  async close(): Promise<void> {
    this.disarm();
    for (const held of [...this.pending]) held.drop();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
