// The ONE table that canonicalises SIP header names: case-insensitive names and compact forms map to a
// lowercase key (used for lookups) and a canonical spelling (used when a header is serialized anew).

export interface HeaderName {
  /** Lowercase full name, the lookup key: 'call-id'. */
  readonly key: string;
  /** Canonical spelling: 'Call-ID'. */
  readonly canonical: string;
  /** Values are comma-separated lists whose elements may be split (RFC 3261 §7.3.1). */
  readonly list: boolean;
  /** Index in the table of known headers (a small integer the parser stores per line); -1 for unknown names. */
  readonly id: number;
}

// [canonical, compact form or '', comma-list?]. The order gives the ids: the headers SipMessage.validate() checks
// come first, in the order it checks them (ids 0..30, so a 32-bit mask says which of them a message carries).
const TABLE: ReadonlyArray<readonly [string, string, boolean]> = [
  ['Via', 'v', true],
  ['From', 'f', false],
  ['To', 't', false],
  ['Call-ID', 'i', false],
  ['CSeq', '', false],
  ['Max-Forwards', '', false],
  ['Contact', 'm', true],
  ['Route', '', true],
  ['Record-Route', '', true],
  ['Path', '', true],
  ['Expires', '', false],
  ['Min-Expires', '', false],
  ['Content-Type', 'c', false],
  ['Content-Length', 'l', false],
  ['Authorization', '', false],
  ['Proxy-Authorization', '', false],
  ['WWW-Authenticate', '', false],
  ['Proxy-Authenticate', '', false],
  ['Supported', 'k', true],
  ['Require', '', true],
  ['Proxy-Require', '', true],
  ['Unsupported', '', true],
  ['Allow', '', true],
  ['Reason', '', true],
  ['Refer-To', 'r', false],
  ['Referred-By', 'b', false],
  ['Replaces', '', false],
  ['Event', 'o', false],
  ['Subscription-State', '', false],
  ['RSeq', '', false],
  ['RAck', '', false],
  // ---- not checked by validate()
  ['Subject', 's', false],
  ['Content-Encoding', 'e', true],
  ['Allow-Events', 'u', true],
  ['Session-Expires', 'x', false],
  ['Identity', 'y', false],
  ['Service-Route', '', true],
  ['Min-SE', '', false],
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
  ['Date', '', false],
  ['Timestamp', '', false],
  ['Retry-After', '', false],
  ['User-Agent', '', false],
  ['Server', '', false],
  ['Organization', '', false],
  ['Priority', '', false],
  ['MIME-Version', '', false],
  ['Reply-To', '', false],
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

/** Ids of the headers the message layer reads itself (positions in TABLE above). */
export const enum H {
  Via = 0, From = 1, To = 2, CallId = 3, CSeq = 4, MaxForwards = 5, Contact = 6, Route = 7, RecordRoute = 8,
  Path = 9, Expires = 10, MinExpires = 11, ContentType = 12, ContentLength = 13, Authorization = 14,
  ProxyAuthorization = 15, WwwAuthenticate = 16, ProxyAuthenticate = 17, Supported = 18, Require = 19,
  ProxyRequire = 20, Unsupported = 21, Allow = 22, Reason = 23, ReferTo = 24, ReferredBy = 25, Replaces = 26,
  Event = 27, SubscriptionState = 28, RSeq = 29, RAck = 30,
  /** Ids below this one are checked by validate(). */
  ValidatedCount = 31,
}

/** Table entries by id. */
export const KNOWN_HEADERS: readonly HeaderName[] = TABLE.map(([canonical, , list], id) =>
  Object.freeze({ key: canonical.toLowerCase(), canonical, list, id }));

const BY_KEY = new Map<string, HeaderName>();
/** Exact spellings seen on the wire most often → entry, so the common path needs no toLowerCase(). */
const BY_SPELLING = new Map<string, HeaderName>();

for (let id = 0; id < TABLE.length; id++) {
  const [canonical, compact] = TABLE[id]!;
  const entry = KNOWN_HEADERS[id]!;
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
  return { key, canonical: name, list: false, id: -1 };
}

// Byte lookup for the parser: finds a known name (full or compact, any case) straight from the datagram without
// decoding it or hashing it through a Map. Open addressing over a power-of-two table keyed by a hash of the
// length and the first and last characters (case-insensitive, O(1)); a hit is confirmed by comparing every
// byte, case-insensitively, with the lowercase spelling stored as bytes.
const SPAN_BITS = 9;
const SPAN_SIZE = 1 << SPAN_BITS;
/** Per slot: offset of the spelling in SPAN_BYTES, its length (0 = empty slot), and the header id. */
const spanOff = new Int32Array(SPAN_SIZE);
const spanLen = new Int32Array(SPAN_SIZE);
const spanIds = new Int16Array(SPAN_SIZE).fill(-1);
const spellings: string[] = [...BY_KEY.keys()];
const SPAN_BYTES = new Uint8Array(spellings.reduce((n, k) => n + k.length, 0));

/** Byte → byte with A-Z lowercased (exact: unlike OR-ing 0x20, CR does not become '-'). */
const LOWER = new Uint8Array(256);
for (let c = 0; c < 256; c++) LOWER[c] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;

/** Slot of a name of `len` characters whose first and last characters are c0 and c1 (any case). */
function spanSlot(len: number, c0: number, c1: number): number {
  const h = Math.imul((c0 | 0x20) ^ ((c1 | 0x20) << 7) ^ (len << 14), 0x9e3779b1);
  return h >>> (32 - SPAN_BITS);
}

{
  let pos = 0;
  for (const lower of spellings) {
    let slot = spanSlot(lower.length, lower.charCodeAt(0), lower.charCodeAt(lower.length - 1));
    while (spanLen[slot] !== 0) slot = (slot + 1) & (SPAN_SIZE - 1);
    spanOff[slot] = pos;
    spanLen[slot] = lower.length;
    spanIds[slot] = BY_KEY.get(lower)!.id;
    for (let i = 0; i < lower.length; i++) SPAN_BYTES[pos++] = lower.charCodeAt(i);
  }
}

/**
 * Id of the known header whose name is buf[start, end) (non-empty), compared case-insensitively, or -1. No
 * allocation.
 */
export function lookupHeaderId(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  let slot = spanSlot(len, buf[start]!, buf[end - 1]!);
  for (;;) {
    const kl = spanLen[slot]!;
    if (kl === 0) return -1;
    if (kl === len) {
      const base = spanOff[slot]! - start;
      let i = start;
      while (i < end && LOWER[buf[i]!] === SPAN_BYTES[base + i]) i++;
      if (i === end) return spanIds[slot]!;
    }
    slot = (slot + 1) & (SPAN_SIZE - 1);
  }
}

/**
 * The parser's header-name automaton: one pass over the bytes of a header line both finds where the name (a token)
 * ends and which known name it spells (any case, compact forms), so the scan reads each name byte once with one
 * table load instead of a token-class pass followed by lookupHeaderId(). States are the prefixes of the lowercase
 * spellings (a trie; state 0 is the empty prefix) plus NAME_OTHER, a token that is no known spelling's prefix.
 *
 * The table is stored compressed, for the scan's sake: bytes with the same column (the same next state from every
 * state) share a class (`NAME_CLASS[byte]`; 29 classes, class 0 = not a token character, where the name ends), and
 * a state is represented by its row offset, `state << NAME_ROW_SHIFT`. `NAME_NEXT[row + NAME_CLASS[byte]]` is the
 * next state's row, or NAME_END. So one step of the walk is a load, an add and a load (the byte's class load does
 * not wait for the state): the chain of dependent loads is what the scan's time goes to, and a byte-indexed
 * table needed a shift and an or more per step (measured: ~9 % less per name). 72 KB instead of 288 KB.
 * `NAME_ACCEPT[row >> NAME_ROW_SHIFT]` is the id of the name spelled so far, or -1. Same answers as the token scan
 * plus lookupHeaderId() (wire.test compares them).
 */
const NAME_OTHER = 1;
const NAME_STATES: Map<string, number> = new Map([['', 0]]);
for (const lower of spellings) {
  for (let i = 1; i <= lower.length; i++) {
    const prefix = lower.slice(0, i);
    if (!NAME_STATES.has(prefix)) NAME_STATES.set(prefix, NAME_STATES.size + 1); // 1 is NAME_OTHER
  }
}
export const NAME_ROW_SHIFT = 6;
/** NAME_NEXT value: the byte is not a token character, the name ends before it. */
export const NAME_END = 0xffff;
export const NAME_CLASS = new Uint8Array(256);
export const NAME_NEXT = new Uint16Array((NAME_STATES.size + 1) << NAME_ROW_SHIFT).fill(NAME_END);
export const NAME_ACCEPT = new Int16Array(NAME_STATES.size + 1).fill(-1);
{
  // RFC 3261 token characters (alphanum and -.!%*_+`'~).
  const isToken = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    "-.!%*_+`'~".includes(String.fromCharCode(c));
  const next = (prefix: string, c: number): number => NAME_STATES.get(prefix + String.fromCharCode(LOWER[c]!)) ?? NAME_OTHER;
  const states: Array<[string, number]> = [...NAME_STATES, ['\u0000other', NAME_OTHER]];
  // A class per distinct column of the byte-indexed table (the next state from every state).
  const classOfColumn = new Map<string, number>();
  for (let c = 0; c < 128; c++) {
    if (!isToken(c)) continue;
    const column = states.map(([prefix, state]) => (state === NAME_OTHER ? NAME_OTHER : next(prefix, c))).join(',');
    let k = classOfColumn.get(column);
    if (k === undefined) classOfColumn.set(column, k = classOfColumn.size + 1);
    NAME_CLASS[c] = k;
  }
  if (classOfColumn.size >= 32 || (NAME_STATES.size + 1) << NAME_ROW_SHIFT >= NAME_END) {
    throw new Error('header-name automaton does not fit its table');
  }
  for (const [prefix, state] of states) {
    for (let c = 0; c < 128; c++) {
      if (!isToken(c)) continue;
      const to = state === NAME_OTHER ? NAME_OTHER : next(prefix, c);
      NAME_NEXT[(state << NAME_ROW_SHIFT) + NAME_CLASS[c]!] = to << NAME_ROW_SHIFT;
    }
    const known = state === NAME_OTHER ? undefined : BY_KEY.get(prefix);
    if (known !== undefined) NAME_ACCEPT[state] = known.id;
  }
}

/**
 * The automaton's first two steps in one load: `NAME_PAIR[NAME_CLASS[b0] << 5 | NAME_CLASS[b1]]` is the row after
 * both bytes, or NAME_END when either ends the name (then the walk takes single steps). The two class loads do not
 * wait for a state, so a name's chain of dependent loads is one shorter.
 */
export const NAME_PAIR = new Uint16Array(32 * 32).fill(NAME_END);
for (let c0 = 1; c0 < 32; c0++) {
  const r1 = NAME_NEXT[c0]!;
  if (r1 === NAME_END) continue;
  for (let c1 = 1; c1 < 32; c1++) NAME_PAIR[(c0 << 5) | c1] = NAME_NEXT[r1 + c1]!;
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
