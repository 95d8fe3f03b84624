/**
 * Masking and redaction. Everything that can reach workflow history, a log line or a report
 * passes through here first: the history is visible to everyone who can open the Web UI.
 */

/** Masks a secret the way the original summary did: null when missing, `****` when short, else `abcd…wxyz`. */
export function maskSecret(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (value.length <= 4) return '*'.repeat(value.length);
  return `${value.slice(0, 4)}…${value.slice(-4)}`;
}

const SECRET_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIALS)/i;

/** True for setting names whose values must never be shown (STRIPE_SECRET_KEY, POSTGRES_PASSWORD, ...). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Replaces the password of a connection URL (`scheme://user:pass@host`) with `***`. */
export function redactUrlPassword(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]+)(@)/gi, '$1***$3');
}

/**
 * Collects the values that must be redacted from an env scope: every value of a secret-named
 * variable, and the password inside any URL-valued variable.
 */
export function secretValuesOf(env: Readonly<Record<string, string>>): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (isSecretName(name) && value.length >= 4) values.add(value);
    const url = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@\s]+)@/i.exec(value);
    if (url?.[1] && url[1].length >= 3) {
      values.add(url[1]);
      try {
        values.add(decodeURIComponent(url[1]));
      } catch {
        // not percent-encoded: the raw value is already in the set
      }
    }
  }
  // Longest first so a secret that contains another is replaced whole.
  return [...values].sort((a, b) => b.length - a.length);
}

/** Removes every known secret value and every URL password from free text (command output, error messages). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = redactUrlPassword(text);
  for (const secret of secrets) {
    if (secret.length < 3) continue;
    // Only long secrets keep a masked hint: first and last four characters of a short one give it away.
    out = out.split(secret).join(secret.length >= 20 ? `[redacted ${maskSecret(secret)}]` : '[redacted]');
  }
  return out;
}
