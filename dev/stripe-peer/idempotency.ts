/**
 * Stripe's idempotency rules (https://docs.stripe.com/api/idempotent_requests):
 * - a key's first result is saved and replayed for 24 hours, whatever its status code, 500s
 *   included, once the endpoint started executing;
 * - no result is saved when the request failed validation or conflicted with a concurrent
 *   request: a corrected retry with the same key runs for real;
 * - the same key while its first request is still executing answers 409 (idempotency_error);
 * - a key reused with other parameters (or another endpoint) answers 400 (idempotency_error);
 * - keys are scoped to the API key; the peer stores sha256(api key), never the key.
 */
import { createHash } from 'node:crypto';
import { invalid, PeerError } from './errors';
import type { IdempotencyRecord, Store } from './store';

export interface IdempotentRequest {
  apiKey: string;
  key: string;
  method: string;
  path: string;
  /** Canonical JSON of the decoded params. */
  fingerprint: string;
}

/** A request that holds its key until `save` or `release`. */
export interface KeyClaim {
  storeKey: string;
  request: IdempotentRequest;
}

export class Idempotency {
  private readonly executing = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * The saved result to replay, or a claim to run the request under. Throws 409 while the key's
   * first request still runs, 400 when the key was used with other parameters.
   */
  begin(request: IdempotentRequest): { replay: IdempotencyRecord } | { claim: KeyClaim } {
    if (request.key.length > 255) throw invalid('Idempotency-Key must be at most 255 characters long.');
    const storeKey = `${createHash('sha256').update(request.apiKey).digest('hex')}:${request.key}`;
    if (this.executing.has(storeKey)) {
      throw new PeerError(
        409,
        {
          type: 'idempotency_error',
          code: 'idempotency_key_in_use',
          message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${request.key}. Please try again later.`,
        },
        { 'Stripe-Should-Retry': 'true' },
      );
    }
    const previous = this.store.idempotency.get(storeKey);
    if (previous && this.now() - (previous.createdAt ?? this.now()) >= this.ttlMs) {
      this.store.idempotency.delete(storeKey);
    } else if (previous) {
      if (
        previous.method !== request.method ||
        previous.path !== request.path ||
        previous.fingerprint !== request.fingerprint
      ) {
        throw new PeerError(400, {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${request.key}' if you meant to execute a different request.`,
        });
      }
      return { replay: previous };
    }
    this.executing.add(storeKey);
    return { claim: { storeKey, request } };
  }

  /** Saves the claim's result: a success, or a 5xx of a request that started executing. */
  save(claim: KeyClaim, status: number, body: string, requestId: string): void {
    this.executing.delete(claim.storeKey);
    if (status >= 300 && status < 500) return;
    this.store.idempotency.set(claim.storeKey, {
      method: claim.request.method,
      path: claim.request.path,
      fingerprint: claim.request.fingerprint,
      status,
      body,
      requestId,
      createdAt: this.now(),
    });
  }

  /** Frees the key without saving (validation failed, rate limited): the next try runs. */
  release(claim: KeyClaim): void {
    this.executing.delete(claim.storeKey);
  }

  /** Drops expired results, so the store does not grow without bound. */
  prune(): void {
    const now = this.now();
    for (const [k, v] of this.store.idempotency) {
      if (now - (v.createdAt ?? now) >= this.ttlMs) this.store.idempotency.delete(k);
    }
  }

  clear(): void {
    this.executing.clear();
  }
}
