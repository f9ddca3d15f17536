// The ONE table that canonicalises SIP header names: case-insensitive names and compact forms map to a
// lowercase key (used for lookups) and a canonical spelling (used when a header is serialized anew).

export interface HeaderName {
  /** Lowercase full name, the lookup key: 'call-id'. */
  readonly key: string;
  /** Canonical spelling: 'Call-ID'. */
  readonly canonical: string;
  /** Values are comma-separated lists whose elements may be split (RFC 3261 §7.3.1). */
  readonly list: boolean;
}

// [canonical, compact form or '', comma-list?]
const TABLE: ReadonlyArray<readonly [string, string, boolean]> = [
  ['Via', 'v', true],
  ['Call-ID', 'i', false],
  ['From', 'f', false],
  ['To', 't', false],
  ['Contact', 'm', true],
  ['Content-Length', 'l', false],
  ['Content-Type', 'c', false],
  ['Supported', 'k', true],
  ['Subject', 's', false],
  ['Content-Encoding', 'e', true],
  ['Allow-Events', 'u', true],
  ['Event', 'o', false],
  ['Refer-To', 'r', false],
  ['Referred-By', 'b', false],
  ['Session-Expires', 'x', false],
  ['Identity', 'y', false],
  ['CSeq', '', false],
  ['Max-Forwards', '', false],
  ['Route', '', true],
  ['Record-Route', '', true],
  ['Path', '', true],
  ['Service-Route', '', true],
  ['Expires', '', false],
  ['Min-Expires', '', false],
  ['Min-SE', '', false],
  ['Require', '', true],
  ['Proxy-Require', '', true],
  ['Unsupported', '', true],
  ['Allow', '', true],
  ['Accept', '', true],
  ['Accept-Encoding', '', true],
  ['Accept-Language', '', true],
  ['Content-Language', '', true],
  ['Content-Disposition', '', false],
  ['Alert-Info', '', true],
  ['Call-Info', '', true],
  ['Error-Info', '', true],
  ['In-Reply-To', '', true],
  ['Warning', '', true],
  ['Reason', '', true],
  ['Replaces', '', false],
  ['Subscription-State', '', false],
  ['RSeq', '', false],
  ['RAck', '', false],
  ['Date', '', false],
  ['Timestamp', '', false],
  ['Retry-After', '', false],
  ['User-Agent', '', false],
  ['Server', '', false],
  ['Organization', '', false],
  ['Priority', '', false],
  ['MIME-Version', '', false],
  ['Reply-To', '', false],
  ['Authorization', '', false],
  ['Proxy-Authorization', '', false],
  ['WWW-Authenticate', '', false],
  ['Proxy-Authenticate', '', false],
  ['Authentication-Info', '', false],
  ['P-Asserted-Identity', '', true],
  ['P-Preferred-Identity', '', true],
  ['Privacy', '', false],
  ['Diversion', '', true],
  ['History-Info', '', true],
  ['Security-Client', '', true],
  ['Security-Server', '', true],
  ['Security-Verify', '', true],
  ['Accept-Contact', 'a', true],
  ['Reject-Contact', 'j', true],
  ['Request-Disposition', 'd', true],
];

const BY_KEY = new Map<string, HeaderName>();
/** Exact spellings seen on the wire most often → entry, so the common path needs no toLowerCase(). */
const BY_SPELLING = new Map<string, HeaderName>();

for (const [canonical, compact, list] of TABLE) {
  const entry: HeaderName = Object.freeze({ key: canonical.toLowerCase(), canonical, list });
  BY_KEY.set(entry.key, entry);
  BY_SPELLING.set(canonical, entry);
  BY_SPELLING.set(entry.key, entry);
  if (compact) {
    BY_KEY.set(compact, entry);
    BY_SPELLING.set(compact, entry);
    BY_SPELLING.set(compact.toUpperCase(), entry);
  }
}
// Common alternative spellings.
for (const alt of ['Call-Id', 'CSEQ', 'Cseq', 'WWW-authenticate', 'Www-Authenticate', 'Record-route', 'Max-forwards',
  'Content-length', 'Content-type', 'User-agent', 'Allow-events', 'Rseq', 'Rack']) {
  const e = BY_KEY.get(alt.toLowerCase());
  if (e) BY_SPELLING.set(alt, e);
}

/**
 * Look a wire header name up. Known names (any case, compact forms) give their table entry; unknown names give
 * a fresh entry keyed by the lowercase name that keeps the spelling as written.
 */
export function lookupHeaderName(name: string): HeaderName {
  const hit = BY_SPELLING.get(name);
  if (hit !== undefined) return hit;
  const key = name.toLowerCase();
  const known = BY_KEY.get(key);
  if (known !== undefined) return known;
  return { key, canonical: name, list: false };
}

// Span lookup for the parser: finds a known name (full or compact, any case) straight from the header text
// without slicing it out or hashing it through a Map. Open addressing over a power-of-two table keyed by a
// case-insensitive hash; a hit is confirmed by a case-insensitive compare with the lowercase spelling.
const SPAN_BITS = 9;
const SPAN_SIZE = 1 << SPAN_BITS;
const spanKeys: string[] = new Array<string>(SPAN_SIZE).fill('');
const spanEntries: Array<HeaderName | undefined> = new Array<HeaderName | undefined>(SPAN_SIZE).fill(undefined);

function spanHash(s: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (s.charCodeAt(i) | 0x20), 0x01000193);
  return (h ^ (h >>> 15)) & (SPAN_SIZE - 1);
}

for (const [lower, entry] of BY_KEY) {
  let slot = spanHash(lower, 0, lower.length);
  while (spanKeys[slot] !== '') slot = (slot + 1) & (SPAN_SIZE - 1);
  spanKeys[slot] = lower;
  spanEntries[slot] = entry;
}

/**
 * Header name of s[start, end) (a token the caller has validated). Known names come from the table without
 * allocation; unknown ones fall back to lookupHeaderName() on the sliced text.
 */
export function lookupHeaderSpan(s: string, start: number, end: number): HeaderName {
  const len = end - start;
  let slot = spanHash(s, start, end);
  for (;;) {
    const k = spanKeys[slot]!;
    if (k === '') break;
    if (k.length === len) {
      let i = 0;
      // Token characters only: OR-ing 0x20 maps A-Z onto a-z and leaves digits and - . ! % * _ + ` ' ~ alone.
      while (i < len && (s.charCodeAt(start + i) | 0x20) === k.charCodeAt(i)) i++;
      if (i === len) return spanEntries[slot]!;
    }
    slot = (slot + 1) & (SPAN_SIZE - 1);
  }
  return lookupHeaderName(s.slice(start, end));
}

/** Lowercase lookup key of a header name given by a caller ('CALL-ID', 'i' → 'call-id'). */
export function headerKey(name: string): string {
  const hit = BY_SPELLING.get(name);
  if (hit !== undefined) return hit.key;
  const key = name.toLowerCase();
  return BY_KEY.get(key)?.key ?? key;
}

/** Canonical spelling of a header name ('i' → 'Call-ID'; unknown names unchanged). */
export function canonicalHeaderName(name: string): string {
  return lookupHeaderName(name).canonical;
}

/** Whether values of this header are comma-separated lists (by lowercase key). */
export function isListHeader(key: string): boolean {
  return BY_KEY.get(key)?.list ?? false;
}
