/**
 * API keys (https://docs.stripe.com/keys): secret keys (sk_…) may do everything; restricted keys
 * (rk_…) only what their permissions allow, and a missing permission answers 403 naming it
 * (https://docs.stripe.com/keys#limit-access). A write permission includes the read.
 */
import type { IncomingMessage } from 'node:http';
import { PeerError, permissionDenied } from './errors';
import { DEFAULT_PEER_SECRET_KEY, PERMISSIONS, type Permission, type StripePeerOptions } from './types';
import { maskKey } from './util';

/** The key from `Authorization: Bearer <key>` (what the SDK sends) or Basic auth with the key as user (curl -u). */
export function apiKeyOf(req: IncomingMessage): string | undefined {
  const auth: string | undefined = req.headers.authorization;
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

export class KeyRing {
  private readonly secret: Set<string>;
  private readonly restricted: Map<string, Set<Permission>>;

  constructor(opts: Pick<StripePeerOptions, 'apiKeys' | 'restrictedKeys'>) {
    this.secret = new Set(opts.apiKeys ?? [DEFAULT_PEER_SECRET_KEY]);
    this.restricted = new Map(Object.entries(opts.restrictedKeys ?? {}).map(([k, v]) => [k, new Set(v)]));
  }

  add(key: string, permissions?: Permission[]): void {
    if (!/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/.test(key))
      throw new TypeError('key must look like sk_test_… or rk_test_…');
    if (key.startsWith('rk_') !== (permissions !== undefined))
      throw new TypeError('a restricted key (rk_…) needs permissions, a secret key (sk_…) takes none');
    for (const p of permissions ?? []) {
      if (!PERMISSIONS.includes(p))
        throw new TypeError(`unknown permission ${String(p)}; known: ${PERMISSIONS.join(', ')}`);
    }
    if (permissions) this.restricted.set(key, new Set(permissions));
    else this.secret.add(key);
  }

  /** Throws 401 for a missing or unknown key. */
  authenticate(apiKey: string | undefined): string {
    if (apiKey === undefined) {
      throw new PeerError(401, {
        type: 'invalid_request_error',
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      });
    }
    if (!this.secret.has(apiKey) && !this.restricted.has(apiKey)) {
      throw new PeerError(401, {
        type: 'invalid_request_error',
        code: 'api_key_invalid',
        message: `Invalid API Key provided: ${maskKey(apiKey)}`,
      });
    }
    return apiKey;
  }

  /** Throws 403 naming the permission when a restricted key lacks it. */
  authorize(apiKey: string, needed: Permission): void {
    const granted = this.restricted.get(apiKey);
    if (!granted) return; // a secret key
    const write = needed.replace(/_read$/, '_write') as Permission;
    if (!granted.has(needed) && !granted.has(write)) throw permissionDenied(apiKey, needed);
  }
}
