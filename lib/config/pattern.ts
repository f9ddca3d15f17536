/**
 * Username / dialplan patterns: `?` matches exactly one character, `*` matches zero or more, every other
 * character is literal. When several patterns match, the MOST SPECIFIC wins — never object key order
 * (SPEC §8, a defect of the original). The order, from most to least specific:
 *   1. an exact pattern (no wildcard) that equals the input;
 *   2. fixed-length patterns (no `*`) before patterns containing `*`;
 *   3. fewer wildcards (`?` and `*` counted alike);
 *   4. longer literal prefix (characters before the first wildcard);
 *   5. more literal characters in total;
 *   6. the pattern text itself (code-unit order), so the result is deterministic.
 */

export interface CompiledPattern {
  /** The pattern as written in the config. */
  readonly source: string;
  readonly exact: boolean;
  readonly stars: number;
  readonly questions: number;
  readonly literalPrefix: number;
  readonly literals: number;
}

export function compilePattern(source: string): CompiledPattern {
  let stars = 0;
  let questions = 0;
  let literalPrefix = -1;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 42 /* * */) stars++;
    else if (c === 63 /* ? */) questions++;
    else continue;
    if (literalPrefix < 0) literalPrefix = i;
  }
  if (literalPrefix < 0) literalPrefix = source.length;
  return {
    source,
    exact: stars === 0 && questions === 0,
    stars,
    questions,
    literalPrefix,
    literals: source.length - stars - questions,
  };
}

/** Negative when `a` is more specific than `b` (sorts first). */
export function compareSpecificity(a: CompiledPattern, b: CompiledPattern): number {
  if (a.exact !== b.exact) return a.exact ? -1 : 1;
  if ((a.stars === 0) !== (b.stars === 0)) return a.stars === 0 ? -1 : 1;
  const wa = a.stars + a.questions;
  const wb = b.stars + b.questions;
  if (wa !== wb) return wa - wb;
  if (a.literalPrefix !== b.literalPrefix) return b.literalPrefix - a.literalPrefix;
  if (a.literals !== b.literals) return b.literals - a.literals;
  return a.source < b.source ? -1 : a.source > b.source ? 1 : 0;
}

/** Glob match of `input` against `pattern` (`?` one char, `*` zero or more), linear-time backtracking. */
export function patternMatches(pattern: string, input: string): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < input.length) {
    if (p < pattern.length) {
      const c = pattern.charCodeAt(p);
      if (c === 42) {
        starP = p++;
        starS = s;
        continue;
      }
      if (c === 63 || c === input.charCodeAt(s)) {
        p++;
        s++;
        continue;
      }
    }
    if (starP >= 0) {
      p = starP + 1;
      s = ++starS;
      continue;
    }
    return false;
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}

/**
 * The most specific entry of `entries` whose pattern matches `input`. `entries` must already be sorted with
 * compareSpecificity (the normalised model keeps them so), so the first match is the winner.
 */
export function firstMatch<T extends { pattern: CompiledPattern }>(
  entries: readonly T[],
  input: string,
): T | undefined {
  for (const e of entries) {
    if (e.pattern.exact ? e.pattern.source === input : patternMatches(e.pattern.source, input)) return e;
  }
  return undefined;
}
