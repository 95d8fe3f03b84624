/**
 * Form decoding in Stripe's bracket notation (`a=1&b[c]=2&d[]=x`), typed access to the decoded
 * params with Stripe's messages, and per-endpoint parameter lists: Stripe answers an unknown or
 * misplaced parameter with 400 `parameter_unknown` naming it (https://docs.stripe.com/api/errors).
 */
import { invalid, missingParam, unknownParam } from './errors';

/** A decoded parameter: a scalar string, or a node whose children are named (hash) or numbered (array). */
export type FormValue = string | FormNode;
export type FormNode = Map<string, FormValue>;

/**
 * Decodes `a=1&b[c]=2&d[]=x&d[1]=y` into nested maps. Array indices stay keys here: whether
 * `metadata[0]` is an array element or a hash key depends on the param, which only the
 * handler knows (see Params.array and Params.metadata).
 */
export function parseForm(text: string): FormNode {
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
export function canonicalJson(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  const keys = [...value.keys()].sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value.get(k) ?? '')}`).join(',')}}`;
}

/** Metadata as a request expresses it: `metadata=` clears all keys, `metadata[k]=` deletes one. */
export interface MetadataUpdate {
  clear: boolean;
  set: Map<string, string | null>;
}

/** Typed access to decoded params, with Stripe's error messages and full param names (`recurring[interval]`). */
export class Params {
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

export function applyMetadata(
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

/**
 * The parameters an endpoint accepts: `true` for a scalar or an array, `'hash'` for a free-form
 * hash (metadata), or a nested schema for a hash with known keys (`recurring[interval]`).
 */
export interface ParamSchema {
  [param: string]: true | 'hash' | ParamSchema;
}

/** Every request may ask for expansions. */
const ALWAYS_ALLOWED: ParamSchema = { expand: true };

/** Rejects the first parameter the schema does not name, with its full bracketed name, like Stripe. */
export function checkParams(node: FormNode, schema: ParamSchema, prefix = ''): void {
  for (const [key, value] of node) {
    const name = prefix ? `${prefix}[${key}]` : key;
    const rule = schema[key] ?? (prefix ? undefined : ALWAYS_ALLOWED[key]);
    if (rule === undefined) throw unknownParam(name);
    if (rule === true || rule === 'hash') continue;
    // A nested schema: an empty string unsets the hash, anything else must be a hash.
    if (typeof value === 'string') {
      if (value === '') continue;
      throw invalid(`Invalid hash: ${name} must be a hash.`, name);
    }
    checkParams(value, rule, name);
  }
}
