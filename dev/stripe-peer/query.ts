/**
 * Listing and searching: Stripe's cursor pagination (https://docs.stripe.com/api/pagination) and
 * the subset of its search query language we model (https://docs.stripe.com/search).
 */
import { invalid, noSuch, type PeerError } from './errors';
import type { Params } from './form';

/** `created` filter: an exact timestamp or a `{gt,gte,lt,lte}` hash. */
export function createdFilter(p: Params): (created: number) => boolean {
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

export interface ListEnvelope<T> {
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
export function paginate<T extends { id: string }>(
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
export function parseSearchQuery(query: string): SearchQuery {
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
export function searchFilter<T extends { metadata: Record<string, string> }>(
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

export interface SearchEnvelope<T> {
  object: 'search_result';
  data: T[];
  has_more: boolean;
  next_page: string | null;
  url: string;
}

/** Search pages by offset; the token is opaque to clients, like Stripe's. */
export function searchPage<T>(newestFirst: T[], p: Params, url: string): SearchEnvelope<T> {
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
