/**
 * Streaming helpers shared by the command runner and the migrate guard: output is redacted as it
 * streams (a secret must never reach a log file, even half-way through a 50 MB migration log) and
 * only a bounded tail is kept in memory (a command is never killed for its volume).
 */
import { redact, secretValuesOf } from '../masking';

/** The redaction every command's output gets: the secrets of the env the command ran with, and URL passwords. */
export function redactorFor(env: Readonly<Record<string, string | undefined>>): (text: string) => string {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') clean[name] = value;
  const secrets = secretValuesOf(clean);
  return (text) => redact(text, secrets);
}

/**
 * Redacts text that arrives in arbitrary chunks. Whole lines are redacted at once, so a secret
 * split across two chunks is still caught. A line that grows past `maxPendingChars` without a
 * newline is cut at its last whitespace before the final `carryChars` (secrets and URL passwords
 * contain no whitespace), so memory stays bounded without cutting through a secret.
 */
export class StreamRedactor {
  private pending = '';

  constructor(
    private readonly redact: (text: string) => string,
    private readonly maxPendingChars = 1_000_000,
    private readonly carryChars = 4_096,
  ) {}

  /** Returns the redacted text that is safe to emit now (possibly empty). */
  push(text: string): string {
    this.pending += text;
    const newline = this.pending.lastIndexOf('\n');
    let cut = newline + 1;
    if (cut === 0 && this.pending.length > this.maxPendingChars) {
      const limit = this.pending.length - this.carryChars;
      const space = this.pending.slice(0, limit).search(/\s\S*$/);
      cut = space > 0 ? space + 1 : limit;
    }
    if (cut <= 0) return '';
    const ready = this.pending.slice(0, cut);
    this.pending = this.pending.slice(cut);
    return this.redact(ready);
  }

  /** The rest, redacted; call once at the end. */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest ? this.redact(rest) : '';
  }
}

/** Keeps the last `limit` characters of a stream without re-copying the whole tail on every chunk. */
export class TailBuffer {
  private chunks: string[] = [];
  private length = 0;
  /** Characters seen in total, kept or not. */
  total = 0;

  constructor(private readonly limit: number) {}

  append(text: string): void {
    if (!text) return;
    this.chunks.push(text);
    this.length += text.length;
    this.total += text.length;
    while (this.chunks.length > 1 && this.length - (this.chunks[0]?.length ?? 0) >= this.limit) {
      this.length -= this.chunks.shift()?.length ?? 0;
    }
  }

  /** The tail; when characters were dropped it starts with a note saying how many. */
  toString(): string {
    const text = this.chunks.join('');
    const kept = text.length > this.limit ? text.slice(-this.limit) : text;
    const dropped = this.total - kept.length;
    return dropped > 0 ? `…(${dropped} characters cut)…\n${kept}` : kept;
  }
}

/** Splits streamed text into complete lines for callers that react to single lines. */
export class LineSplitter {
  private pending = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(text: string): void {
    const parts = (this.pending + text).split('\n');
    this.pending = parts.pop() ?? '';
    for (const line of parts) this.onLine(line.replace(/\r$/, ''));
    // A status line is short; a very long line without a newline is output, not a line to react to.
    if (this.pending.length > 65_536) this.pending = '';
  }

  flush(): void {
    if (this.pending) this.onLine(this.pending);
    this.pending = '';
  }
}
