/**
 * Stripe's error shape (https://docs.stripe.com/api/errors): `{"error": {type, code, message,
 * param, doc_url}}`. `doc_url` points at the error code's page, as Stripe's answers do.
 */
import { maskKey } from './util';

export interface StripeErrorBody {
  type: string;
  message: string;
  code?: string;
  param?: string;
  doc_url?: string;
}

/** Thrown by handlers; the dispatcher turns it into Stripe's `{"error": {...}}` response. */
export class PeerError extends Error {
  readonly body: StripeErrorBody;
  constructor(
    readonly status: number,
    body: StripeErrorBody,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
    this.body = withDocUrl(body);
  }
}

/** Stripe links each error code to https://stripe.com/docs/error-codes/<code-with-hyphens>. */
export function withDocUrl(body: StripeErrorBody): StripeErrorBody {
  if (!body.code || body.doc_url) return body;
  return { ...body, doc_url: `https://stripe.com/docs/error-codes/${body.code.replace(/_/g, '-')}` };
}

export function invalid(message: string, param?: string, code?: string): PeerError {
  return new PeerError(400, {
    type: 'invalid_request_error',
    message,
    ...(code ? { code } : {}),
    ...(param ? { param } : {}),
  });
}

export function missingParam(param: string): PeerError {
  return invalid(`Missing required param: ${param}.`, param, 'parameter_missing');
}

export function unknownParam(param: string): PeerError {
  return invalid(`Received unknown parameter: ${param}`, param, 'parameter_unknown');
}

export function noSuch(kind: 'product' | 'price', id: string, param: string, status: 400 | 404): PeerError {
  return new PeerError(status, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    param,
    message: `No such ${kind}: '${id}'`,
  });
}

export function unrecognizedUrl(method: string, path: string): PeerError {
  return new PeerError(404, {
    type: 'invalid_request_error',
    message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
  });
}

/** For values of known params that real Stripe accepts but the peer does not model: refuse loudly rather than silently differ. */
export function unsupported(param: string, what: string): PeerError {
  return invalid(`stripe-peer does not support ${what}.`, param);
}

/** A restricted key without the permission an endpoint needs (https://docs.stripe.com/keys#limit-access). */
export function permissionDenied(key: string, permission: string): PeerError {
  return new PeerError(403, {
    type: 'invalid_request_error',
    message: `The provided key '${maskKey(key)}' does not have the required permissions for this endpoint on account 'acct_peer'. Having the '${permission}' permission would allow this request to continue.`,
  });
}
