/**
 * Injected faults: errors (5xx, 429 with Retry-After, any 4xx), latency, and connections dropped
 * after the write is done. Set from code (`injectFault`) or over HTTP (`POST /_peer/faults`) by a
 * test driving a peer in another process.
 */
import type { Fault } from './types';
import { isRecord } from './util';

interface ActiveFault {
  fault: Fault;
  remaining: number;
}

/** Validates a fault (from code or from an HTTP body) and fills in defaults. */
export function normalizeFault(input: unknown): Fault {
  if (!isRecord(input)) throw new TypeError('fault must be an object');
  const {
    kind,
    method,
    pathPrefix,
    status,
    type,
    code,
    message,
    times,
    delayMs,
    retryAfterSeconds,
    bodyIncludes,
  } = input;
  if (kind !== undefined && kind !== 'error' && kind !== 'latency' && kind !== 'drop')
    throw new TypeError('fault.kind must be one of error, latency, drop');
  if (typeof pathPrefix !== 'string' || !pathPrefix.startsWith('/'))
    throw new TypeError('fault.pathPrefix must be a path starting with /');
  for (const [name, value] of Object.entries({ method, type, code, message, bodyIncludes })) {
    if (value !== undefined && typeof value !== 'string')
      throw new TypeError(`fault.${name} must be a string`);
  }
  const positiveInt = (name: string, value: unknown, min: number): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
      throw new TypeError(`fault.${name} must be an integer >= ${min}`);
    return value;
  };
  const fault: Fault = { kind: kind ?? 'error', pathPrefix, times: positiveInt('times', times, 1) ?? 1 };
  if (typeof method === 'string') fault.method = method.toUpperCase();
  if (typeof bodyIncludes === 'string') fault.bodyIncludes = bodyIncludes;
  if (fault.kind === 'latency') {
    const delay = positiveInt('delayMs', delayMs, 1);
    if (delay === undefined) throw new TypeError('fault.delayMs is required for a latency fault');
    fault.delayMs = delay;
    return fault;
  }
  if (fault.kind === 'drop') return fault;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
    throw new TypeError('fault.status must be an HTTP error status (400-599)');
  fault.status = status;
  fault.type = typeof type === 'string' ? type : status >= 500 ? 'api_error' : 'invalid_request_error';
  fault.message = typeof message === 'string' ? message : `stripe-peer injected fault (${status})`;
  const faultCode = typeof code === 'string' ? code : status === 429 ? 'rate_limit' : undefined;
  if (faultCode !== undefined) fault.code = faultCode;
  if (status === 429) fault.retryAfterSeconds = positiveInt('retryAfterSeconds', retryAfterSeconds, 0) ?? 1;
  return fault;
}

export class Faults {
  private active: ActiveFault[] = [];

  add(f: Fault): void {
    const fault = normalizeFault(f);
    this.active.push({ fault, remaining: fault.times ?? 1 });
  }

  clear(): void {
    this.active = [];
  }

  pending(): Fault[] {
    return this.active.map(({ fault, remaining }) => ({ ...fault, times: remaining }));
  }

  /** Consumes one use of the first fault of `kind` matching this request, if any. */
  take(kind: NonNullable<Fault['kind']>, method: string, path: string, body = ''): Fault | undefined {
    const found = this.active.find(
      ({ fault }) =>
        (fault.kind ?? 'error') === kind &&
        (!fault.method || fault.method === method) &&
        path.startsWith(fault.pathPrefix) &&
        (fault.bodyIncludes === undefined || body.includes(fault.bodyIncludes)),
    );
    if (!found) return undefined;
    found.remaining -= 1;
    if (found.remaining <= 0) this.active = this.active.filter((x) => x !== found);
    return found.fault;
  }
}
