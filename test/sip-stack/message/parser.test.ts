/**
 * The datagram parser and the message object (RFC 3261 §7, §18.3, §20): framing by Content-Length, compact
 * forms, folding, repeated and comma-list headers, unknown headers, limits as typed errors, and the
 * serializer's round trip.
 */
import t, { type Test } from 'tap';
import {
  parseMessage,
  parseNameAddr,
  createRequest,
  createResponse,
  SipParseError,
  SipRequest,
  SipResponse,
  Via,
  type ParseOptions,
} from '../../../sip-stack/message/index.js';

const CRLF = '\r\n';

/** A request from header lines; the Content-Length line is added unless `cl` is null. */
function wire(lines: string[], body = '', cl: number | null = Buffer.byteLength(body)): Buffer {
  const head = lines.join(CRLF) + CRLF + (cl === null ? '' : `Content-Length: ${cl}${CRLF}`) + CRLF;
  return Buffer.from(head + body);
}

const base = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
];

function error(t: Test, buf: Buffer, opts?: ParseOptions): SipParseError {
  try {
    parseMessage(buf, opts);
  } catch (e) {
    t.ok(e instanceof SipParseError, 'a SipParseError');
    return e as SipParseError;
  }
  t.fail('expected a SipParseError');
  return new SipParseError('DPBX_ERR_SIP_PARSE', 0, '');
}

t.test('datagram mode: Content-Length frames the body, trailing octets are ignored', async (t) => {
  const m = parseMessage(Buffer.concat([wire(base, 'v=0\r\n'), Buffer.from('GARBAGE AFTER')])) as SipRequest;
  t.equal(m.body.toString(), 'v=0\r\n');
  t.notMatch(m.toString(), /GARBAGE/, 'serialized without the trailing octets');
});

t.test('datagram mode: without Content-Length the body runs to the end of the packet', async (t) => {
  const m = parseMessage(wire(base, 'abc', null));
  t.equal(m.body.toString(), 'abc');
  t.equal(m.contentLength, undefined);
  t.match(m.toString(), /Content-Length: 3\r\n/, 'the serializer always writes the body length');
});

t.test('RFC 3261 §18.3: a body shorter than Content-Length is a 400 that can be answered', async (t) => {
  const e = error(t, wire(base, 'short', 50));
  t.equal(e.status, 400);
  t.equal(e.code, 'DPBX_ERR_SIP_BODY_TRUNCATED');
  t.equal(e.header, 'Content-Length');
  const answer = parseMessage(e.responseFor!()) as SipResponse;
  t.equal(answer.status, 400);
  t.match(answer.reason, /^Bad Request \(body of 5 bytes is shorter than Content-Length 50\)$/);
  t.equal(answer.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
  t.ok(answer.to!.tag, 'the answer adds a To tag');
  t.equal(answer.topVia!.branch, 'z9hG4bK776asdhds');
});

t.test('CRLFs before the start line are ignored (RFC 3261 §7.5)', async (t) => {
  const m = parseMessage(Buffer.concat([Buffer.from('\r\n\r\n'), wire(base)]));
  t.equal((m as SipRequest).method, 'INVITE');
});

t.test('bare LF line ends are accepted', async (t) => {
  const m = parseMessage(Buffer.from(base.join('\n') + '\nContent-Length: 0\n\n')) as SipRequest;
  t.equal(m.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
  t.equal(m.from!.tag, '1928301774');
});

t.test('header names: case-insensitive, every compact form, canonical spelling on output', async (t) => {
  const m = parseMessage(wire([
    'MESSAGE sip:bob@example.com SIP/2.0',
    'v: SIP/2.0/TCP h.example.com;branch=z9hG4bKc1',
    't: <sip:bob@example.com>',
    'f: <sip:alice@example.com>;tag=x',
    'i: compact-1',
    'CSEQ: 1 MESSAGE',
    'm: <sip:alice@h.example.com>',
    'c: text/plain',
    'k: path, gruu',
    's: a subject',
    'e: gzip',
    'o: presence',
    'u: refer',
    'r: <sip:carol@example.com>',
    'b: <sip:alice@example.com>',
    'x: 1800;refresher=uac',
    'mAx-FoRwArDs: 10',
  ], 'hi')) as SipRequest;
  t.equal(m.topVia!.transport, 'TCP');
  t.equal(m.callId, 'compact-1');
  t.equal(m.to!.uri.user, 'bob');
  t.equal(m.from!.tag, 'x');
  t.equal(m.contentType!.mediaType, 'text/plain');
  t.same(m.supported, ['path', 'gruu']);
  t.equal(m.get('Subject'), 'a subject');
  t.equal(m.get('Content-Encoding'), 'gzip');
  t.equal(m.event!.event, 'presence');
  t.equal(m.get('Allow-Events'), 'refer');
  t.equal(m.referTo!.uri.user, 'carol');
  t.equal(m.referredBy!.uri.user, 'alice');
  t.equal(m.get('Session-Expires'), '1800;refresher=uac');
  t.equal(m.maxForwards, 10);
  t.equal(m.get('call-id'), 'compact-1', 'lookup by any spelling');
  t.equal(m.get('I'), 'compact-1', 'lookup by compact form');
  m.set('Max-Forwards', 9); // force a rebuild instead of the original bytes
  const out = m.toString();
  for (const name of ['Via', 'To', 'From', 'Call-ID', 'CSeq', 'Contact', 'Content-Type', 'Supported', 'Subject', 'Event',
    'Refer-To', 'Referred-By', 'Max-Forwards']) {
    t.match(out, new RegExp(`\\r\\n${name}: `), `written as ${name}`);
  }
});

t.test('line folding: continuation lines join the value with one space', async (t) => {
  const m = parseMessage(wire([
    ...base.slice(0, 6),
    'CSeq: 314159',
    '\t INVITE',
    'Subject: I know you are there,',
    '         pick up the phone',
    '   ',
    'Contact: <sip:alice@pc33.atlanta.example.com>',
  ])) as SipRequest;
  t.same(m.cseq, { seq: 314159, method: 'INVITE' });
  t.equal(m.get('Subject'), 'I know you are there, pick up the phone');
  // An empty first line, empty continuations between others, and several folded headers in one message.
  const m2 = parseMessage(wire([
    ...base.slice(0, 7),
    'X-A:',
    '  one',
    ' \t ',
    '\ttwo  ',
    'X-B: x',
    ' y',
    'Contact: <sip:alice@pc33.atlanta.example.com>',
  ])) as SipRequest;
  t.equal(m2.get('X-A'), 'one two');
  t.equal(m2.get('X-B'), 'x y');
  t.equal(m2.contact !== '*' && m2.contact?.[0]?.uri.host, 'pc33.atlanta.example.com', 'the next header after the folds');
});

t.test('repeated header lines and comma lists are the same list (RFC 3261 §7.3.1)', async (t) => {
  const m = parseMessage(wire([
    'OPTIONS sip:x@example.com SIP/2.0',
    'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com;branch=z9hG4bK2',
    'Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3',
    'To: <sip:x@example.com>',
    'From: <sip:y@example.com>;tag=1',
    'Call-ID: lists',
    'CSeq: 1 OPTIONS',
    'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
    'Route: <sip:p3.example.com;lr>',
    'Allow: INVITE, ACK',
    'Allow: BYE',
    'Contact: "A, B" <sip:a@example.com>, <sip:b@example.com;x=1,2>',
  ])) as SipRequest;
  t.same(m.via.map((v) => v.host), ['a.example.com', 'b.example.com', 'c.example.com']);
  t.equal(m.topVia!.host, 'a.example.com');
  t.same(m.route.map((r) => r.uri.host), ['p1.example.com', 'p2.example.com', 'p3.example.com']);
  t.same(m.allow, ['INVITE', 'ACK', 'BYE']);
  t.same(m.getAll('Via').length, 3);
  t.same(m.getLines('Via').length, 2);
  const c = m.contact;
  if (c === '*' || c === undefined) throw new Error('contact');
  t.same(c.map((x) => x.displayName ?? ''), ['A, B', ''], 'commas inside quotes do not split');
  t.equal(c[1]!.uri.params['x'], '1,2', 'commas inside <> do not split');
});

t.test('unknown headers are kept verbatim, in order, with their spelling', async (t) => {
  const m = parseMessage(wire([...base, 'X-Custom-HEADER:   odd ;; value,, with "quotes" ', 'x-other: 1', 'X-Custom-Header: second'])) as SipRequest;
  t.same(m.getLines('x-custom-header'), ['odd ;; value,, with "quotes"', 'second']);
  const names = m.headers.map((h) => h.name);
  t.ok(names.includes('X-Custom-HEADER') && names.includes('x-other'), 'spelling as received');
  m.set('Max-Forwards', 1);
  t.match(m.toString(), /\r\nX-Custom-HEADER: odd ;; value,, with "quotes"\r\nx-other: 1\r\nX-Custom-Header: second\r\n/);
});

t.test('responses: status, reason phrase, response-specific values', async (t) => {
  const r = parseMessage(wire([
    'SIP/2.0 401 Unauthorized',
    'Via: SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKr;rport=5070;received=2001:db8::9',
    'To: <sip:alice@example.com>;tag=srv',
    'From: <sip:alice@example.com>;tag=cli',
    'Call-ID: r1',
    'CSeq: 2 REGISTER',
    'WWW-Authenticate: Digest realm="example.com", nonce="abc, def", algorithm=SHA-256, qop="auth", stale=true',
    'WWW-Authenticate: Digest realm="example.com", nonce="n2", algorithm=MD5',
  ])) as SipResponse;
  t.equal(r.status, 401);
  t.equal(r.reason, 'Unauthorized');
  t.equal(r.topVia!.hostname, '2001:db8::9');
  t.equal(r.topVia!.rport, 5070);
  t.equal(r.wwwAuthenticate.length, 2);
  t.equal(r.wwwAuthenticate[0]!.nonce, 'abc, def');
  t.equal(r.wwwAuthenticate[0]!.algorithm, 'SHA-256');
  t.equal(r.wwwAuthenticate[0]!.params['stale'], 'true');
  t.equal(r.wwwAuthenticate[1]!.algorithm, 'MD5');
});

t.test('requests without the core headers', async (t) => {
  // No Via: cannot be answered (nowhere to send it) → dropped and counted by the transport.
  const noVia = error(t, wire(base.filter((l) => !l.startsWith('Via'))));
  t.equal(noVia.code, 'DPBX_ERR_SIP_MISSING_HEADER');
  t.equal(noVia.header, 'Via');
  t.equal(noVia.responseFor, undefined);
  // No Call-ID: a 400 is still possible (Via + CSeq identify the client transaction).
  const noCallId = error(t, wire(base.filter((l) => !l.startsWith('Call-ID'))));
  t.equal(noCallId.header, 'Call-ID');
  t.type(noCallId.responseFor, 'function');
  // Responses are never answered.
  const resp = error(t, wire(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP h;branch=z9hG4bKx', 'Call-ID: a', 'CSeq: 1 INVITE', 'From: <sip:a@b>;tag=1']));
  t.equal(resp.header, 'To');
  t.equal(resp.responseFor, undefined);
});

t.test('malformed start lines', async (t) => {
  const cases: Array<[string, number, string]> = [
    ['SIP/2.0 99 Too Small', 400, 'DPBX_ERR_SIP_PARSE'],
    ['SIP/2.0 1000 Too Big', 400, 'DPBX_ERR_SIP_PARSE'],
    ['SIP/3.0 200 OK', 505, 'DPBX_ERR_SIP_VERSION'],
    ['HTTP/1.1 200 OK', 400, 'DPBX_ERR_SIP_PARSE'],
    ['INV{TE sip:a@b SIP/2.0', 400, 'DPBX_ERR_SIP_PARSE'],
    ['INVITE', 400, 'DPBX_ERR_SIP_PARSE'],
    ['INVITE sip:a@b', 400, 'DPBX_ERR_SIP_PARSE'],
  ];
  for (const [line, status, code] of cases) {
    const e = error(t, wire([line, ...base.slice(1)]));
    t.equal(e.status, status, line);
    t.equal(e.code, code, line);
  }
  const v = error(t, wire(['INVITE sip:bob@biloxi.example.com SIP/2.1', ...base.slice(1)]));
  t.equal(v.status, 505, 'an unknown version in a request is answered with 505');
  t.type(v.responseFor, 'function');
});

t.test('malformed core headers give a 400 naming the header', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['CSeq: x INVITE', 'CSeq', 'CSeq'],
    ['CSeq: 2147483648 INVITE', 'CSeq', 'CSeq'],
    ['Max-Forwards: 256', 'Max-Forwards', 'Max-Forwards'],
    ['Max-Forwards: -1', 'Max-Forwards', 'Max-Forwards'],
    ['To: <sip:bob@biloxi.example.com', 'To', 'To'],
    ['From: "Alice <sip:alice@atlanta.example.com>', 'From', 'From'],
    ['Call-ID: has space', 'Call-ID', 'Call-ID'],
    ['Via: SIP/2.0 pc33.example.com', 'Via', 'Via'],
  ];
  for (const [line, header, name] of cases) {
    const lines = base.filter((l) => !l.startsWith(name + ':'));
    lines.splice(1, 0, line);
    if (name === 'Via') lines.splice(1, 0, 'X-Before: 1');
    const e = error(t, wire(lines));
    t.equal(e.status, 400, line);
    t.equal(e.header, header, `${line}: blames ${header}`);
  }
});

t.test('CSeq method must match the request method (RFC 3261 §8.1.1.5)', async (t) => {
  const e = error(t, wire([...base.filter((l) => !l.startsWith('CSeq')), 'CSeq: 1 BYE']));
  t.equal(e.code, 'DPBX_ERR_SIP_CSEQ_MISMATCH');
  t.equal(e.status, 400);
});

t.test('Content-Length problems', async (t) => {
  t.equal(error(t, wire(base, '', -1 as unknown as number)).code, 'DPBX_ERR_SIP_CONTENT_LENGTH');
  const two = error(t, wire([...base, 'Content-Length: 3'], 'abc', 4));
  t.equal(two.code, 'DPBX_ERR_SIP_CONTENT_LENGTH', 'two different Content-Length values');
  const huge = error(t, wire(base, '', 99999999999));
  t.equal(huge.status, 413);
  t.equal(huge.code, 'DPBX_ERR_SIP_BODY_TOO_LARGE');
});

t.test('limits: each violation is a typed error with its status, never an exception of another kind', async (t) => {
  const big = 'x'.repeat(600);
  const m1 = error(t, wire(base, big), { maxMessageBytes: 512 });
  t.equal(m1.status, 513);
  t.equal(m1.code, 'DPBX_ERR_SIP_TOO_LARGE');
  const m2 = error(t, wire(base, big), { maxBodyBytes: 100 });
  t.equal(m2.status, 413);
  t.equal(m2.code, 'DPBX_ERR_SIP_BODY_TOO_LARGE');
  t.type(m2.responseFor, 'function', 'a 413 can be answered');
  const m3 = error(t, wire([...base, ...Array.from({ length: 20 }, (_, i) => `X-H${i}: ${i}`)]), { maxHeaders: 10 });
  t.equal(m3.status, 513);
  t.match(m3.reason, /header lines/);
  const m4 = error(t, wire([...base, `X-Long: ${'y'.repeat(300)}`]), { maxHeaderLineBytes: 200 });
  t.equal(m4.status, 513);
  const m5 = error(t, wire([...base, 'X-Fold: a', ...Array.from({ length: 10 }, () => ' ' + 'z'.repeat(30))]), { maxHeaderLineBytes: 200 });
  t.equal(m5.status, 513, 'folded lines count after unfolding');
  // The limit counts bytes, folded or not: 70 two-byte characters on continuation lines are 140 + 2 bytes.
  const utf8Fold = ['X-Fold: a', ...Array.from({ length: 7 }, () => ' ' + '\u00e9'.repeat(10))];
  t.equal(error(t, wire([...base, ...utf8Fold]), { maxHeaderLineBytes: 140 }).status, 513, 'UTF-8 folded value over the limit in bytes');
  const ok = parseMessage(wire([...base, ...utf8Fold]), { maxHeaderLineBytes: 160 });
  t.equal(ok.get('X-Fold'), 'a ' + Array.from({ length: 7 }, () => '\u00e9'.repeat(10)).join(' '), 'and unfolded as UTF-8 under it');
  const m6 = error(t, wire([`INVITE sip:${'u'.repeat(300)}@example.com SIP/2.0`, ...base.slice(1)]), { maxUriLength: 100 });
  t.equal(m6.status, 414);
  t.equal(m6.code, 'DPBX_ERR_SIP_URI_TOO_LONG');
  t.type(m6.responseFor, 'function');
  const m7 = error(t, wire([...base, `X-Pad: ${'p'.repeat(500)}`]), { maxHeaderBytes: 400 });
  t.equal(m7.status, 513);
  t.throws(() => parseMessage(wire(base), { maxHeaders: 0 }), TypeError, 'nonsense limits are a programming error');
});

t.test('a header section without its empty line is malformed but answerable over UDP', async (t) => {
  const buf = Buffer.from(base.join(CRLF) + CRLF + 'Content-Length: 0' + CRLF);
  const e = error(t, buf);
  t.equal(e.status, 400);
  t.match(e.reason, /no empty line/);
  t.type(e.responseFor, 'function');
});

t.test('strict mode parses every known header at once; the default defers them to first access', async (t) => {
  const lines = [...base, 'Expires: soon'];
  const lazy = parseMessage(wire(lines));
  t.throws(() => lazy.expires, SipParseError, 'fails on access');
  const e = error(t, wire(lines), { strict: true });
  t.equal(e.header, 'Expires');
  t.type(e.responseFor, 'function');
});

t.test('round trip: parse → serialize → parse keeps the meaning; untouched messages keep their bytes', async (t) => {
  const buf = wire([...base, 'Route: <sip:p1.example.com;lr>', 'X-Thing: a, b', 'Content-Type: application/sdp'], 'v=0\r\n');
  const m = parseMessage(buf) as SipRequest;
  t.equal(Buffer.compare(m.toBuffer(), buf), 0, 'byte-identical while untouched');
  m.setTopVia(Object.assign(m.topVia!, { received: '198.51.100.7' }) as Via);
  const out = m.toBuffer();
  t.not(Buffer.compare(out, buf), 0, 'rebuilt after a change');
  const again = parseMessage(out) as SipRequest;
  t.equal(again.topVia!.received, '198.51.100.7');
  for (const name of ['To', 'From', 'Call-ID', 'CSeq', 'Contact', 'Route', 'X-Thing', 'Content-Type', 'Max-Forwards']) {
    t.equal(again.get(name), m.get(name), `${name} kept`);
  }
  t.equal(again.body.toString(), 'v=0\r\n');
  t.equal(again.uri.toString(), m.uri.toString());
  t.equal(parseMessage(again.toBuffer()).toString(), again.toString(), 'a second round is a fixed point');
});

t.test('the message API: set/append/prepend/remove and Via helpers', async (t) => {
  const m = parseMessage(wire(base)) as SipRequest;
  m.append('Record-Route', '<sip:p2.example.com;lr>');
  m.prepend('Record-Route', '<sip:p1.example.com;lr>');
  t.same(m.recordRoute.map((r) => r.uri.host), ['p1.example.com', 'p2.example.com']);
  t.equal(m.remove('Record-Route'), 2);
  t.same(m.recordRoute, []);
  m.prependVia(new Via('TCP', 'proxy.example.com', 5060, undefined));
  t.equal(m.via.length, 2);
  t.equal(m.topVia!.host, 'proxy.example.com');
  t.equal(m.popVia(), 'SIP/2.0/TCP proxy.example.com:5060');
  t.equal(m.topVia!.host, 'pc33.atlanta.example.com');
  t.throws(() => m.set('X-Bad', 'a\r\nInjected: 1'), TypeError, 'no CRLF injection');
  t.throws(() => m.set('Bad Name', 'x'), TypeError);
  t.throws(() => { m.method = 'IN VITE'; }, TypeError);
});

t.test('createRequest / createResponse (RFC 3261 §8.1.1, §8.2.6.2)', async (t) => {
  const req = createRequest({
    method: 'INVITE', uri: 'sip:bob@example.com', from: { uri: 'sip:alice@example.com', displayName: 'Alice "A"' },
    to: 'sip:bob@example.com', via: 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc', contact: 'sip:alice@192.0.2.1',
    headers: [['Supported', 'replaces']], body: 'v=0\r\n', contentType: 'application/sdp',
  });
  const parsed = parseMessage(req.toBuffer()) as SipRequest;
  t.equal(parsed.maxForwards, 70);
  t.ok(parsed.from!.tag, 'From tag generated');
  t.equal(parsed.from!.displayName, 'Alice "A"', 'display name quoted and escaped');
  t.same(parsed.cseq, { seq: 1, method: 'INVITE' });
  t.ok(parsed.callId!.length >= 32);
  t.equal(parsed.contentType!.mediaType, 'application/sdp');
  t.equal(parsed.contentLength, 5);
  const res = createResponse(parsed, 180, undefined, { toTag: 'srv1' });
  const back = parseMessage(res.toBuffer()) as SipResponse;
  t.equal(back.reason, 'Ringing');
  t.equal(back.to!.tag, 'srv1');
  t.equal(back.from!.tag, parsed.from!.tag);
  t.equal(back.callId, parsed.callId);
  t.same(back.cseq, parsed.cseq);
  t.equal(back.topVia!.branch, 'z9hG4bKabc');
  const inDialog = parseMessage(wire([...base.filter((l) => !l.startsWith('To')), 'To: <sip:bob@biloxi.example.com>;tag=have'])) as SipRequest;
  t.equal((parseMessage(createResponse(inDialog, 200, undefined, { toTag: true }).toBuffer()) as SipResponse).to!.tag, 'have',
    'an existing To tag is kept');
  const trying = createResponse(parseMessage(wire([...base, 'Timestamp: 54'])) as SipRequest, 100);
  t.equal(trying.get('Timestamp'), '54', '100 Trying copies Timestamp (§8.2.6.1)');
  // The same response from a parsed request (wire mode) and from the same request in field mode; answering a parsed
  // request leaves it in wire mode (reading `headers` would not).
  const raw = wire([...base, 'Timestamp: 54', 'Via: SIP/2.0/UDP second.example.com;branch=z9hG4bK2']);
  const inWire = parseMessage(raw) as SipRequest;
  const inFields = parseMessage(raw) as SipRequest;
  void inFields.headers;
  for (const [status, o] of [[100, {}], [180, { toTag: 'x' }], [486, { toTag: true }]] as const) {
    const a = createResponse(inWire, status, undefined, o).toString();
    const b = createResponse(inFields, status, undefined, o).toString();
    t.equal(a.replace(/tag=[0-9a-f]{16}/, 'tag=T'), b.replace(/tag=[0-9a-f]{16}/, 'tag=T'), `${status}: same response in both modes`);
    // The response's To is read without parsing its line (createResponse primes it): same as parsing the text.
    const res = createResponse(inWire, status, undefined, o);
    const to = res.to!;
    const parsedTo = (parseMessage(res.toBuffer()) as SipResponse).to!;
    t.same([to.displayName, Object.entries(to.params), to.uri.toString(), to.toString()],
      [parsedTo.displayName, Object.entries(parsedTo.params), parsedTo.uri.toString(), parsedTo.toString()], `${status}: To as parsed`);
  }
  t.ok((inWire as unknown as { _off?: unknown })._off !== undefined, 'the parsed request is still in wire mode');
  t.ok((inFields as unknown as { _off?: unknown })._off === undefined, '(reading headers switches to field mode)');
});

t.test('an error reason is printable ASCII of at most 200 characters, usable in a reason phrase', async (t) => {
  const plain = 'Malformed To: URI has no valid scheme';
  t.equal(new SipParseError('DPBX_ERR_SIP_PARSE', 400, plain).reason, plain);
  t.equal(new SipParseError('DPBX_ERR_SIP_PARSE', 400, 'bad\r\nX-Injected: 1 \u00e9\u0000~').reason, 'bad??X-Injected: 1 ??~');
  t.equal(new SipParseError('DPBX_ERR_SIP_PARSE', 400, 'a'.repeat(250)).reason, 'a'.repeat(200));
  t.equal(new SipParseError('DPBX_ERR_SIP_PARSE', 400, 'b'.repeat(199) + '\u0007' + 'c'.repeat(9)).reason, 'b'.repeat(199) + '?');
  t.equal(new SipParseError('DPBX_ERR_SIP_PARSE', 400, 'x\u007f').message, 'x\u007f', 'message keeps the text as given');
});

t.test('a request\'s Content-Type is checked at parse time and parsed when read', async (t) => {
  // Malformed in each way the media-type grammar can fail: a 400 naming Content-Type, answerable.
  for (const v of ['application', 'application/', '/sdp', 'application sdp', 'application/sdp;', 'application/sdp;;a=1',
    'application/sdp; charset="utf-8', 'application/sdp; charset=', 'application/sdp x', 'app{x}/sdp']) {
    const e = error(t, wire([...base, `Content-Type: ${v}`], 'v=0\r\n'));
    t.equal(e.status, 400, `${v}: 400`);
    t.equal(e.header, 'Content-Type', `${v}: names the header`);
    t.type(e.responseFor, 'function', `${v}: answerable`);
  }
  // Valid ones (any case, LWS, parameters, the compact form, UTF-8 elsewhere in the message) read back whole.
  const cases: Array<[string, string, Record<string, string | null>]> = [
    ['Content-Type: application/sdp', 'application/sdp', {}],
    ['Content-Type: Application/SDP ; charset = "utf-8";level=1;x', 'application/sdp', { charset: '"utf-8"', level: '1', x: null }],
    ['c: multipart/mixed;boundary=unique-boundary-1', 'multipart/mixed', { boundary: 'unique-boundary-1' }],
    ['Content-Type: message/sipfrag;version=2.0', 'message/sipfrag', { version: '2.0' }],
  ];
  for (const [line, mediaType, params] of cases) {
    for (const extra of [[], ['Subject: caf\u00e9']]) {
      const m = parseMessage(wire([...base, ...extra, line], 'v=0\r\n'));
      t.equal(m.contentType!.mediaType, mediaType, `${line} ${extra.length ? '(UTF-8 message)' : ''}: media type`);
      t.same({ ...m.contentType!.params }, params, `${line}: params`);
      t.equal(m.contentType, m.contentType, 'cached');
    }
  }
  // Two different Content-Type lines are an error; the same line twice is not.
  t.equal(error(t, wire([...base, 'Content-Type: application/sdp', 'Content-Type: text/plain'], 'v=0\r\n')).header, 'Content-Type');
  t.equal(parseMessage(wire([...base, 'Content-Type: application/sdp', 'Content-Type: application/sdp'], 'v=0\r\n')).contentType!.subtype, 'sdp');
});

t.test('From, To and Contact with UTF-8 (display names, parameters) read as the string parser reads the decoded value', async (t) => {
  const from = '"Jürgen Müller" <sip:j@example.com>;tag=äb;x="日本"';
  const to = 'Élodie <sip:e@example.com>';
  const contact = '"É" <sip:e@192.0.2.1>;expires=5';
  const folded = '"Zoë"\r\n <sip:z@example.com>';
  const m = parseMessage(Buffer.from([
    'MESSAGE sip:bob@example.com SIP/2.0', 'Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1', `From: ${from}`, `To: ${to}`,
    'Call-ID: u1', 'CSeq: 1 MESSAGE', 'Max-Forwards: 70', `Contact: ${contact}`, `Contact: ${folded}`, 'Subject: 😀', 'Content-Length: 0', '', '',
  ].join('\r\n'), 'utf8')) as SipRequest;
  t.equal(m.from!.displayName, 'Jürgen Müller');
  t.equal(m.from!.tag, 'äb');
  t.equal(m.from!.params['x'], '"日本"');
  t.equal(m.to!.displayName, 'Élodie', 'unquoted display name (the string parser reads it)');
  t.same(m.contact, [parseNameAddr(contact, 'Contact'), parseNameAddr('"Zoë" <sip:z@example.com>', 'Contact')]);
  t.same(m.from, parseNameAddr(from, 'From'));
  t.equal(m.get('From'), from, 'the value as text');
  t.equal(m.get('Subject'), '😀');
  t.equal(m.from!.uri.host, 'example.com');
});

t.test('core headers are found wherever they are: first lines, past the 31st line, repeated, in compact form', async (t) => {
  const filler = (n: number): string[] => Array.from({ length: n }, (_v, k) => `X-Filler-${k}: ${k}`);
  for (const before of [0, 5, 29, 30, 31, 40]) {
    const lines = ['OPTIONS sip:bob@example.com SIP/2.0', ...filler(before), 'v: SIP/2.0/UDP a.example.com;branch=z9hG4bKfirst',
      ...filler(before === 0 ? 0 : 2), 'Via: SIP/2.0/UDP b.example.com;branch=z9hG4bKsecond', 'f: <sip:a@example.com>;tag=f1',
      'To: <sip:bob@example.com>', 'i: call-1', 'CSeq: 4 OPTIONS', 'Max-Forwards: 9', 'Content-Length: 0', '', ''];
    const m = parseMessage(Buffer.from(lines.join('\r\n'))) as SipRequest;
    t.equal(m.topVia!.branch, 'z9hG4bKfirst', `${before} lines before: top Via`);
    t.same(m.via.map((v) => v.host), ['a.example.com', 'b.example.com'], `${before}: every Via`);
    t.equal(m.from!.tag, 'f1');
    t.equal(m.to!.uri.user, 'bob');
    t.equal(m.callId, 'call-1');
    t.equal(m.cseq!.seq, 4);
    t.equal(m.maxForwards, 9);
    t.equal(m.get('X-Filler-0'), before > 0 ? '0' : undefined);
    // After a change the message is in field mode: the same answers.
    m.remove('X-Filler-0');
    t.equal(m.getAll('Via').length, 2);
    t.equal(m.callId, 'call-1');
  }
});
