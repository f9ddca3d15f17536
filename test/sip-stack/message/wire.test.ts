/**
 * Wire-mode internals of the message layer: header lines stored as offsets into the datagram, the header-name
 * table looked up from bytes, values read in place from the header text, URIs checked without being built
 * (checkUri) and built on first read. Every getter must give the same answer in wire mode as in field mode (the
 * array of HeaderField a message switches to on its first change).
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import {
  parseMessage,
  parseUri,
  parseNameAddr,
  SipParseError,
  SipRequest,
  NameAddr,
  type SipMessageAny,
} from '../../../sip-stack/message/index.js';
import { lookupHeaderId, lookupHeaderName, KNOWN_HEADERS, NAME_NEXT, NAME_CLASS, NAME_PAIR, NAME_END, NAME_ROW_SHIFT,
  NAME_ACCEPT } from '../../../sip-stack/message/header-names.js';
import { BYTE_CLASS, splitList } from '../../../sip-stack/message/scan.js';
import { checkUri, checkUriWire, URI_HAS_HEADERS } from '../../../sip-stack/message/uri.js';
import { parseVia, parseViaAt, parseViaWire } from '../../../sip-stack/message/via.js';
import { parseNameAddrAt, parseNameAddrWire } from '../../../sip-stack/message/name-addr.js';
import { parseCSeqAt, parseCSeqWire, parseAuth, parseAuthWire, parseContentTypeAt, parseContentTypeWire, isContentTypeWire, parseUIntAt,
  parseUIntWire } from '../../../sip-stack/message/values.js';
import { fixturePath } from '../../helpers/env.js';
import { ordinaryMessages, mutate, rng } from './fuzzer.js';

const GETTERS = ['via', 'topVia', 'from', 'to', 'callId', 'cseq', 'maxForwards', 'contact', 'route', 'recordRoute',
  'path', 'expires', 'minExpires', 'contentType', 'contentLength', 'authorization', 'proxyAuthorization',
  'wwwAuthenticate', 'proxyAuthenticate', 'supported', 'require', 'proxyRequire', 'unsupported', 'allow', 'reasons',
  'referTo', 'referredBy', 'replaces', 'event', 'subscriptionState', 'rseq', 'rack', 'date'] as const;

/** A getter's value or error, as comparable text (typed values through their wire form, URIs included). */
function read(m: SipMessageAny, name: (typeof GETTERS)[number]): string {
  try {
    const v = (m as unknown as Record<string, unknown>)[name];
    const uris = (x: unknown): unknown => (x !== null && typeof x === 'object' && 'uri' in x ? String((x as { uri: unknown }).uri) : '');
    return JSON.stringify(v, (_k, x: unknown) => (x instanceof Date ? x.toISOString() : x !== null && typeof x === 'object' &&
      !Array.isArray(x) && (x as object).toString !== Object.prototype.toString ? `${String(x)} ${String(uris(x))}` : x));
  } catch (e) {
    return e instanceof SipParseError ? `error ${e.code} ${e.header} ${e.reason}` : `unexpected ${String(e)}`;
  }
}

const torture = readdirSync(fixturePath('rfc4475')).filter((f) => f.endsWith('.dat')).sort()
  .map((f) => [f, readFileSync(fixturePath('rfc4475', f))] as const);
const corpus = [...ordinaryMessages().map((b, i) => [`ordinary ${i}`, b] as const), ...torture];

t.test('every getter, get/getAll/getLines and the serialization agree in wire mode and field mode', async (t) => {
  let compared = 0;
  for (const [name, buf] of corpus) {
    let wire: SipMessageAny;
    let field: SipMessageAny;
    try {
      wire = parseMessage(buf);
      field = parseMessage(buf);
    } catch {
      continue; // rejected messages are covered by rfc4475.test.ts
    }
    const lines = field.headers; // switches `field` to field mode
    for (const g of GETTERS) t.equal(read(wire, g), read(field, g), `${name}: ${g}`);
    const names = new Set(lines.map((h) => h.name));
    for (const h of names) {
      t.equal(wire.get(h), field.get(h), `${name}: get(${h})`);
      t.same(wire.getAll(h.toUpperCase()), field.getAll(h), `${name}: getAll(${h})`);
      t.same(wire.getLines(h.toLowerCase()), field.getLines(h), `${name}: getLines(${h})`);
    }
    t.equal(wire.get('X-Not-There'), undefined);
    t.equal(wire.toString(), field.toString(), `${name}: same wire form`);
    wire.set('X-Changed', 1);
    field.set('X-Changed', 1);
    t.equal(wire.toString(), field.toString(), `${name}: same wire form after a change`);
    compared++;
  }
  t.ok(compared >= 35, `${compared} messages compared`);
});

t.test('every getter agrees in wire mode (byte fast paths) and field mode (string parsers) on 5,000 fuzzed messages', async (t) => {
  const r = rng(4475);
  const seeds = corpus.map(([, b]) => b);
  let compared = 0;
  let mismatches = 0;
  for (let k = 0; k < 5000; k++) {
    const input = mutate(seeds, r);
    for (const strict of [false, true]) {
      let wire: SipMessageAny;
      let field: SipMessageAny;
      try {
        wire = parseMessage(input, { strict });
        field = parseMessage(input, { strict });
      } catch {
        continue;
      }
      void field.headers; // switches `field` to field mode
      for (const g of GETTERS) {
        const a = read(wire, g);
        const b = read(field, g);
        if (a !== b && mismatches++ < 10) t.fail(`${JSON.stringify(input.toString('latin1').slice(0, 200))}: ${g}: ${a.slice(0, 200)} vs ${b.slice(0, 200)}`);
      }
      compared++;
    }
  }
  t.equal(mismatches, 0, 'no getter differs');
  t.ok(compared > 1000, `${compared} parsed messages compared`);
});

t.test('list headers read by the byte fast paths equal the string parsers (odd commas, LWS, several lines)', async (t) => {
  const head = 'OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKl1\r\nFrom: <sip:a@b>;tag=1\r\n' +
    'To: <sip:b@c>\r\nCall-ID: l-1\r\nCSeq: 1 OPTIONS\r\n';
  const extra = [
    'Allow: INVITE, , ACK,', 'Allow: ,INVITE', 'Supported:', 'Supported: a,b\r\nSupported: c', 'Require: a b', 'Allow: a;b',
    'Supported: "x"', 'Unsupported: \t foo \t, bar', 'Proxy-Require: <x>',
    'Contact: <sip:a@b>, <sip:c@d>', 'Contact: <sip:a@b>\r\nContact: "X, Y" <sip:c@d>;q=0.5', 'Contact: *', 'Contact: sip:a@b;expires=5',
    'Contact: <sip:a@b>,', 'Contact: a, b <sip:c@d>', 'Contact: <sip:a@b;x=",">', 'Contact: <sip:a@b>;p="a,b"',
    'Record-Route: <sip:p1;lr>\r\nRecord-Route: <sip:p2;lr>, <sip:p3;lr>', 'Route: <sip:p1;lr>;x', 'Path: <sip:p;lr>,,<sip:q>',
    'Authorization: Digest username="a\\"b", realm=r ,nonce="n",uri="sip:x", response="0f"',
    'Authorization: Basic dXNlcjpwYXNz==', 'Authorization: Digest', 'Authorization: Digest a=, b=1', 'Authorization: Digest A=1,,b=2',
    'Proxy-Authorization: Digest realm="x"\r\nProxy-Authorization: Digest realm="y", nonce=1',
    'WWW-Authenticate: Digest realm="x", qop="auth,auth-int", stale=FALSE', 'Proxy-Authenticate: Digest realm="x" nonce="y"',
  ];
  for (const e of extra) {
    const buf = Buffer.from(`${head}${e}\r\nContent-Length: 0\r\n\r\n`, 'latin1');
    const wire = parseMessage(buf);
    const field = parseMessage(buf);
    void field.headers;
    for (const g of ['contact', 'route', 'recordRoute', 'path', 'supported', 'require', 'proxyRequire', 'unsupported', 'allow',
      'authorization', 'proxyAuthorization', 'wwwAuthenticate', 'proxyAuthenticate'] as const) {
      t.equal(read(wire, g), read(field, g), `${JSON.stringify(e)}: ${g}`);
    }
  }
});

t.test('an untouched message serializes to the same Buffer every time; a change rebuilds it', async (t) => {
  const buf = ordinaryMessages()[0]!;
  const m = parseMessage(buf);
  const a = m.toBuffer();
  t.equal(a, m.toBuffer(), 'the same view');
  t.equal(Buffer.compare(a, buf), 0, 'byte-identical');
  m.set('Subject', 'x');
  t.not(m.toBuffer(), a);
  t.match(m.toString(), /\r\nSubject: x\r\n/);
});

t.test('header names are found from bytes: every known name, compact form and case; unknown names are not', async (t) => {
  const id = (s: string): number => { const b = Buffer.from(s, 'latin1'); return lookupHeaderId(b, 0, b.length); };
  for (const e of KNOWN_HEADERS) {
    t.equal(id(e.canonical), e.id, e.canonical);
    t.equal(id(e.key.toUpperCase()), e.id, e.key.toUpperCase());
    t.equal(lookupHeaderName(e.key).id, e.id);
  }
  for (const [compact, key] of [['v', 'via'], ['I', 'call-id'], ['f', 'from'], ['T', 'to'], ['m', 'contact'], ['l', 'content-length'],
    ['c', 'content-type'], ['k', 'supported'], ['o', 'event'], ['r', 'refer-to'], ['b', 'referred-by']] as const) {
    t.equal(id(compact), lookupHeaderName(key).id, `compact ${compact}`);
  }
  // CR folds onto '-' when OR-ed with 0x20, '_' onto DEL: neither may make a known name.
  for (const unknown of ['Call\rID', 'Call_ID', 'Vias', 'Vi', 'X-Via', 'C%6Fntact', 'CSeq2', 'From-', 'z']) {
    t.equal(id(unknown), -1, `unknown ${JSON.stringify(unknown)}`);
  }
});

t.test('the name automaton ends names where the token scan does and finds the ids lookupHeaderId() finds', async (t) => {
  /** The parser's walk: [end of the name, id]. */
  const walk = (b: Uint8Array, a: number, e: number): [number, number] => {
    let p = a;
    let row = 0;
    if (p + 1 < e) {
      const pair = NAME_PAIR[(NAME_CLASS[b[p]!]! << 5) | NAME_CLASS[b[p + 1]!]!]!;
      if (pair !== NAME_END) { row = pair; p += 2; }
    }
    while (p < e) {
      const next = NAME_NEXT[row + NAME_CLASS[b[p]!]!]!;
      if (next === NAME_END) break;
      row = next;
      p++;
    }
    return [p, NAME_ACCEPT[row >> NAME_ROW_SHIFT]!];
  };
  /** The reference: token characters, then the hash table. */
  const reference = (b: Uint8Array, a: number, e: number): [number, number] => {
    let p = a;
    while (p < e && BYTE_CLASS[b[p]!] === 1) p++;
    return [p, p > a ? lookupHeaderId(b, a, p) : -1];
  };
  const names: string[] = [];
  for (const e of KNOWN_HEADERS) names.push(e.canonical, e.key, e.key.toUpperCase(), e.canonical + 'x', e.canonical.slice(0, -1));
  names.push('v', 'V', 'i', 'I', 'l', 'Call\rID', 'Call_ID', 'X-Via', 'Via\x80', 'Via:', 'Via :', 'via\t:', '', ':', '\x80Via',
    'Contact\xc3\xa9', 'Content-Lengt', 'Content-Lengths');
  // Every byte alone, after a whole name, inside a name and after an unknown one (the byte classes).
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    names.push(ch, 'Via' + ch, 'Content-' + ch + 'ype', 'Content-Type' + ch, 'X-Foo' + ch, ch + 'ia');
  }
  const r = rng(4475);
  const alphabet = 'viaVIAcontentlengthCONTE-_.!%*+`~ :\t\r\x80\xff';
  for (let n = 0; n < 20000; n++) {
    let s = r() < 0.5 ? names[Math.floor(r() * names.length)]! : '';
    const extra = Math.floor(r() * 4);
    for (let k = 0; k < extra; k++) {
      const at = Math.floor(r() * (s.length + 1));
      s = s.slice(0, at) + alphabet[Math.floor(r() * alphabet.length)]! + s.slice(at + (r() < 0.3 ? 1 : 0));
    }
    names.push(s);
  }
  let mismatches = 0;
  for (const s of names) {
    const b = Buffer.from(s, 'latin1');
    const got = walk(b, 0, b.length);
    const want = reference(b, 0, b.length);
    if (got[0] !== want[0] || got[1] !== want[1]) {
      if (mismatches++ < 5) t.same(got, want, JSON.stringify(s));
    }
  }
  t.equal(mismatches, 0, `${names.length} names, no difference`);
  for (const e of KNOWN_HEADERS) t.equal(walk(Buffer.from(e.canonical + ': x'), 0, e.canonical.length + 3)[1], e.id, e.canonical);
});

t.test('values are read in place: compact names, folding, LWS around the colon, non-ASCII sections', async (t) => {
  const m = parseMessage(Buffer.from(
    'MESSAGE sip:bob@example.com SIP/2.0\r\n' +
    'v  :  SIP/2.0/UDP h.example.com;branch=z9hG4bKw1\r\n' +
    'f:<sip:alice@example.com>\r\n  ;tag=a1\r\n' +
    't: "Bj\u00f6rn" <sip:bob@example.com>\r\n' +
    'i: w-1\r\nCSeq:\t7 MESSAGE\r\nMax-Forwards: 70\r\nContent-Type: text/plain;charset=utf-8\r\nl: 5\r\n\r\nhello', 'utf8')) as SipRequest;
  t.equal(m.topVia!.branch, 'z9hG4bKw1');
  t.equal(m.from!.tag, 'a1', 'folded From');
  t.equal(m.get('From'), '<sip:alice@example.com> ;tag=a1');
  t.equal(m.to!.displayName, 'Bj\u00f6rn', 'UTF-8 display name');
  t.equal(m.cseq!.seq, 7);
  t.equal(m.contentType!.params['charset'], 'utf-8');
  t.equal(m.body.toString(), 'hello');
  // ASCII header section, non-ASCII body: values still come from the latin1 text.
  const n = parseMessage(Buffer.from('MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKw2\r\n' +
    'From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: w-2\r\nCSeq: 1 MESSAGE\r\nContent-Length: 6\r\n\r\nh\u00e9llo', 'utf8'));
  t.equal(n.topVia!.branch, 'z9hG4bKw2');
  t.equal(n.body.toString('utf8'), 'h\u00e9llo');
});

t.test('quoted display names read from bytes equal the string parser\'s: plain, empty, with escapes', async (t) => {
  for (const v of ['"Alice" <sip:a@b>;tag=1', '"" <sip:a@b>', '"A \\"B\\" C" <sip:a@b>', '"back\\\\slash" <sip:a@b>', '"x\\y"<sip:a@b>',
    '  "Bob Smith"   <sip:bob@example.com:5060;transport=tcp>;tag=x;foo']) {
    const b = Buffer.from(v, 'latin1');
    const wire = parseNameAddrWire(b, 0, b.length, 'From', v, 0);
    const str = parseNameAddrAt(v, 0, v.length, 'From');
    if (!(wire instanceof NameAddr)) { t.fail(`read from bytes: ${v}`); continue; }
    t.equal(wire.displayName, str.displayName, v);
    t.same(wire.params, str.params);
  }
});

t.test('a datagram with UTF-8 in its start line or some header values: those are decoded as UTF-8, the others as before', async (t) => {
  const res = parseMessage(Buffer.from('SIP/2.0 200 \u0445\u043e\u0440\u043e\u0448\u043e\r\n' +
    'Via: SIP/2.0/UDP h.example.com;branch=z9hG4bKu1\r\nFrom: "J\u00fcrgen \u5927" <sip:j@example.com>;tag=f1\r\n' +
    'To: <sip:b@example.com>;tag=t1\r\nCall-ID: u-1\r\nCSeq: 3 INVITE\r\nSubject: \ufeff\u00e9t\u00e9\r\n' +
    'X-Fold: a\r\n \u00e9\r\nContent-Length: 0\r\n\r\n', 'utf8'));
  t.equal(res.isRequest, false);
  t.equal((res as unknown as { reason: string }).reason, '\u0445\u043e\u0440\u043e\u0448\u043e', 'UTF-8 reason phrase');
  t.equal(res.topVia!.branch, 'z9hG4bKu1');
  t.equal(res.from!.displayName, 'J\u00fcrgen \u5927');
  t.equal(res.from!.tag, 'f1');
  t.equal(res.to!.tag, 't1');
  t.equal(res.callId, 'u-1');
  t.equal(res.get('Subject'), '\ufeff\u00e9t\u00e9', 'UTF-8 value (BOM kept)');
  t.equal(res.get('X-Fold'), 'a \u00e9', 'folded UTF-8 value');
  const fields = res.headers.map((h) => `${h.name}: ${h.value}`);
  t.same(fields.slice(1, 3), ['From: "J\u00fcrgen \u5927" <sip:j@example.com>;tag=f1', 'To: <sip:b@example.com>;tag=t1']);
  const req = parseMessage(Buffer.from('MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKu2\r\n' +
    'From: <sip:a@b>;tag=1\r\nTo: "\u00c5sa" <sip:b@c>\r\nCall-ID: u-2\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n', 'utf8')) as SipRequest;
  t.equal(req.to!.displayName, '\u00c5sa');
  t.equal(req.uriText, 'sip:bob@example.com');
  t.equal(req.cseq!.method, 'MESSAGE');
  // UTF-8 at the end of a value, in the values of lines far apart, and in the body only: each value is decoded
  // as what it is, and the ASCII ones between are read as before.
  const mixed = parseMessage(Buffer.from('MESSAGE sip:bob@example.com SIP/2.0\r\nSubject: caf\u00e9\r\n' +
    'Via: SIP/2.0/UDP h;branch=z9hG4bKu3\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: u-3\r\n' +
    'X-Mid: plain\r\nCSeq: 2 MESSAGE\r\nOrganization: \u00c5 & \u00d8\r\nContent-Length: 3\r\n\r\n\u00e9!', 'utf8')) as SipRequest;
  t.equal(mixed.get('Subject'), 'caf\u00e9');
  t.equal(mixed.get('Organization'), '\u00c5 & \u00d8');
  t.equal(mixed.get('X-Mid'), 'plain');
  t.equal(mixed.topVia!.branch, 'z9hG4bKu3');
  t.equal(mixed.body.toString('utf8'), '\u00e9!');
  const bodyOnly = parseMessage(Buffer.from('MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKu4\r\n' +
    'From: "A" <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: u-4\r\nCSeq: 3 MESSAGE\r\nContent-Length: 5\r\n\r\n\u00e9t\u00e9', 'utf8')) as SipRequest;
  t.equal(bodyOnly.from!.displayName, 'A');
  t.equal(bodyOnly.callId, 'u-4');
  t.equal(bodyOnly.body.toString('utf8'), '\u00e9t\u00e9');
});

t.test('a number value starting with a non-ASCII character is a 400 naming the header (fuzz regression)', async (t) => {
  const buf = Buffer.from('REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKr\r\nMax-Forwards: \u00b70\r\n' +
    'From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: r-1\r\nCSeq: 2 REGISTER\r\nl: 0\r\n\r\n', 'utf8');
  try {
    parseMessage(buf);
    t.fail('parsed');
  } catch (e) {
    t.ok(e instanceof SipParseError);
    t.equal((e as SipParseError).code, 'DPBX_ERR_SIP_BAD_HEADER');
    t.equal((e as SipParseError).header, 'Max-Forwards');
    t.equal((e as { cause?: unknown }).cause, undefined, 'not an internal failure');
    t.type((e as SipParseError).responseFor, 'function');
  }
});

t.test('checkUri fails exactly when parseUri does, with the same error, and flags URI headers', async (t) => {
  const uris = ['sip:alice@example.com', 'sips:a:pw@[2001:db8::1]:5061;transport=tcp;lr', 'sip:host;x=a@b', 'sip:a@b?subject=x&h=y',
    'sip:a@b?', 'sip:a@b?=x', 'sip:a@b?x', 'sip:@b', 'sip::pw@b', 'sip:a@', 'sip:a@b:99999', 'sip:a@b:5060x', 'sip:a@[zz]',
    'sip:a@[::1', 'sip:a@[]', 'sip:a@b;;lr', 'sip:a@b;=v', 'sip:a@b;%6C%72', 'tel:+1-201-555-0123;ext=1', 'tel:;x', 'tel:1?x',
    'mailto:a@b', 'x:', '1sip:a', 'sip:a b@c', 'sip:a<b@c', 'SIP:ALICE@EXAMPLE.COM', 'sip:a@b c', '', 'sip', 'sip:a%zz@b'];
  for (const u of uris) {
    let parsed: ReturnType<typeof parseUri> | undefined;
    let perr = '';
    try { parsed = parseUri(u, 'To'); } catch (e) { perr = (e as SipParseError).reason; }
    let flags = -1;
    let cerr = '';
    try { flags = checkUri(u, 'To'); } catch (e) { cerr = (e as SipParseError).reason; }
    t.equal(cerr, perr, `${JSON.stringify(u)}: same outcome`);
    if (parsed !== undefined) {
      const hasHeaders = parsed.isSip && Object.keys(parsed.headers).length > 0;
      t.equal(flags === URI_HAS_HEADERS, hasHeaders, `${JSON.stringify(u)}: URI headers flag`);
    }
  }
});

t.test('name-addr URIs are built on first read and can be replaced', async (t) => {
  const na = parseNameAddr('"A" <sip:%61lice@example.com;transport=TCP>;tag=9', 'From');
  t.equal(na.tag, '9');
  const u = na.uri;
  t.equal(u.user, 'alice');
  t.equal(u.transport, 'tcp');
  t.equal(na.uri, u, 'built once');
  na.uri = parseUri('sip:bob@example.net');
  t.equal(na.toString(), '"A" <sip:bob@example.net>;tag=9');
  t.throws(() => parseNameAddr('<sip:a b@c>', 'To'), SipParseError, 'a bad URI fails at parse time, not on read');
});

t.test('the byte fast paths give what the string parsers give, or bail (every header value of 20,000 fuzzed messages)', async (t) => {
  // Each *Wire function must return exactly the string parser's value for the same text, or BAIL. Where one returns
  // a SipParseError (Via, name-addr, CSeq), it must be the very error the string parser throws (code, status,
  // header, reason). Every header value of the corpus and of mutated messages goes through all of them (whatever
  // its header), at an offset inside a larger text, as in a parsed message.
  const r = rng(3261);
  const inputs = corpus.map(([, b]) => b);
  for (let k = 0; k < 20000; k++) inputs.push(mutate(inputs.slice(0, corpus.length), r));
  const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => x instanceof Set ? [...(x as Set<unknown>)]
    : x !== null && typeof x === 'object' && 'uri' in x && typeof (x as { toString?: unknown }).toString === 'function'
      ? { ...(x as object), uri: String((x as { uri: unknown }).uri), s: String(x) } : x);
  const hits = { via: 0, nameAddr: 0, cseq: 0, uri: 0, auth: 0, contentType: 0, uint: 0 };
  const errors = { via: 0, nameAddr: 0, cseq: 0 };
  const ctChecked = { valid: 0, invalid: 0 };
  let values = 0;
  let mismatches = 0;
  const thrown = (e: unknown): string => e instanceof SipParseError ? `throws ${e.code} ${e.status} ${e.header} ${e.reason}` : `throws ${String(e)}`;
  const check = (what: string, fast: unknown, slow: () => unknown): void => {
    let expect: string;
    try { expect = json(slow()); } catch (e) { expect = thrown(e); }
    const got = fast instanceof SipParseError ? thrown(fast) : json(fast);
    if (got !== expect && mismatches++ < 20) t.fail(`${what.slice(0, 200)}: fast ${got.slice(0, 300)} vs string ${expect.slice(0, 300)}`);
  };
  for (const input of inputs) {
    const text = input.toString('latin1');
    if (/[^\x00-\x7f]/.test(text)) continue; // the fast paths only run on pure ASCII header sections
    for (const line of text.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      let a = colon + 1;
      let n = line.length;
      while (a < n && (line[a] === ' ' || line[a] === '\t')) a++;
      while (n > a && (line[n - 1] === ' ' || line[n - 1] === '\t')) n--;
      const b = Buffer.from(line, 'latin1');
      values++;
      // Via as the topVia getter reads a line: its first comma-separated element.
      const via = parseViaWire(b, a, n, line, 0);
      if (via instanceof SipParseError) errors.via++;
      const viaSlow = (): unknown => { const c = line.indexOf(',', a); return c < 0 || c >= n ? parseViaAt(line, a, n) : parseVia(splitList(line.slice(a, n))[0] ?? ''); };
      if (via !== undefined) { hits.via++; check(`Via ${JSON.stringify(line)}`, via, viaSlow); }
      const na = parseNameAddrWire(b, a, n, 'To', line, 0);
      if (na instanceof SipParseError) errors.nameAddr++;
      if (na !== undefined) { hits.nameAddr++; check(`To ${JSON.stringify(line)}`, na, () => parseNameAddrAt(line, a, n, 'To')); }
      const cseq = parseCSeqWire(b, a, n, line, 0);
      if (cseq instanceof SipParseError) errors.cseq++;
      hits.cseq++;
      check(`CSeq ${JSON.stringify(line)}`, cseq, () => parseCSeqAt(line, a, n));
      const auth = parseAuthWire(b, a, n, line, 0);
      if (auth !== undefined) { hits.auth++; check(`Auth ${JSON.stringify(line)}`, auth, () => parseAuth(line.slice(a, n), 'Authorization')); }
      const ct = parseContentTypeWire(b, a, n, line, 0);
      if (ct !== undefined) { hits.contentType++; check(`Content-Type ${JSON.stringify(line)}`, ct, () => parseContentTypeAt(line, a, n)); }
      // The parser's check without building the value: valid exactly where the byte form reads the value whole.
      const ctValid = isContentTypeWire(b, a, n);
      if (ctValid) ctChecked.valid++; else ctChecked.invalid++;
      if (ctValid !== (ct !== undefined) && mismatches++ < 20) t.fail(`Content-Type check ${JSON.stringify(line)}: ${ctValid}, parse ${ct !== undefined}`);
      for (const max of [255, 0x7fffffff]) {
        const u = parseUIntWire(b, a, n, max);
        if (u >= 0) { hits.uint++; check(`uint ${max} ${JSON.stringify(line)}`, u, () => parseUIntAt(line, a, n, 'Max-Forwards', max)); }
      }
      const uri = checkUriWire(b, a, n);
      if (uri >= 0) { hits.uri++; check(`URI ${JSON.stringify(line)}`, uri, () => checkUri(line.slice(a, n), 'To')); }
    }
  }
  t.equal(mismatches, 0, `no fast path disagreed with its string parser (${values} values)`);
  // The fast paths must actually be taken, or this test checks nothing.
  for (const [k, v] of Object.entries(hits)) t.ok(v > 1000, `${k} fast path taken ${v} times`);
  for (const [k, v] of Object.entries(errors)) t.ok(v > 500, `${k} fast path returned an error ${v} times`);
  for (const [k, v] of Object.entries(ctChecked)) t.ok(v > 1000, `Content-Type check said ${k} ${v} times`);
});

t.test('the URI byte check reads URI headers as checkUri() does (20,000 mutated URIs with a ? part)', async (t) => {
  const r = rng(19111);
  const bases = ['sip:user@example.com?Route=%3Csip:example.com%3E', 'sip:a@b;lr?x=1&y=2', 'sips:b.example.com:5061?subject=hi&',
    'sip:bob@example.com?', 'sip:c@d?&&', 'sip:c@d?=x', 'sip:c@d?x', 'sip:c@d?x=&y=z', 'sip:c@d;p=1?h=%20v&q=='];
  const alphabet = '?&=;%:@ab1.<>"';
  const inputs = [...bases];
  for (let k = 0; k < 20000; k++) {
    const s = bases[Math.floor(r() * bases.length)]!;
    const at = Math.floor(r() * (s.length + 1));
    const c = alphabet[Math.floor(r() * alphabet.length)]!;
    inputs.push(r() < 0.7 ? s.slice(0, at) + c + s.slice(at) : s.slice(0, at) + s.slice(at + 1));
  }
  let mismatches = 0;
  const seen = new Map<number, number>();
  for (const u of inputs) {
    const line = `INVITE ${u} SIP/2.0`;
    const fast = checkUriWire(Buffer.from(line, 'latin1'), 7, 7 + u.length);
    seen.set(fast, (seen.get(fast) ?? 0) + 1);
    if (fast < 0) continue;
    let slow: number | string;
    try { slow = checkUri(u, 'Request-URI'); } catch (e) { slow = `throws ${(e as Error).message}`; }
    if (slow !== fast && mismatches++ < 20) t.fail(`${JSON.stringify(u)}: fast ${fast} vs string ${slow}`);
  }
  t.equal(mismatches, 0, 'no URI where the byte check disagreed with checkUri()');
  t.ok((seen.get(URI_HAS_HEADERS) ?? 0) > 1000, `URI headers found by the byte check ${seen.get(URI_HAS_HEADERS)} times`);
  t.ok((seen.get(0) ?? 0) > 100, `URIs without headers accepted ${seen.get(0)} times`);
  t.ok((seen.get(-1) ?? 0) > 100, `bails ${seen.get(-1)} times`);
  t.equal(checkUriWire(Buffer.from('sip:c@d?x'), 0, 9), -1, 'a header without "=" is left to checkUri(), which throws');
});

t.test('a string body gets a buffer of its own (not a slice of the shared pool that a lingering message would pin)', async (t) => {
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\n';
  const req = new SipRequest('INVITE', 'sip:bob@example.com');
  req.body = sdp;
  t.equal(req.body.toString('utf8'), sdp, 'same bytes');
  t.equal(req.body.buffer.byteLength, Buffer.byteLength(sdp), 'the body owns exactly its bytes');
  req.body = 'é';
  t.equal(req.body.toString('utf8'), 'é', 'UTF-8 encoded');
  t.equal(req.body.length, 2);
  req.body = '';
  t.equal(req.body.length, 0, 'empty body');
  t.match(req.toString(), /Content-Length: 0\r\n\r\n$/, 'serialized with Content-Length 0');
});
