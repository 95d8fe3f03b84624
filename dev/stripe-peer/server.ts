/**
 * stripe-peer: a small, stateful, Stripe-compatible HTTP server for local runs and tests.
 *
 * The release tool talks to it through the official `stripe` SDK (`host`/`port`/`protocol`
 * options), so the code path is the one that runs against real Stripe. That only holds if the
 * peer answers like Stripe's v1 API for the parts we use: form-encoded bodies with bracket
 * notation, Stripe-shaped errors, idempotency keys, list/search envelopes and cursor
 * pagination, products and prices with lookup keys. Anything outside that surface answers 404
 * like an unknown Stripe URL instead of pretending to work.
 *
 * Only node:http and friends: the peer must start in any environment the tool runs in.
 */
import { createHash, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

export interface StripePeerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: the peer has no real auth and must not be reachable from outside. */
  host?: string;
  /** Accepted secret keys. Default: any key starting with `sk_test_`. */
  apiKeys?: string[];
  /** If given, state is loaded from this JSON file at start and saved after each write. */
  stateFile?: string;
}

export interface Fault {
  /** HTTP method to match (any when unset). */
  method?: string;
  /** Matched against the request path, e.g. `/v1/prices` (also matches `/v1/prices/price_x`). */
  pathPrefix: string;
  status: number;
  /** Stripe error type; default `api_error` for 5xx, `invalid_request_error` otherwise. */
  type?: string;
  /** Stripe error code, e.g. `rate_limit` or `lock_timeout`. Default `rate_limit` for 429. */
  code?: string;
  message?: string;
  /** How many matching requests fail; default 1. */
  times?: number;
}

export interface RequestLogEntry {
  requestId: string;
  method: string;
  /** Path without the query string. */
  path: string;
  idempotencyKey: string | null;
  status: number;
  /** True when the response was replayed from an earlier request with the same idempotency key. */
  replayed: boolean;
  /** True when the response came from an injected fault. */
  fault: boolean;
}

export interface PeerState {
  /** Oldest first (creation order). */
  products: ProductObject[];
  /** Oldest first (creation order). */
  prices: PriceObject[];
  /** Every /v1 request, oldest first (capped at the last 10,000). */
  requests: RequestLogEntry[];
}

export interface StripePeer {
  url: string;
  port: number;
  close(): Promise<void>;
  /** Deep copy: callers may mutate it freely. */
  state(): PeerState;
  /** Forgets all objects, idempotency keys, the request log and pending faults. */
  reset(): void;
  injectFault(f: Fault): void;
}

export interface ProductObject {
  id: string;
  object: 'product';
  active: boolean;
  created: number;
  default_price: string | null;
  description: string | null;
  images: string[];
  livemode: false;
  marketing_features: { name: string }[];
  metadata: Record<string, string>;
  name: string;
  package_dimensions: null;
  shippable: boolean | null;
  statement_descriptor: string | null;
  tax_code: string | null;
  unit_label: string | null;
  updated: number;
  url: string | null;
}

export interface PriceRecurring {
  interval: Interval;
  interval_count: number;
  meter: null;
  trial_period_days: number | null;
  usage_type: 'licensed';
}

export interface PriceObject {
  id: string;
  object: 'price';
  active: boolean;
  billing_scheme: 'per_unit';
  created: number;
  currency: string;
  custom_unit_amount: null;
  livemode: false;
  lookup_key: string | null;
  metadata: Record<string, string>;
  nickname: string | null;
  product: string;
  recurring: PriceRecurring | null;
  tax_behavior: TaxBehavior;
  tiers_mode: null;
  transform_quantity: null;
  type: 'one_time' | 'recurring';
  unit_amount: number | null;
  unit_amount_decimal: string | null;
}

type Interval = 'day' | 'week' | 'month' | 'year';
type TaxBehavior = 'inclusive' | 'exclusive' | 'unspecified';

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/**
 * Currencies Stripe accepts for prices. Deliberately a separate copy from the release tool's own
 * list: if both sides shared one list, a wrong entry could never be caught by a test.
 */
const CURRENCIES: ReadonlySet<string> = new Set(
  (
    'usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd ' +
    'cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd ' +
    'hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad ' +
    'mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln ' +
    'pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs ' +
    'uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw'
  ).split(' '),
);

/** Stripe caps a billing period at three years, whatever the interval. */
const MAX_INTERVAL_COUNT: Record<Interval, number> = { day: 1095, week: 156, month: 36, year: 3 };
const MAX_UNIT_AMOUNT = 99_999_999;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_LOG_ENTRIES = 10_000;
const STATE_FILE_VERSION = 1;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

interface StripeErrorBody {
  type: string;
  message: string;
  code?: string;
  param?: string;
}

/** Thrown by handlers; the dispatcher turns it into Stripe's `{"error": {...}}` response. */
class PeerError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
  ) {
    super(body.message);
  }
}

function invalid(message: string, param?: string, code?: string): PeerError {
  return new PeerError(400, {
    type: 'invalid_request_error',
    message,
    ...(code ? { code } : {}),
    ...(param ? { param } : {}),
  });
}

function missingParam(param: string): PeerError {
  return invalid(`Missing required param: ${param}.`, param, 'parameter_missing');
}

function noSuch(kind: 'product' | 'price', id: string, param: string, status: 400 | 404): PeerError {
  return new PeerError(status, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    param,
    message: `No such ${kind}: '${id}'`,
  });
}

function unrecognizedUrl(method: string, path: string): PeerError {
  return new PeerError(404, {
    type: 'invalid_request_error',
    message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
  });
}

/** For values of known params that real Stripe accepts but the peer does not model: refuse loudly rather than silently differ. */
function unsupported(param: string, what: string): PeerError {
  return invalid(`stripe-peer does not support ${what}.`, param);
}

// ---------------------------------------------------------------------------------------------
// Form decoding (Stripe's bracket notation)
// ---------------------------------------------------------------------------------------------

/** A decoded parameter: a scalar string, or a node whose children are named (hash) or numbered (array). */
type FormValue = string | FormNode;
type FormNode = Map<string, FormValue>;

/**
 * Decodes `a=1&b[c]=2&d[]=x&d[1]=y` into nested maps. Array indices stay keys here: whether
 * `metadata[0]` is an array element or a hash key depends on the param, which only the
 * handler knows (see Params.array and Params.metadata).
 */
function parseForm(text: string): FormNode {
  const root: FormNode = new Map();
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    if (!match?.[1]) throw invalid(`Invalid parameter name: ${rawKey}`);
    const segments = [
      match[1],
      ...Array.from((match[2] ?? '').matchAll(/\[([^[\]]*)\]/g), (m) => m[1] ?? ''),
    ];
    let node = root;
    for (let i = 0; i < segments.length; i++) {
      // `d[]` appends: its index is the number of elements so far.
      const segment = segments[i] === '' && i > 0 ? String(node.size) : (segments[i] ?? '');
      if (i === segments.length - 1) {
        if (node.get(segment) instanceof Map)
          throw invalid(`Invalid value for ${rawKey}: a hash or array was expected.`, rawKey);
        node.set(segment, value);
        break;
      }
      const child = node.get(segment);
      if (typeof child === 'string')
        throw invalid(`Invalid hash: ${rawKey} mixes a scalar and a hash.`, rawKey);
      const next: FormNode = child ?? new Map<string, FormValue>();
      node.set(segment, next);
      node = next;
    }
  }
  return root;
}

/** Canonical JSON of decoded params: the same request always fingerprints the same (idempotency). */
function canonicalJson(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  const keys = [...value.keys()].sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value.get(k) ?? '')}`).join(',')}}`;
}

/** Metadata as a request expresses it: `metadata=` clears all keys, `metadata[k]=` deletes one. */
interface MetadataUpdate {
  clear: boolean;
  set: Map<string, string | null>;
}

/** Typed access to decoded params, with Stripe's error messages and full param names (`recurring[interval]`). */
class Params {
  constructor(
    private readonly node: FormNode,
    private readonly prefix = '',
  ) {}

  name(key: string): string {
    return this.prefix ? `${this.prefix}[${key}]` : key;
  }

  has(key: string): boolean {
    return this.node.has(key);
  }

  isHash(key: string): boolean {
    return this.node.get(key) instanceof Map;
  }

  string(key: string): string | undefined {
    const v = this.node.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string')
      throw invalid(`Invalid string: ${this.name(key)} must be a string, not a hash.`, this.name(key));
    return v;
  }

  requiredString(key: string): string {
    const v = this.string(key);
    if (v === undefined || v === '') throw missingParam(this.name(key));
    return v;
  }

  /** Stripe treats an empty string as "unset": nullable strings become null. */
  nullableString(key: string, maxLength = 5000): string | null | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    if (v.length > maxLength)
      throw invalid(`Invalid ${this.name(key)}: must be at most ${maxLength} characters.`, this.name(key));
    return v === '' ? null : v;
  }

  boolean(key: string): boolean | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw invalid(`Invalid boolean: ${v}`, this.name(key));
  }

  integer(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw invalid(`Invalid integer: ${v}`, this.name(key));
    const n = Number(v);
    if (n < min) throw invalid(`This value must be greater than or equal to ${min}.`, this.name(key));
    if (n > max) throw invalid(`This value must be less than or equal to ${max}.`, this.name(key));
    return n;
  }

  /** One of `values`, or undefined when absent. */
  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    const found = values.find((x) => x === v);
    if (found === undefined)
      throw invalid(`Invalid ${this.name(key)}: must be one of ${values.join(', ')}`, this.name(key));
    return found;
  }

  nested(key: string): Params | undefined {
    const v = this.node.get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string')
      throw invalid(`Invalid hash: ${this.name(key)} must be a hash.`, this.name(key));
    return new Params(v, this.name(key));
  }

  /** `k[0]=a&k[1]=b` or `k[]=a&k[]=b`, in index order. */
  array(key: string): string[] | undefined {
    const v = this.node.get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string') {
      // The SDK sends an empty array as `k=`; Stripe reads that as "no elements".
      if (v === '') return [];
      throw invalid(`Invalid array: ${this.name(key)} must be an array.`, this.name(key));
    }
    const entries = [...v.entries()];
    if (!entries.every(([k]) => /^\d+$/.test(k)))
      throw invalid(`Invalid array: ${this.name(key)} must be an array.`, this.name(key));
    return entries
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([k, item]) => {
        if (typeof item !== 'string')
          throw invalid(`Invalid string: ${this.name(key)}[${k}] must be a string.`, this.name(key));
        return item;
      });
  }

  /** Metadata with Stripe's limits: 50 keys, keys up to 40 characters, values up to 500. */
  metadata(key: string): MetadataUpdate | undefined {
    const v = this.node.get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string') {
      if (v === '') return { clear: true, set: new Map() };
      throw invalid(`Invalid hash: ${this.name(key)} must be a hash.`, this.name(key));
    }
    const set = new Map<string, string | null>();
    for (const [k, item] of v) {
      const param = `${this.name(key)}[${k}]`;
      if (typeof item !== 'string')
        throw invalid(`Invalid value for ${param}: metadata values must be strings.`, param);
      if (k.length > 40)
        throw invalid(
          `Metadata keys can have up to 40 characters, but you passed in a key that is ${k.length} characters: ${k}`,
          param,
        );
      if (item.length > 500)
        throw invalid(
          `Metadata values can have up to 500 characters, but you passed in a value that is ${item.length} characters.`,
          param,
        );
      set.set(k, item === '' ? null : item);
    }
    return { clear: false, set };
  }
}

function applyMetadata(
  current: Record<string, string>,
  update: MetadataUpdate | undefined,
  param: string,
): Record<string, string> {
  if (!update) return current;
  const next: Record<string, string> = update.clear ? {} : { ...current };
  for (const [k, v] of update.set) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > 50) throw invalid('You can have at most 50 metadata keys.', param);
  return next;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function randomToken(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return out;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `sk_test_****abcd`: enough to tell keys apart in a log, never the key itself. */
function maskKey(key: string): string {
  const prefix = /^[a-z]{2,4}_(?:test|live)_/.exec(key)?.[0] ?? '';
  const rest = key.slice(prefix.length);
  return `${prefix}****${rest.length > 8 ? rest.slice(-4) : ''}`;
}

/** `created` filter: an exact timestamp or a `{gt,gte,lt,lte}` hash. */
function createdFilter(p: Params): (created: number) => boolean {
  if (!p.has('created')) return () => true;
  const bounds = p.isHash('created') ? p.nested('created') : undefined;
  if (!bounds) {
    const exact = p.integer('created', 0);
    return (c) => c === exact;
  }
  const gt = bounds.integer('gt', 0);
  const gte = bounds.integer('gte', 0);
  const lt = bounds.integer('lt', 0);
  const lte = bounds.integer('lte', 0);
  return (c) =>
    (gt === undefined || c > gt) &&
    (gte === undefined || c >= gte) &&
    (lt === undefined || c < lt) &&
    (lte === undefined || c <= lte);
}

interface ListEnvelope<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

/**
 * Stripe's cursor pagination over a newest-first list. The cursor is located in the unfiltered
 * list so that paging still works when the cursor object no longer matches the filter (say, a
 * price archived between two pages). With `ending_before` the page holds the objects just
 * newer than the cursor, still newest first; the SDK reads such pages backwards.
 */
function paginate<T extends { id: string }>(
  newestFirst: T[],
  matches: (item: T) => boolean,
  p: Params,
  url: string,
  kind: 'product' | 'price',
): ListEnvelope<T> {
  const limit = p.integer('limit', 1, 100) ?? 10;
  const startingAfter = p.nullableString('starting_after');
  const endingBefore = p.nullableString('ending_before');
  if (startingAfter && endingBefore)
    throw invalid(
      'You may only specify one of these parameters: ending_before, starting_after.',
      'ending_before',
    );
  const cursorIndex = (id: string, param: string): number => {
    const index = newestFirst.findIndex((item) => item.id === id);
    if (index < 0) throw noSuch(kind, id, param, 400);
    return index;
  };
  if (endingBefore) {
    const candidates = newestFirst.slice(0, cursorIndex(endingBefore, 'ending_before')).filter(matches);
    return { object: 'list', data: candidates.slice(-limit), has_more: candidates.length > limit, url };
  }
  const from = startingAfter ? cursorIndex(startingAfter, 'starting_after') + 1 : 0;
  const candidates = newestFirst.slice(from).filter(matches);
  return { object: 'list', data: candidates.slice(0, limit), has_more: candidates.length > limit, url };
}

// ---------------------------------------------------------------------------------------------
// Search query language (the subset we model)
// ---------------------------------------------------------------------------------------------

type SearchOp = ':' | '~' | '>' | '<' | '>=' | '<=';

interface SearchClause {
  negate: boolean;
  field: string;
  /** Set for `metadata['key']`. */
  metadataKey?: string;
  op: SearchOp;
  /** null for the bare `null` value ("field is not set"). */
  value: string | null;
}

interface SearchQuery {
  clauses: SearchClause[];
  combinator: 'AND' | 'OR';
}

/** A searchable field's value: strings, booleans and numbers as Stripe compares them. */
type SearchValue = string | number | boolean | null;

/**
 * Parses `metadata['plan']:'pro' AND active:'true'`, `name~"gold"`, `-lookup_key:null`,
 * `created>1700000000`. Clauses join with AND or OR (case-insensitive, never mixed, at most 10);
 * `:` is a case-insensitive exact match and `~` a substring match of at least 3 characters.
 */
function parseSearchQuery(query: string): SearchQuery {
  const fail = (why: string): PeerError => invalid(`Invalid search query: ${why}`, 'query');
  const clauses: SearchClause[] = [];
  const combinators = new Set<'AND' | 'OR'>();
  let i = 0;
  const skipSpace = (): void => {
    while (i < query.length && /\s/.test(query[i] ?? '')) i++;
  };
  const readQuoted = (): string => {
    const quote = query[i];
    i++;
    let out = '';
    while (i < query.length && query[i] !== quote) {
      if (query[i] === '\\' && i + 1 < query.length) i++;
      out += query[i];
      i++;
    }
    if (i >= query.length) throw fail('unterminated string.');
    i++;
    return out;
  };
  skipSpace();
  while (i < query.length) {
    if (clauses.length > 0) {
      const keyword = /^(AND|OR)\s+/i.exec(query.slice(i));
      if (!keyword?.[1]) throw fail(`expected AND or OR at position ${i}.`);
      combinators.add(keyword[1].toUpperCase() === 'AND' ? 'AND' : 'OR');
      i += keyword[0].length;
    }
    const negate = query[i] === '-';
    if (negate) i++;
    const field = /^[a-z_]+/.exec(query.slice(i))?.[0];
    if (!field) throw fail(`expected a field name at position ${i}.`);
    i += field.length;
    let metadataKey: string | undefined;
    if (field === 'metadata') {
      if (query[i] !== '[' || (query[i + 1] !== "'" && query[i + 1] !== '"'))
        throw fail("metadata needs a key, like metadata['key'].");
      i++;
      metadataKey = readQuoted();
      if (query[i] !== ']') throw fail("metadata needs a key, like metadata['key'].");
      i++;
    }
    const op = /^(>=|<=|:|~|>|<)/.exec(query.slice(i))?.[1] as SearchOp | undefined;
    if (!op) throw fail(`expected an operator after ${field}.`);
    i += op.length;
    let value: string | null;
    if (query[i] === "'" || query[i] === '"') {
      value = readQuoted();
    } else {
      const bare = /^[^\s]+/.exec(query.slice(i))?.[0];
      if (!bare) throw fail(`expected a value after ${field}${op}.`);
      i += bare.length;
      value = bare === 'null' ? null : bare;
    }
    if (op === '~' && (value === null || value.length < 3))
      throw fail('the ~ operator needs at least 3 characters.');
    clauses.push({ negate, field, ...(metadataKey !== undefined ? { metadataKey } : {}), op, value });
    skipSpace();
  }
  if (clauses.length === 0) throw fail('the query is empty.');
  if (clauses.length > 10) throw fail('at most 10 clauses are allowed.');
  if (combinators.size > 1) throw fail('AND and OR cannot be combined in one query.');
  return { clauses, combinator: combinators.has('OR') ? 'OR' : 'AND' };
}

function clauseMatches(clause: SearchClause, actual: SearchValue): boolean {
  const { op, value } = clause;
  let result: boolean;
  if (value === null) {
    result = op === ':' && (actual === null || actual === '');
  } else if (op === '>' || op === '<' || op === '>=' || op === '<=') {
    const n = Number(value);
    if (typeof actual !== 'number' || !Number.isFinite(n)) result = false;
    else result = op === '>' ? actual > n : op === '<' ? actual < n : op === '>=' ? actual >= n : actual <= n;
  } else if (actual === null) {
    result = false;
  } else if (op === '~') {
    result = String(actual).toLowerCase().includes(value.toLowerCase());
  } else {
    result = String(actual).toLowerCase() === value.toLowerCase();
  }
  return clause.negate ? !result : result;
}

/** Runs a parsed query; `fields` maps each searchable field of the resource to its value. */
function searchFilter<T extends { metadata: Record<string, string> }>(
  query: SearchQuery,
  resource: 'products' | 'prices',
  fields: Record<string, (item: T) => SearchValue>,
): (item: T) => boolean {
  for (const clause of query.clauses) {
    if (clause.field !== 'metadata' && !(clause.field in fields)) {
      throw invalid(
        `Field \`${clause.field}\` is an unsupported search field for resource \`${resource}\`. See https://stripe.com/docs/search#query-fields-for-${resource} for a list of supported fields.`,
        'query',
      );
    }
    const numeric = clause.op === '>' || clause.op === '<' || clause.op === '>=' || clause.op === '<=';
    if (numeric && clause.field !== 'created')
      throw invalid(
        `Invalid search query: ${clause.op} only applies to numeric fields like created.`,
        'query',
      );
  }
  const valueOf = (clause: SearchClause, item: T): SearchValue =>
    clause.metadataKey !== undefined
      ? (item.metadata[clause.metadataKey] ?? null)
      : (fields[clause.field]?.(item) ?? null);
  return (item) =>
    query.combinator === 'AND'
      ? query.clauses.every((c) => clauseMatches(c, valueOf(c, item)))
      : query.clauses.some((c) => clauseMatches(c, valueOf(c, item)));
}

interface SearchEnvelope<T> {
  object: 'search_result';
  data: T[];
  has_more: boolean;
  next_page: string | null;
  url: string;
}

/** Search pages by offset; the token is opaque to clients, like Stripe's. */
function searchPage<T>(newestFirst: T[], p: Params, url: string): SearchEnvelope<T> {
  const limit = p.integer('limit', 1, 100) ?? 10;
  const page = p.nullableString('page');
  let offset = 0;
  if (page) {
    const decoded = /^peer_page_(\d+)$/.exec(Buffer.from(page, 'base64url').toString('utf8'));
    if (!decoded?.[1]) throw invalid(`Invalid page: ${page}`, 'page');
    offset = Number(decoded[1]);
  }
  const data = newestFirst.slice(offset, offset + limit);
  const hasMore = newestFirst.length > offset + limit;
  const nextPage = hasMore ? Buffer.from(`peer_page_${offset + limit}`, 'utf8').toString('base64url') : null;
  return { object: 'search_result', data, has_more: hasMore, next_page: nextPage, url };
}

// ---------------------------------------------------------------------------------------------
// State and persistence
// ---------------------------------------------------------------------------------------------

interface IdempotencyRecord {
  method: string;
  path: string;
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
}

interface StateFileContent {
  version: number;
  products: ProductObject[];
  prices: PriceObject[];
  /** Keyed by sha256(api key) + idempotency key: replays must survive a restart, the keys must not be stored. */
  idempotency: [string, IdempotencyRecord][];
}

/** Maps keep insertion (= creation) order, which is what newest-first listing needs. */
class Store {
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
    for (const p of content.products) this.products.set(p.id, p);
    for (const p of content.prices) this.prices.set(p.id, p);
    for (const [k, v] of content.idempotency) this.idempotency.set(k, v);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads the state file; a missing file is an empty state, a damaged one is an error (never silently start empty). */
function readStateFile(file: string): StateFileContent | undefined {
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
function writeStateFile(file: string, content: StateFileContent): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`);
  renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

interface HandlerResult {
  status: number;
  body: unknown;
  /** True when the handler changed state, so it must be persisted. */
  wrote: boolean;
}

const ok = (body: unknown, wrote = false): HandlerResult => ({ status: 200, body, wrote });

class StripeModel {
  constructor(private readonly store: Store) {}

  private newestFirst<T>(map: Map<string, T>): T[] {
    return [...map.values()].reverse();
  }

  private product(id: string, param = 'id', status: 400 | 404 = 404): ProductObject {
    const found = this.store.products.get(id);
    if (!found) throw noSuch('product', id, param, status);
    return found;
  }

  private price(id: string, param = 'id', status: 400 | 404 = 404): PriceObject {
    const found = this.store.prices.get(id);
    if (!found) throw noSuch('price', id, param, status);
    return found;
  }

  // --- products -------------------------------------------------------------------------

  /** Validates product fields without storing anything (price creation may still fail after this). */
  private buildProduct(p: Params, allowId: boolean): ProductObject {
    const name = p.requiredString('name');
    let id = `prod_${randomToken(14)}`;
    if (allowId && p.has('id')) {
      id = p.requiredString('id');
      if (this.store.products.has(id))
        throw invalid('Product already exists.', 'id', 'resource_already_exists');
    }
    const now = nowSeconds();
    return {
      id,
      object: 'product',
      active: p.boolean('active') ?? true,
      created: now,
      default_price: null,
      description: p.nullableString('description', 40000) ?? null,
      images: p.array('images') ?? [],
      livemode: false,
      marketing_features: [],
      metadata: applyMetadata({}, p.metadata('metadata'), p.name('metadata')),
      name,
      package_dimensions: null,
      shippable: p.boolean('shippable') ?? null,
      statement_descriptor: p.nullableString('statement_descriptor', 22) ?? null,
      tax_code: p.nullableString('tax_code') ?? null,
      unit_label: p.nullableString('unit_label', 12) ?? null,
      updated: now,
      url: p.nullableString('url') ?? null,
    };
  }

  createProduct(p: Params): HandlerResult {
    const product = this.buildProduct(p, true);
    // `default_price_data` creates the product's first price in the same request.
    const priceData = p.nested('default_price_data');
    const price = priceData ? this.buildPrice(priceData, product.id, false) : undefined;
    if (price) product.default_price = price.price.id;
    this.store.products.set(product.id, product);
    if (price) this.store.prices.set(price.price.id, price.price);
    return ok(product, true);
  }

  retrieveProduct(id: string): HandlerResult {
    return ok(this.product(id));
  }

  updateProduct(id: string, p: Params): HandlerResult {
    const current = this.product(id);
    const next: ProductObject = { ...current };
    const name = p.string('name');
    if (name !== undefined) {
      if (name === '')
        throw invalid(
          'You passed an empty string for name. We assume empty values are an attempt to unset a parameter; however name cannot be unset.',
          'name',
        );
      next.name = name;
    }
    next.active = p.boolean('active') ?? next.active;
    next.metadata = applyMetadata(next.metadata, p.metadata('metadata'), 'metadata');
    const description = p.nullableString('description', 40000);
    if (description !== undefined) next.description = description;
    const unitLabel = p.nullableString('unit_label', 12);
    if (unitLabel !== undefined) next.unit_label = unitLabel;
    const descriptor = p.nullableString('statement_descriptor', 22);
    if (descriptor !== undefined) next.statement_descriptor = descriptor;
    const url = p.nullableString('url');
    if (url !== undefined) next.url = url;
    const taxCode = p.nullableString('tax_code');
    if (taxCode !== undefined) next.tax_code = taxCode;
    if (p.has('shippable')) next.shippable = p.boolean('shippable') ?? null;
    if (p.has('images')) next.images = p.array('images') ?? [];
    const defaultPrice = p.nullableString('default_price');
    if (defaultPrice !== undefined) {
      if (defaultPrice !== null) {
        const price = this.price(defaultPrice, 'default_price', 400);
        if (price.product !== id)
          throw invalid(
            `The price \`${defaultPrice}\` does not belong to product \`${id}\`.`,
            'default_price',
          );
        if (!price.active)
          throw invalid(
            `The price \`${defaultPrice}\` is archived; the default price must be active.`,
            'default_price',
          );
      }
      next.default_price = defaultPrice;
    }
    next.updated = nowSeconds();
    this.store.products.set(id, next);
    return ok(next, true);
  }

  deleteProduct(id: string): HandlerResult {
    this.product(id);
    if ([...this.store.prices.values()].some((price) => price.product === id)) {
      throw invalid('This product cannot be deleted because it has one or more user-created prices.');
    }
    this.store.products.delete(id);
    return ok({ id, object: 'product', deleted: true }, true);
  }

  listProducts(p: Params): HandlerResult {
    const active = p.boolean('active');
    const ids = p.array('ids');
    const shippable = p.boolean('shippable');
    const url = p.string('url');
    const created = createdFilter(p);
    const matches = (x: ProductObject): boolean =>
      (active === undefined || x.active === active) &&
      (ids === undefined || ids.includes(x.id)) &&
      (shippable === undefined || x.shippable === shippable) &&
      (url === undefined || x.url === url) &&
      created(x.created);
    return ok(paginate(this.newestFirst(this.store.products), matches, p, '/v1/products', 'product'));
  }

  searchProducts(p: Params): HandlerResult {
    const query = parseSearchQuery(p.requiredString('query'));
    const matches = searchFilter<ProductObject>(query, 'products', {
      active: (x) => x.active,
      created: (x) => x.created,
      description: (x) => x.description,
      name: (x) => x.name,
      shippable: (x) => x.shippable,
      url: (x) => x.url,
    });
    return ok(searchPage(this.newestFirst(this.store.products).filter(matches), p, '/v1/products/search'));
  }

  // --- prices ---------------------------------------------------------------------------

  /**
   * Validates a price without storing it. `full` is false for a product's `default_price_data`,
   * which takes only the pricing fields (no lookup key, nickname or active flag). Returns the price and, if its lookup key moves, the price
   * that loses it.
   */
  private buildPrice(
    p: Params,
    productId: string,
    full: boolean,
  ): { price: PriceObject; loser?: PriceObject } {
    const currency = p.requiredString('currency');
    if (!CURRENCIES.has(currency)) {
      throw invalid(
        `Invalid currency: ${currency}. Stripe currently supports these currencies: ${[...CURRENCIES].join(', ')}`,
        p.name('currency'),
      );
    }
    const { unitAmount, unitAmountDecimal } = this.amount(p);
    const recurring = this.recurring(p.nested('recurring'));
    if (p.has('billing_scheme') && p.string('billing_scheme') !== 'per_unit')
      throw unsupported(p.name('billing_scheme'), 'tiered prices');
    if (p.has('custom_unit_amount')) throw unsupported(p.name('custom_unit_amount'), 'custom unit amounts');
    const lookupKey = full ? (p.nullableString('lookup_key', 200) ?? null) : null;
    const transfer = full ? (p.boolean('transfer_lookup_key') ?? false) : false;
    const price: PriceObject = {
      id: `price_${randomToken(14)}`,
      object: 'price',
      active: full ? (p.boolean('active') ?? true) : true,
      billing_scheme: 'per_unit',
      created: nowSeconds(),
      currency,
      custom_unit_amount: null,
      livemode: false,
      lookup_key: lookupKey,
      metadata: applyMetadata({}, p.metadata('metadata'), p.name('metadata')),
      nickname: full ? (p.nullableString('nickname') ?? null) : null,
      product: productId,
      recurring,
      tax_behavior:
        p.oneOf('tax_behavior', ['inclusive', 'exclusive', 'unspecified'] as const) ?? 'unspecified',
      tiers_mode: null,
      transform_quantity: null,
      type: recurring ? 'recurring' : 'one_time',
      unit_amount: unitAmount,
      unit_amount_decimal: unitAmountDecimal,
    };
    const loser = lookupKey === null ? undefined : this.lookupKeyHolder(lookupKey, price.id, transfer);
    return loser ? { price, loser } : { price };
  }

  /** `unit_amount` (integer cents) or `unit_amount_decimal` (up to 12 decimals), exactly one. */
  private amount(p: Params): { unitAmount: number | null; unitAmountDecimal: string } {
    const unitAmount = p.integer('unit_amount', 0, MAX_UNIT_AMOUNT);
    const decimal = p.string('unit_amount_decimal');
    if (unitAmount !== undefined && decimal !== undefined) {
      throw invalid(
        'You may only specify one of these parameters: unit_amount, unit_amount_decimal.',
        p.name('unit_amount_decimal'),
      );
    }
    if (unitAmount !== undefined) return { unitAmount, unitAmountDecimal: String(unitAmount) };
    if (decimal === undefined) throw missingParam(p.name('unit_amount'));
    const m = /^(\d+)(?:\.(\d{1,12}))?$/.exec(decimal);
    if (!m?.[1]) throw invalid(`Invalid decimal: ${decimal}`, p.name('unit_amount_decimal'));
    const whole = m[1].replace(/^0+(?=\d)/, '');
    const fraction = (m[2] ?? '').replace(/0+$/, '');
    if (Number(whole) > MAX_UNIT_AMOUNT)
      throw invalid(
        `This value must be less than or equal to ${MAX_UNIT_AMOUNT}.`,
        p.name('unit_amount_decimal'),
      );
    // A whole decimal also sets unit_amount, as Stripe does; a fractional one leaves it null.
    return fraction
      ? { unitAmount: null, unitAmountDecimal: `${whole}.${fraction}` }
      : { unitAmount: Number(whole), unitAmountDecimal: whole };
  }

  private recurring(r: Params | undefined): PriceRecurring | null {
    if (!r) return null;
    const interval = r.oneOf('interval', ['day', 'week', 'month', 'year'] as const);
    if (!interval) throw missingParam(r.name('interval'));
    const intervalCount = r.integer('interval_count', 1) ?? 1;
    if (intervalCount > MAX_INTERVAL_COUNT[interval]) {
      throw invalid(
        `The maximum billing period is 3 years: interval_count can be at most ${MAX_INTERVAL_COUNT[interval]} for interval=${interval}.`,
        r.name('interval_count'),
      );
    }
    const usageType = r.oneOf('usage_type', ['licensed', 'metered'] as const);
    if (usageType === 'metered') throw unsupported(r.name('usage_type'), 'metered prices');
    return {
      interval,
      interval_count: intervalCount,
      meter: null,
      trial_period_days: r.integer('trial_period_days', 0, 730) ?? null,
      usage_type: 'licensed',
    };
  }

  /**
   * Lookup keys are unique across all prices of the account. Another price holding the key is a
   * conflict unless `transfer_lookup_key=true`, in which case that price loses it.
   */
  private lookupKeyHolder(lookupKey: string, selfId: string, transfer: boolean): PriceObject | undefined {
    const holder = [...this.store.prices.values()].find((x) => x.lookup_key === lookupKey && x.id !== selfId);
    if (holder && !transfer) {
      throw invalid(
        `A price (\`${holder.id}\`) already uses that lookup key. Pass transfer_lookup_key=true to move the lookup key to this price.`,
        'lookup_key',
      );
    }
    return holder;
  }

  createPrice(p: Params): HandlerResult {
    const productId = p.string('product');
    const productData = p.nested('product_data');
    if (productId !== undefined && productData)
      throw invalid('You may only specify one of these parameters: product, product_data.', 'product_data');
    let newProduct: ProductObject | undefined;
    let owner: string;
    if (productData) {
      newProduct = this.buildProduct(productData, false);
      owner = newProduct.id;
    } else {
      if (productId === undefined || productId === '') throw missingParam('product');
      owner = this.product(productId, 'product', 400).id;
    }
    const { price, loser } = this.buildPrice(p, owner, true);
    // Everything validated: only now touch the store, so a rejected request leaves nothing behind.
    if (newProduct) this.store.products.set(newProduct.id, newProduct);
    if (loser) this.store.prices.set(loser.id, { ...loser, lookup_key: null });
    this.store.prices.set(price.id, price);
    return ok(price, true);
  }

  retrievePrice(id: string): HandlerResult {
    return ok(this.price(id));
  }

  updatePrice(id: string, p: Params): HandlerResult {
    const current = this.price(id);
    // These exist on create only: Stripe prices are immutable in amount, currency, product and
    // interval. Real Stripe rejects them as unknown parameters; ignoring them here would let a
    // "change the amount" bug pass every local test.
    for (const immutable of [
      'unit_amount',
      'unit_amount_decimal',
      'currency',
      'product',
      'product_data',
      'recurring',
    ]) {
      if (p.has(immutable)) throw invalid(`Received unknown parameter: ${immutable}`, immutable);
    }
    const next: PriceObject = { ...current };
    const active = p.boolean('active');
    if (active === false && current.active) {
      const owner = this.store.products.get(current.product);
      if (owner?.default_price === id)
        throw invalid(
          'This price cannot be archived because it is the default price of its product.',
          'active',
        );
    }
    next.active = active ?? next.active;
    const nickname = p.nullableString('nickname');
    if (nickname !== undefined) next.nickname = nickname;
    next.metadata = applyMetadata(next.metadata, p.metadata('metadata'), 'metadata');
    const taxBehavior = p.oneOf('tax_behavior', ['inclusive', 'exclusive', 'unspecified'] as const);
    if (taxBehavior !== undefined && taxBehavior !== current.tax_behavior) {
      if (current.tax_behavior !== 'unspecified')
        throw invalid(
          'tax_behavior cannot be changed once it is set to inclusive or exclusive.',
          'tax_behavior',
        );
      next.tax_behavior = taxBehavior;
    }
    const lookupKey = p.nullableString('lookup_key', 200);
    let loser: PriceObject | undefined;
    if (lookupKey !== undefined) {
      next.lookup_key = lookupKey;
      if (lookupKey !== null)
        loser = this.lookupKeyHolder(lookupKey, id, p.boolean('transfer_lookup_key') ?? false);
    }
    if (loser) this.store.prices.set(loser.id, { ...loser, lookup_key: null });
    this.store.prices.set(id, next);
    return ok(next, true);
  }

  /**
   * Like Stripe's documented behaviour, the price list holds active prices unless `active` is
   * given ("For the list of inactive prices, set active to false").
   */
  listPrices(p: Params): HandlerResult {
    const active = p.boolean('active') ?? true;
    const product = p.string('product');
    const currency = p.string('currency');
    const type = p.oneOf('type', ['one_time', 'recurring'] as const);
    const lookupKeys = p.array('lookup_keys');
    if (lookupKeys && lookupKeys.length > 10)
      throw invalid('You may pass at most 10 lookup_keys.', 'lookup_keys');
    const recurring = p.nested('recurring');
    const interval = recurring?.oneOf('interval', ['day', 'week', 'month', 'year'] as const);
    const created = createdFilter(p);
    const matches = (x: PriceObject): boolean =>
      x.active === active &&
      (product === undefined || x.product === product) &&
      (currency === undefined || x.currency === currency) &&
      (type === undefined || x.type === type) &&
      (lookupKeys === undefined || (x.lookup_key !== null && lookupKeys.includes(x.lookup_key))) &&
      (interval === undefined || x.recurring?.interval === interval) &&
      created(x.created);
    return ok(paginate(this.newestFirst(this.store.prices), matches, p, '/v1/prices', 'price'));
  }

  searchPrices(p: Params): HandlerResult {
    const query = parseSearchQuery(p.requiredString('query'));
    const matches = searchFilter<PriceObject>(query, 'prices', {
      active: (x) => x.active,
      created: (x) => x.created,
      currency: (x) => x.currency,
      lookup_key: (x) => x.lookup_key,
      product: (x) => x.product,
      type: (x) => x.type,
    });
    return ok(searchPage(this.newestFirst(this.store.prices).filter(matches), p, '/v1/prices/search'));
  }

  // --- read-only probes -----------------------------------------------------------------

  balance(): HandlerResult {
    const zero = [{ amount: 0, currency: 'usd', source_types: { card: 0 } }];
    return ok({ object: 'balance', available: zero, pending: zero, livemode: false });
  }

  account(): HandlerResult {
    return ok({
      id: 'acct_peer',
      object: 'account',
      business_profile: { name: 'stripe-peer', url: null },
      business_type: null,
      capabilities: {},
      charges_enabled: true,
      country: 'US',
      created: 0,
      default_currency: 'usd',
      details_submitted: true,
      email: null,
      metadata: {},
      payouts_enabled: true,
      settings: { dashboard: { display_name: 'stripe-peer', timezone: 'Etc/UTC' } },
      type: 'standard',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

type Route = (model: StripeModel, params: Params, id: string) => HandlerResult;

/** Route table: method + path pattern; `:id` captures one path segment. Specific paths first (search before :id). */
const ROUTES: { method: string; pattern: RegExp; handler: Route }[] = [
  { method: 'GET', pattern: /^\/v1\/balance$/, handler: (m) => m.balance() },
  { method: 'GET', pattern: /^\/v1\/account$/, handler: (m) => m.account() },
  { method: 'GET', pattern: /^\/v1\/products\/search$/, handler: (m, p) => m.searchProducts(p) },
  { method: 'POST', pattern: /^\/v1\/products$/, handler: (m, p) => m.createProduct(p) },
  { method: 'GET', pattern: /^\/v1\/products$/, handler: (m, p) => m.listProducts(p) },
  { method: 'GET', pattern: /^\/v1\/products\/([^/]+)$/, handler: (m, _p, id) => m.retrieveProduct(id) },
  { method: 'POST', pattern: /^\/v1\/products\/([^/]+)$/, handler: (m, p, id) => m.updateProduct(id, p) },
  { method: 'DELETE', pattern: /^\/v1\/products\/([^/]+)$/, handler: (m, _p, id) => m.deleteProduct(id) },
  { method: 'GET', pattern: /^\/v1\/prices\/search$/, handler: (m, p) => m.searchPrices(p) },
  { method: 'POST', pattern: /^\/v1\/prices$/, handler: (m, p) => m.createPrice(p) },
  { method: 'GET', pattern: /^\/v1\/prices$/, handler: (m, p) => m.listPrices(p) },
  { method: 'GET', pattern: /^\/v1\/prices\/([^/]+)$/, handler: (m, _p, id) => m.retrievePrice(id) },
  { method: 'POST', pattern: /^\/v1\/prices\/([^/]+)$/, handler: (m, p, id) => m.updatePrice(id, p) },
];

interface ActiveFault {
  fault: Fault;
  remaining: number;
}

/** Validates a fault (from code or from an HTTP body) and fills in defaults. */
function normalizeFault(input: unknown): Fault {
  if (!isRecord(input)) throw new TypeError('fault must be an object');
  const { method, pathPrefix, status, type, code, message, times } = input;
  if (typeof pathPrefix !== 'string' || !pathPrefix.startsWith('/'))
    throw new TypeError('fault.pathPrefix must be a path starting with /');
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
    throw new TypeError('fault.status must be an HTTP error status (400-599)');
  for (const [name, value] of Object.entries({ method, type, code, message })) {
    if (value !== undefined && typeof value !== 'string')
      throw new TypeError(`fault.${name} must be a string`);
  }
  if (times !== undefined && (typeof times !== 'number' || !Number.isInteger(times) || times < 1))
    throw new TypeError('fault.times must be a positive integer');
  const fault: Fault = {
    pathPrefix,
    status,
    type: typeof type === 'string' ? type : status >= 500 ? 'api_error' : 'invalid_request_error',
    message: typeof message === 'string' ? message : `stripe-peer injected fault (${status})`,
    times: typeof times === 'number' ? times : 1,
  };
  if (typeof method === 'string') fault.method = method.toUpperCase();
  const faultCode = typeof code === 'string' ? code : status === 429 ? 'rate_limit' : undefined;
  if (faultCode !== undefined) fault.code = faultCode;
  return fault;
}

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

/** The secret key from `Authorization: Bearer <key>` (what the SDK sends) or Basic auth with the key as user (what curl -u sends). */
function apiKeyOf(req: IncomingMessage): string | undefined {
  const auth = headerValue(req, 'authorization');
  if (!auth) return undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(auth);
  if (bearer?.[1]) return bearer[1];
  const basic = /^Basic\s+(\S+)$/i.exec(auth);
  if (basic?.[1]) {
    const user = Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0];
    return user || undefined;
  }
  return undefined;
}

class PeerServer {
  private readonly store = new Store();
  private readonly model = new StripeModel(this.store);
  private faults: ActiveFault[] = [];
  private log: RequestLogEntry[] = [];

  constructor(private readonly opts: StripePeerOptions) {
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
    });
  }

  reset(): void {
    this.store.clear();
    this.faults = [];
    this.log = [];
    this.persist();
  }

  injectFault(f: Fault): void {
    const fault = normalizeFault(f);
    this.faults.push({ fault, remaining: fault.times ?? 1 });
  }

  pendingFaults(): Fault[] {
    return this.faults.map(({ fault, remaining }) => ({ ...fault, times: remaining }));
  }

  private persist(): void {
    if (this.opts.stateFile) writeStateFile(this.opts.stateFile, this.store.toJson());
  }

  private keyAccepted(key: string): boolean {
    return this.opts.apiKeys ? this.opts.apiKeys.includes(key) : key.startsWith('sk_test_');
  }

  /** Consumes one use of the first fault matching this request, if any. */
  private takeFault(method: string, path: string): Fault | undefined {
    const active = this.faults.find(
      ({ fault }) => (!fault.method || fault.method === method) && path.startsWith(fault.pathPrefix),
    );
    if (!active) return undefined;
    active.remaining -= 1;
    if (active.remaining <= 0) this.faults = this.faults.filter((x) => x !== active);
    return active.fault;
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
    const send = (status: number, body: unknown, extra: OutgoingHttpHeaders = {}): void => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { ...headers, ...extra, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      if (path.startsWith('/_peer/')) {
        await this.handleControl(method, path, req, send);
        return;
      }
      await this.handleApi(method, path, url.search.slice(1), req, requestId, headers, send);
    } catch (e) {
      // Unexpected failures still answer in Stripe's shape, so the SDK raises StripeAPIError, not a parse error.
      const err =
        e instanceof PeerError
          ? e
          : new PeerError(500, { type: 'api_error', message: `stripe-peer internal error: ${String(e)}` });
      if (!res.headersSent) send(err.status, { error: err.body });
      else res.destroy();
    }
  }

  private async handleControl(
    method: string,
    path: string,
    req: IncomingMessage,
    send: (status: number, body: unknown) => void,
  ): Promise<void> {
    if (path === '/_peer/state' && method === 'GET') return send(200, this.state());
    if (path === '/_peer/reset' && method === 'POST') {
      this.reset();
      return send(200, { ok: true });
    }
    if (path === '/_peer/faults') {
      if (method === 'GET') return send(200, { faults: this.pendingFaults() });
      if (method === 'DELETE') {
        this.faults = [];
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
        return send(200, { faults: this.pendingFaults() });
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
    requestId: string,
    headers: OutgoingHttpHeaders,
    send: (status: number, body: unknown, extra?: OutgoingHttpHeaders) => void,
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
    const finish = (status: number, body: unknown, extra?: OutgoingHttpHeaders): void => {
      entry.status = status;
      this.log.push(entry);
      if (this.log.length > MAX_LOG_ENTRIES) this.log.splice(0, this.log.length - MAX_LOG_ENTRIES);
      send(status, body, extra);
    };
    try {
      // The body is read even for faults, so the connection stays usable for keep-alive.
      const body = method === 'POST' ? await readBody(req) : '';
      const fault = this.takeFault(method, path);
      if (fault) {
        entry.fault = true;
        const error: StripeErrorBody = {
          type: fault.type ?? 'api_error',
          message: fault.message ?? 'stripe-peer injected fault',
        };
        if (fault.code) error.code = fault.code;
        // Tell the SDK not to retry on its own: a test injecting one fault must see it.
        return finish(fault.status, { error }, { 'Stripe-Should-Retry': 'false' });
      }

      const apiKey = apiKeyOf(req);
      if (apiKey === undefined) {
        throw new PeerError(401, {
          type: 'invalid_request_error',
          message:
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        });
      }
      if (!this.keyAccepted(apiKey)) {
        throw new PeerError(401, {
          type: 'invalid_request_error',
          code: 'api_key_invalid',
          message: `Invalid API Key provided: ${maskKey(apiKey)}`,
        });
      }

      let route: { handler: Route; id: string } | undefined;
      for (const r of ROUTES) {
        const m = r.method === method ? r.pattern.exec(path) : null;
        if (m) {
          route = { handler: r.handler, id: decodeURIComponent(m[1] ?? '') };
          break;
        }
      }
      if (!route) throw unrecognizedUrl(method, path);

      const form = parseForm(method === 'POST' ? body : query);

      // Idempotency: per API key; the key's hash is stored, never the key.
      let storeKey: string | undefined;
      let fingerprint = '';
      if (idempotencyKey !== null) {
        if (idempotencyKey.length > 255)
          throw invalid('Idempotency-Key must be at most 255 characters long.');
        storeKey = `${createHash('sha256').update(apiKey).digest('hex')}:${idempotencyKey}`;
        fingerprint = canonicalJson(form);
        const previous = this.store.idempotency.get(storeKey);
        if (previous) {
          if (previous.method !== method || previous.path !== path || previous.fingerprint !== fingerprint) {
            throw new PeerError(400, {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            });
          }
          entry.replayed = true;
          return finish(previous.status, previous.body, {
            'Idempotent-Replayed': 'true',
            'Original-Request': previous.requestId,
          });
        }
      }

      const result = route.handler(this.model, new Params(form), route.id);
      const text = JSON.stringify(result.body);
      // Only successful results are stored: Stripe saves no result for requests that failed
      // validation, so a corrected retry with the same key runs for real.
      if (storeKey !== undefined && result.status < 300) {
        this.store.idempotency.set(storeKey, {
          method,
          path,
          fingerprint,
          status: result.status,
          body: text,
          requestId,
        });
      }
      if (result.wrote) this.persist();
      return finish(result.status, text);
    } catch (e) {
      if (!(e instanceof PeerError)) throw e;
      return finish(e.status, { error: e.body });
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
  };
}
