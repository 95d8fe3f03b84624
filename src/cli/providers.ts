/**
 * The provider keys a backend needs (the runbook's pre-flight "Validate provider inputs ... so
 * Stripe/Resend/OpenAI keys exist before billing is enabled"): each key's shape, the Stripe key
 * proven with one authenticated read, and the report `providers validate`
 * (commands/providers-validate.ts) prints. `release db`, `stripe setup` and the prompts check
 * Stripe secrets with `classifyKey`. Keys are only ever shown masked.
 */
import type { EnvScope } from '../config/env-files';
import { maskSecret, redact } from '../masking';

export type ProviderStatus = 'ok' | 'missing' | 'invalid';
export type ProviderName = 'stripe' | 'resend' | 'openai';
export type ProviderKeyName =
  'STRIPE_SECRET_KEY' | 'STRIPE_WEBHOOK_SECRET' | 'RESEND_API_KEY' | 'OPENAI_API_KEY';

interface KeyFormat {
  pattern: RegExp;
  /** What a valid value looks like, for the message. */
  expected: string;
  /** Common mix-ups, recognised so the message says what was pasted instead. */
  mixups: ReadonlyArray<{ pattern: RegExp; hint: string }>;
}

/** The shape of each key. Lenient on the body (providers change lengths), strict on the prefix. */
export const KEY_FORMATS: Readonly<Record<ProviderKeyName, KeyFormat>> = {
  STRIPE_SECRET_KEY: {
    pattern: /^(sk|rk)_(test|live)_[A-Za-z0-9_]{8,}$/,
    expected: 'a secret key sk_test_… / sk_live_… (or a restricted key rk_test_… / rk_live_…)',
    mixups: [
      { pattern: /^pk_/, hint: 'this is a publishable key (pk_…), which cannot manage products and prices' },
      { pattern: /^whsec_/, hint: 'this is a webhook signing secret; it belongs in STRIPE_WEBHOOK_SECRET' },
    ],
  },
  STRIPE_WEBHOOK_SECRET: {
    pattern: /^whsec_[A-Za-z0-9_+/=-]{8,}$/,
    expected: 'a webhook signing secret whsec_… (Dashboard → Developers → Webhooks, or `stripe listen`)',
    mixups: [
      { pattern: /^(sk|rk)_/, hint: 'this is an API key; it belongs in STRIPE_SECRET_KEY' },
      { pattern: /^pk_/, hint: 'this is a publishable key (pk_…), not a webhook signing secret' },
    ],
  },
  RESEND_API_KEY: {
    pattern: /^re_[A-Za-z0-9_-]{8,}$/,
    expected: 'a Resend API key re_…',
    mixups: [],
  },
  OPENAI_API_KEY: {
    pattern: /^sk-[A-Za-z0-9_-]{8,}$/,
    expected: 'an OpenAI API key sk-… (sk-proj-… for project keys)',
    mixups: [{ pattern: /^sk_(test|live)_/, hint: 'this looks like a Stripe key' }],
  },
};

export const PROVIDER_KEYS: Readonly<Record<ProviderName, readonly ProviderKeyName[]>> = {
  stripe: ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'],
  resend: ['RESEND_API_KEY'],
  openai: ['OPENAI_API_KEY'],
};

/**
 * Stripe is what a release changes; Resend and OpenAI are the backend's own optional features, so
 * their keys absent is a note, not a failure (a key present but malformed still fails).
 */
export const REQUIRED_PROVIDERS: ReadonlySet<ProviderName> = new Set(['stripe']);

export interface KeyClassification {
  status: ProviderStatus;
  reason: string;
}

/** Presence and shape of one key, without any network call. Never echoes the value. */
export function classifyKey(name: ProviderKeyName, value: string | undefined | null): KeyClassification {
  const format = KEY_FORMATS[name];
  if (value === undefined || value === null || value.trim() === '') {
    return {
      status: 'missing',
      reason: `not set; add ${name}=… (${format.expected}) to the backend's .env.local`,
    };
  }
  if (value !== value.trim() || /\s/.test(value)) {
    return {
      status: 'invalid',
      reason: 'contains whitespace; remove the spaces or line breaks around the value',
    };
  }
  if (/^(["']).*\1$/.test(value)) {
    return { status: 'invalid', reason: 'is wrapped in quotes twice; write it without the inner quotes' };
  }
  if (!format.pattern.test(value)) {
    const mixup = format.mixups.find((m) => m.pattern.test(value));
    return {
      status: 'invalid',
      reason: `${mixup ? `${mixup.hint}; ` : 'unexpected format; '}expected ${format.expected}`,
    };
  }
  return { status: 'ok', reason: 'format ok' };
}

/** The worst of several statuses: invalid over missing over ok. */
export function worstStatus(statuses: readonly ProviderStatus[]): ProviderStatus {
  if (statuses.includes('invalid')) return 'invalid';
  if (statuses.includes('missing')) return 'missing';
  return 'ok';
}

export interface StripeAuthProbe {
  /** Throws when the key cannot do what a release does; a 403 names the permission (`permission`). */
  checkAuth(): Promise<void>;
}

/** What a release asks of the key, as a restricted key's permissions. */
export const RELEASE_PERMISSIONS = 'Products: Write and Prices: Write';

/**
 * Turns the outcome of the key check (list and create probes for products and prices, nothing
 * else) into a status: 401 means the key is refused, 403 that it lacks a permission a release
 * needs, named; anything else means it could not be verified, which also fails the check.
 */
export async function verifyStripeKey(
  probe: StripeAuthProbe,
  secretKey: string,
  apiBase: string,
): Promise<KeyClassification> {
  try {
    await probe.checkAuth();
    return { status: 'ok', reason: `authenticated against ${apiBase}` };
  } catch (error) {
    const e = error as {
      type?: string;
      statusCode?: number;
      message?: string;
      permission?: unknown;
      request?: unknown;
    };
    const message = redact(e.message ?? String(error), [secretKey]);
    if (e.statusCode === 401 || e.type === 'StripeAuthenticationError') {
      return {
        status: 'invalid',
        reason: `Stripe refused the key (401): ${message}; copy the secret key again from the Stripe Dashboard`,
      };
    }
    if (e.statusCode === 403 || e.type === 'StripePermissionError') {
      const permission = typeof e.permission === 'string' ? e.permission : null;
      const request = typeof e.request === 'string' ? ` to ${e.request}` : '';
      return {
        status: 'invalid',
        reason: permission
          ? `the key lacks the ${permission} permission (403)${request}; a release needs ${RELEASE_PERMISSIONS}: grant them to the restricted key (Dashboard → Developers → API keys) or use the secret key`
          : `the key lacks permissions (403): ${message}; a release needs ${RELEASE_PERMISSIONS}: grant them to the restricted key or use the secret key`,
      };
    }
    return {
      status: 'invalid',
      reason: `could not be verified: Stripe at ${apiBase} did not answer (${message}); check the network or STRIPE_API_BASE, or pass --offline for format checks only`,
    };
  }
}

export interface KeyReport {
  name: ProviderKeyName;
  status: ProviderStatus;
  reason: string;
  /** Where the value came from: `.env.local`, `.env`, `.env.compose`, `process`, or null when unset. */
  source: string | null;
  /** Masked (`abcd…wxyz`), never the value. */
  value: string | null;
}

export interface ProviderReport {
  provider: ProviderName;
  status: ProviderStatus;
  /** False for Resend and OpenAI: missing is then a note, and only `invalid` fails the check. */
  required: boolean;
  keys: KeyReport[];
}

export interface ProvidersResult {
  ok: boolean;
  project_root: string;
  env_files: string[];
  stripe_api_base: string;
  providers: ProviderReport[];
}

export interface ProvidersOptions {
  /** Format checks only: no call to Stripe. */
  offline?: boolean;
  /** Builds the Stripe client; the real SDK gateway by default (honours STRIPE_API_BASE). */
  stripe?: (secretKey: string, env: EnvScope) => StripeAuthProbe;
}

export const STRIPE_DEFAULT_API_BASE = 'https://api.stripe.com';

/** Validates the providers of one env scope. */
export async function validateProviders(
  scope: EnvScope,
  projectRoot: string,
  options: ProvidersOptions = {},
): Promise<ProvidersResult> {
  const apiBase = scope.values.STRIPE_API_BASE || STRIPE_DEFAULT_API_BASE;
  const providers: ProviderReport[] = [];
  for (const [provider, names] of Object.entries(PROVIDER_KEYS) as Array<
    [ProviderName, readonly ProviderKeyName[]]
  >) {
    const keys: KeyReport[] = [];
    for (const name of names) {
      const value = scope.values[name];
      let verdict = classifyKey(name, value);
      if (name === 'STRIPE_SECRET_KEY' && verdict.status === 'ok' && value) {
        if (options.offline)
          verdict = { status: 'ok', reason: 'format ok; not verified with Stripe (--offline)' };
        else
          verdict = await verifyStripeKey(
            (options.stripe ?? (await import('../activities/stripe-gateway.js')).createStripeGateway)(
              value,
              scope,
            ),
            value,
            apiBase,
          );
      }
      keys.push({
        name,
        ...verdict,
        source: value ? (scope.sources[name] ?? null) : null,
        value: maskSecret(value),
      });
    }
    providers.push({
      provider,
      status: worstStatus(keys.map((k) => k.status)),
      required: REQUIRED_PROVIDERS.has(provider),
      keys,
    });
  }
  return {
    ok: providers.every((p) => p.status === 'ok' || (!p.required && p.status === 'missing')),
    project_root: projectRoot,
    env_files: scope.filesFound,
    stripe_api_base: apiBase,
    providers,
  };
}

export function describeProviders(result: ProvidersResult): string[] {
  const lines = [`providers of ${result.project_root} (env files: ${result.env_files.join(', ')})`];
  const notes: string[] = [];
  for (const p of result.providers) {
    for (const [i, k] of p.keys.entries()) {
      const where = k.source ? ` ${k.value ?? ''} (${k.source})` : '';
      const optional = !p.required && k.status === 'missing';
      if (optional) notes.push(p.provider);
      lines.push(
        `  ${(i === 0 ? p.provider : '').padEnd(7)} ${(optional ? 'note' : k.status).padEnd(8)} ${k.name}${where}: ${k.reason}${optional ? ' (optional: only if the backend uses it)' : ''}`,
      );
    }
  }
  if (!result.ok) lines.push('providers not ready: fix the lines above that are not ok');
  else
    lines.push(
      notes.length > 0
        ? `required providers ok; optional ones not set: ${notes.join(', ')}`
        : 'all providers ok',
    );
  return lines;
}
