/**
 * People's names as people mean them. A name typed in a terminal, pasted from chat or sent from
 * the Web UI can carry look-alike forms (full-width letters), invisible characters (zero-width
 * spaces, joiners, BOM, soft hyphens) and other case: "alice", "ＡＬＩＣＥ" and "al\u200Bice" are one
 * person. Four-eyes and allow-lists compare `normalizeIdentity` keys; records keep `displayIdentity`.
 * Pure (no I/O), so the workflow, the CLI and the unit tests share one rule.
 */

/**
 * Characters that show nothing: controls (Cc), format characters (Cf: zero-width space, joiners,
 * BOM, soft hyphen, bidi marks), line/paragraph separators, the combining grapheme joiner,
 * Hangul fillers, Khmer/Mongolian invisible vowels and selectors, and variation selectors.
 */
const INVISIBLE =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u3164\uFE00-\uFE0F\uFFA0\u{E0100}-\u{E01EF}]/gu;

/** NFKC, invisible characters removed, runs of white space made one space, trimmed. Case kept. */
export function displayIdentity(raw: string): string {
  return raw.normalize('NFKC').replace(INVISIBLE, '').replace(/\s+/gu, ' ').trim().normalize('NFKC');
}

/**
 * The key two names are compared by: displayIdentity, case-folded (upper then lower folds ß/ẞ,
 * final sigma and the like), NFKC again. Empty means "no name" (empty or only invisible).
 */
export function normalizeIdentity(raw: string): string {
  return displayIdentity(raw).toUpperCase().toLowerCase().normalize('NFKC');
}

/** Whether two names denote the same person. Two empty names never match anyone. */
export function sameIdentity(a: string, b: string): boolean {
  const key = normalizeIdentity(a);
  return key !== '' && key === normalizeIdentity(b);
}
