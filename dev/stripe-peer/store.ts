/**
 * The peer's state: products, prices and idempotency results in memory, optionally persisted to
 * a JSON state file (written atomically) so a dev stack keeps its catalog across restarts.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PriceObject, ProductObject } from './types';
import { isRecord } from './util';

const STATE_FILE_VERSION = 1;

export interface IdempotencyRecord {
  method: string;
  path: string;
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
  /** When the result was saved (ms); results expire after the peer's TTL. Absent in old state files. */
  createdAt?: number;
}

export interface StateFileContent {
  version: number;
  products: ProductObject[];
  prices: PriceObject[];
  /** Keyed by sha256(api key) + idempotency key: replays must survive a restart, the keys must not be stored. */
  idempotency: [string, IdempotencyRecord][];
}

/** Maps keep insertion (= creation) order, which is what newest-first listing needs. */
export class Store {
  products = new Map<string, ProductObject>();
  prices = new Map<string, PriceObject>();
  idempotency = new Map<string, IdempotencyRecord>();

  clear(): void {
    this.products.clear();
    this.prices.clear();
    this.idempotency.clear();
  }

  toJson(): StateFileContent {
    return {
      version: STATE_FILE_VERSION,
      products: [...this.products.values()],
      prices: [...this.prices.values()],
      idempotency: [...this.idempotency.entries()],
    };
  }

  load(content: StateFileContent): void {
    this.clear();
    // State files written before products carried `type` get Stripe's default for it.
    for (const p of content.products) this.products.set(p.id, { ...p, type: p.type ?? 'service' });
    for (const p of content.prices) this.prices.set(p.id, p);
    for (const [k, v] of content.idempotency) this.idempotency.set(k, v);
  }
}

/** Reads the state file; a missing file is an empty state, a damaged one is an error (never silently start empty). */
export function readStateFile(file: string): StateFileContent | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (isRecord(e) && e.code === 'ENOENT') return undefined;
    throw e;
  }
  const parsed: unknown = JSON.parse(text);
  if (
    !isRecord(parsed) ||
    parsed.version !== STATE_FILE_VERSION ||
    !Array.isArray(parsed.products) ||
    !Array.isArray(parsed.prices) ||
    !Array.isArray(parsed.idempotency)
  ) {
    throw new Error(`stripe-peer: ${file} is not a version ${STATE_FILE_VERSION} state file`);
  }
  // The file is only ever written by Store.toJson, so its shape beyond the envelope is trusted.
  return parsed as unknown as StateFileContent;
}

/** Write to a temp file and rename over the target: a crash mid-write never leaves a truncated state. */
export function writeStateFile(file: string, content: StateFileContent): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`);
  renameSync(tmp, file);
}
