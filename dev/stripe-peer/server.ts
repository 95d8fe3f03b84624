/**
 * stripe-peer: a small, stateful, Stripe-compatible HTTP server for local runs and tests.
 *
 * The release tool talks to it through the official `stripe` SDK (`host`/`port`/`protocol`
 * options), so the code path is the one that runs against real Stripe. That only holds if the
 * peer answers like Stripe's v1 API for the parts we use, and is as strict as Stripe where the
 * tool depends on Stripe's rules: parameter validation, idempotency, key permissions, default
 * prices. Anything outside that surface answers 404 like an unknown Stripe URL.
 *
 * Only node:http and friends: the peer must start in any environment the tool runs in.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { apiKeyOf, KeyRing } from './auth';
import { PeerError, unrecognizedUrl, withDocUrl, type StripeErrorBody } from './errors';
import { Faults, normalizeFault } from './faults';
import { canonicalJson, checkParams, parseForm, Params, type ParamSchema } from './form';
import { Idempotency, type KeyClaim } from './idempotency';
import { SCHEMAS, StripeModel, type HandlerResult } from './resources';
import { readStateFile, Store, writeStateFile } from './store';
import {
  DEFAULT_IDEMPOTENCY_TTL_MS,
  type Fault,
  type PeerState,
  type Permission,
  type RequestLogEntry,
  type StripePeer,
  type StripePeerOptions,
} from './types';
import { isRecord, randomToken } from './util';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_LOG_ENTRIES = 10_000;

type Route = (model: StripeModel, params: Params, id: string) => HandlerResult;

interface RouteEntry {
  method: string;
  pattern: RegExp;
  permission: Permission;
  schema: ParamSchema;
  handler: Route;
}

/** Route table: method + path pattern; `:id` captures one path segment. Specific paths first (search before :id). */
const ROUTES: RouteEntry[] = [
  {
    method: 'GET',
    pattern: /^\/v1\/balance$/,
    permission: 'rak_balance_read',
    schema: SCHEMAS.none,
    handler: (m) => m.balance(),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/account$/,
    permission: 'rak_account_read',
    schema: SCHEMAS.none,
    handler: (m) => m.account(),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/products\/search$/,
    permission: 'rak_product_read',
    schema: SCHEMAS.search,
    handler: (m, p) => m.searchProducts(p),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/products$/,
    permission: 'rak_product_write',
    schema: SCHEMAS.productCreate,
    handler: (m, p) => m.createProduct(p),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/products$/,
    permission: 'rak_product_read',
    schema: SCHEMAS.productList,
    handler: (m, p) => m.listProducts(p),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/products\/([^/]+)$/,
    permission: 'rak_product_read',
    schema: SCHEMAS.none,
    handler: (m, _p, id) => m.retrieveProduct(id),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/products\/([^/]+)$/,
    permission: 'rak_product_write',
    schema: SCHEMAS.productUpdate,
    handler: (m, p, id) => m.updateProduct(id, p),
  },
  {
    method: 'DELETE',
    pattern: /^\/v1\/products\/([^/]+)$/,
    permission: 'rak_product_write',
    schema: SCHEMAS.none,
    handler: (m, _p, id) => m.deleteProduct(id),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/prices\/search$/,
    permission: 'rak_price_read',
    schema: SCHEMAS.search,
    handler: (m, p) => m.searchPrices(p),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/prices$/,
    permission: 'rak_price_write',
    schema: SCHEMAS.priceCreate,
    handler: (m, p) => m.createPrice(p),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/prices$/,
    permission: 'rak_price_read',
    schema: SCHEMAS.priceList,
    handler: (m, p) => m.listPrices(p),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/prices\/([^/]+)$/,
    permission: 'rak_price_read',
    schema: SCHEMAS.none,
    handler: (m, _p, id) => m.retrievePrice(id),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/prices\/([^/]+)$/,
    permission: 'rak_price_write',
    schema: SCHEMAS.priceUpdate,
    handler: (m, p, id) => m.updatePrice(id, p),
  },
];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new PeerError(413, { type: 'invalid_request_error', message: 'Request body too large.' }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function errorJson(body: StripeErrorBody): string {
  return JSON.stringify({ error: withDocUrl(body) });
}

type Send = (status: number, body: unknown, extra?: OutgoingHttpHeaders) => void;

class PeerServer {
  private readonly store = new Store();
  private readonly model = new StripeModel(this.store);
  private readonly keys: KeyRing;
  private readonly idempotency: Idempotency;
  private readonly faults = new Faults();
  private log: RequestLogEntry[] = [];
  private readonly inFlight = new Set<RequestLogEntry>();

  constructor(private readonly opts: StripePeerOptions) {
    this.keys = new KeyRing(opts);
    this.idempotency = new Idempotency(
      this.store,
      opts.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS,
      opts.now ?? (() => Date.now()),
    );
    if (opts.stateFile) {
      const content = readStateFile(opts.stateFile);
      if (content) this.store.load(content);
    }
  }

  state(): PeerState {
    return structuredClone({
      products: [...this.store.products.values()],
      prices: [...this.store.prices.values()],
      requests: this.log,
      inFlight: [...this.inFlight],
    });
  }

  reset(): void {
    this.store.clear();
    this.idempotency.clear();
    this.faults.clear();
    this.log = [];
    this.persist();
  }

  injectFault(f: Fault): void {
    this.faults.add(f);
  }

  addApiKey(key: string, permissions?: Permission[]): void {
    this.keys.add(key, permissions);
  }

  private persist(): void {
    if (this.opts.stateFile) {
      this.idempotency.prune();
      writeStateFile(this.opts.stateFile, this.store.toJson());
    }
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = `req_${randomToken(14)}`;
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://peer.invalid');
    const path = url.pathname;
    const headers: OutgoingHttpHeaders = {
      'Content-Type': 'application/json',
      'Request-Id': requestId,
      'Stripe-Version': headerValue(req, 'stripe-version') ?? '2026-10-28.endive',
    };
    const send: Send = (status, body, extra = {}) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { ...headers, ...extra, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      if (path.startsWith('/_peer/')) {
        await this.handleControl(method, path, req, send);
        return;
      }
      await this.handleApi(method, path, url.search.slice(1), req, res, requestId, headers, send);
    } catch (e) {
      // Unexpected failures still answer in Stripe's shape, so the SDK raises StripeAPIError, not a parse error.
      const err =
        e instanceof PeerError
          ? e
          : new PeerError(500, { type: 'api_error', message: `stripe-peer internal error: ${String(e)}` });
      if (!res.headersSent) send(err.status, errorJson(err.body), err.headers);
      else res.destroy();
    }
  }

  private async handleControl(method: string, path: string, req: IncomingMessage, send: Send): Promise<void> {
    if (path === '/_peer/state' && method === 'GET') return send(200, this.state());
    if (path === '/_peer/reset' && method === 'POST') {
      this.reset();
      return send(200, { ok: true });
    }
    if (path === '/_peer/keys' && method === 'POST') {
      try {
        const body: unknown = JSON.parse(await readBody(req));
        const { key, permissions } = isRecord(body) ? body : {};
        if (typeof key !== 'string') throw new TypeError('key must be a string');
        if (permissions !== undefined && !Array.isArray(permissions))
          throw new TypeError('permissions must be an array');
        this.addApiKey(key, permissions as Permission[] | undefined);
      } catch (e) {
        return send(400, {
          error: { type: 'invalid_request_error', message: e instanceof Error ? e.message : String(e) },
        });
      }
      return send(200, { ok: true });
    }
    if (path === '/_peer/faults') {
      if (method === 'GET') return send(200, { faults: this.faults.pending() });
      if (method === 'DELETE') {
        this.faults.clear();
        return send(200, { faults: [] });
      }
      if (method === 'POST') {
        let fault: Fault;
        try {
          fault = normalizeFault(JSON.parse(await readBody(req)));
        } catch (e) {
          return send(400, {
            error: { type: 'invalid_request_error', message: e instanceof Error ? e.message : String(e) },
          });
        }
        this.injectFault(fault);
        return send(200, { faults: this.faults.pending() });
      }
    }
    send(404, {
      error: { type: 'invalid_request_error', message: `Unknown control route ${method} ${path}` },
    });
  }

  private async handleApi(
    method: string,
    path: string,
    query: string,
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    headers: OutgoingHttpHeaders,
    send: Send,
  ): Promise<void> {
    const idempotencyKey = method === 'POST' ? (headerValue(req, 'idempotency-key') ?? null) : null;
    if (idempotencyKey !== null) headers['Idempotency-Key'] = idempotencyKey;
    const entry: RequestLogEntry = {
      requestId,
      method,
      path,
      idempotencyKey,
      status: 0,
      replayed: false,
      fault: false,
    };
    this.inFlight.add(entry);
    const record = (status: number): void => {
      entry.status = status;
      this.inFlight.delete(entry);
      this.log.push(entry);
      if (this.log.length > MAX_LOG_ENTRIES) this.log.splice(0, this.log.length - MAX_LOG_ENTRIES);
    };
    const finish: Send = (status, body, extra) => {
      record(status);
      send(status, body, extra);
    };
    /** A request that ran (or replayed) answers, unless a drop fault closes the connection instead. */
    const answer: Send = (status, body, extra) => {
      if (!this.faults.take('drop', method, path)) return finish(status, body, extra);
      entry.fault = true;
      entry.dropped = true;
      record(status);
      res.destroy();
    };
    let claim: KeyClaim | undefined;
    try {
      // The body is read even for faults, so the connection stays usable for keep-alive.
      const body = method === 'POST' ? await readBody(req) : '';
      const apiKey = this.keys.authenticate(apiKeyOf(req));
      let route: { entry: RouteEntry; id: string } | undefined;
      for (const r of ROUTES) {
        const m = r.method === method ? r.pattern.exec(path) : null;
        if (m) {
          route = { entry: r, id: decodeURIComponent(m[1] ?? '') };
          break;
        }
      }
      if (!route) throw unrecognizedUrl(method, path);
      this.keys.authorize(apiKey, route.entry.permission);
      const form = parseForm(method === 'POST' ? body : query);
      checkParams(form, route.entry.schema);

      if (idempotencyKey !== null) {
        const begun = this.idempotency.begin({
          apiKey,
          key: idempotencyKey,
          method,
          path,
          fingerprint: canonicalJson(form),
        });
        if ('replay' in begun) {
          entry.replayed = true;
          return answer(begun.replay.status, begun.replay.body, {
            'Idempotent-Replayed': 'true',
            'Original-Request': begun.replay.requestId,
          });
        }
        claim = begun.claim;
      }

      const latency = this.faults.take('latency', method, path, body);
      if (latency) {
        entry.fault = true;
        await delay(latency.delayMs ?? 0);
      }

      const fault = this.faults.take('error', method, path, body);
      if (fault) {
        entry.fault = true;
        const status = fault.status ?? 500;
        const text = errorJson({
          type: fault.type ?? 'api_error',
          message: fault.message ?? 'stripe-peer injected fault',
          ...(fault.code ? { code: fault.code } : {}),
        });
        // A 5xx stands for a request that started executing: its key replays it, as on Stripe.
        if (claim) {
          this.idempotency.save(claim, status, text, requestId);
          this.persist();
        }
        claim = undefined;
        const extra: OutgoingHttpHeaders = { 'Stripe-Should-Retry': 'false' };
        if (status === 429) extra['Retry-After'] = String(fault.retryAfterSeconds ?? 1);
        return finish(status, text, extra);
      }

      let result: HandlerResult;
      try {
        result = route.entry.handler(this.model, new Params(form), route.id);
      } catch (e) {
        // A rejected request saves no result, so a corrected retry with the same key runs.
        if (claim) this.idempotency.release(claim);
        claim = undefined;
        throw e;
      }
      const text = JSON.stringify(result.body);
      if (claim) this.idempotency.save(claim, result.status, text, requestId);
      claim = undefined;
      if (result.wrote || idempotencyKey !== null) this.persist();
      return answer(result.status, text);
    } catch (e) {
      if (claim) this.idempotency.release(claim);
      if (!(e instanceof PeerError)) throw e;
      return finish(e.status, errorJson(e.body), e.headers);
    }
  }
}

export async function startStripePeer(opts: StripePeerOptions = {}): Promise<StripePeer> {
  const host = opts.host ?? '127.0.0.1';
  const peer = new PeerServer(opts);
  const server = createServer((req, res) => {
    peer.handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // The SDK keeps connections alive; without this, close() would wait for them to time out.
        server.closeAllConnections();
      }),
    state: () => peer.state(),
    reset: () => peer.reset(),
    injectFault: (f) => peer.injectFault(f),
    addApiKey: (key, permissions) => peer.addApiKey(key, permissions),
  };
}
