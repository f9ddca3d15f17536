/**
 * RFC 4475 — SIP Torture Test Messages. One test per message (all 49): each valid message parses and the test
 * checks the values the RFC calls tricky; each invalid one is rejected (with the status the RFC asks for, and an
 * answer when the request is readable enough) or parsed and flagged, exactly as §3.1.2, §3.2 and §3.3 say.
 */
import t, { type Test } from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import {
  parseMessage,
  tryParseMessage,
  parseUri,
  SipParseError,
  SipRequest,
  SipResponse,
  isKnownMethod,
  type ParseOptions,
  type SipMessageAny,
} from '../../../sip-stack/message/index.js';
import { fixturePath } from '../../helpers/env.js';

const load = (name: string): Buffer => readFileSync(fixturePath('rfc4475', `${name}.dat`));

function req(name: string, opts?: ParseOptions): SipRequest {
  const m = parseMessage(load(name), opts);
  if (!(m instanceof SipRequest)) throw new Error(`${name} is not a request`);
  return m;
}

function res(name: string, opts?: ParseOptions): SipResponse {
  const m = parseMessage(load(name), opts);
  if (!(m instanceof SipResponse)) throw new Error(`${name} is not a response`);
  return m;
}

/** The error the parser throws for `buf` (fails the test when it parses or throws anything else). */
function parseError(t: Test, buf: Buffer, opts?: ParseOptions): SipParseError {
  try {
    parseMessage(buf, opts);
  } catch (e) {
    t.ok(e instanceof SipParseError, 'fails with SipParseError only');
    return e as SipParseError;
  }
  t.fail('parsed, but must be rejected');
  return new SipParseError('DPBX_ERR_SIP_PARSE', 0, 'none');
}

interface Rejection {
  status: number;
  code?: string;
  header?: string;
  /** Whether the request is readable enough to answer (an error response can be built). */
  answer: boolean;
  opts?: ParseOptions;
}

/** Asserts the rejection; for answerable requests also checks the wire answer (status, copied Via/CSeq). */
function rejects(t: Test, name: string, r: Rejection): SipParseError {
  const e = parseError(t, load(name), r.opts);
  t.equal(e.status, r.status, `${name}: status ${r.status}`);
  if (r.code !== undefined) t.equal(e.code, r.code, `${name}: code ${r.code}`);
  if (r.header !== undefined) t.equal(e.header, r.header, `${name}: blames ${r.header}`);
  if (!r.answer) {
    t.equal(e.responseFor, undefined, `${name}: not answerable (dropped and counted)`);
    return e;
  }
  t.type(e.responseFor, 'function', `${name}: answerable`);
  // The answer copies the request's Via, From, To, Call-ID and CSeq verbatim (RFC 3261 §8.2.6.2), malformed
  // or not, so it is checked as text.
  const wire = e.responseFor!().toString('utf8');
  t.match(wire, new RegExp(`^SIP/2\\.0 ${r.status} \\S`), `${name}: the answer is a ${r.status} with a reason phrase`);
  const orig = load(name).toString('utf8');
  const cseqLine = /\r\nCSeq:[ \t]*([^\r]*)/i.exec(orig);
  if (cseqLine) t.ok(wire.includes(`\r\nCSeq: ${cseqLine[1]!.trim()}\r\n`), `${name}: CSeq copied into the answer`);
  const viaLine = /\r\nVia:[ \t]*([^\r]*)/i.exec(orig);
  if (viaLine) t.ok(wire.includes(`\r\nVia: ${viaLine[1]!.trim()}\r\n`), `${name}: top Via copied into the answer`);
  t.ok(wire.endsWith('\r\nContent-Length: 0\r\n\r\n'), `${name}: no body in the answer`);
  return e;
}

const all = readdirSync(fixturePath('rfc4475')).filter((f) => f.endsWith('.dat')).map((f) => f.slice(0, -4)).sort();
const covered = new Set<string>();
function torture(name: string, section: string, title: string, fn: (t: Test) => void | Promise<void>): void {
  covered.add(name);
  t.test(`${section} ${name}: ${title}`, async (t) => {
    await fn(t);
  });
}

// ------------------------------------------------------------------------------------------------ 3.1.1

torture('wsinv', '3.1.1.1', 'A short tortuous INVITE', (t) => {
  const m = req('wsinv', { strict: true });
  t.equal(m.method, 'INVITE');
  t.equal(m.uri.user, 'vivekg');
  t.equal(m.uri.host, 'chair-dnrc.example.com');
  t.same(Object.entries(m.uri.params), [['unknownparam', null]]);
  // "TO :\r\n sip:... ;   tag    = 1918181833n": folded, odd case, LWS around ';' and '='.
  t.equal(m.to!.tag, '1918181833n');
  t.equal(m.to!.uri.toString(), 'sip:vivekg@chair-dnrc.example.com');
  // from   : "J Rosenberg \\\""  <...>\r\n  ;\r\n  tag = 98asjd8
  t.equal(m.from!.displayName, 'J Rosenberg \\"');
  t.equal(m.from!.tag, '98asjd8');
  t.equal(m.maxForwards, 68, 'MaX-fOrWaRdS: 0068');
  t.equal(m.callId, 'wsinv.ndaksdj@192.0.2.1');
  t.same(m.cseq, { seq: 9, method: 'INVITE' }, 'cseq: 0009 folded onto INVITE');
  t.equal(m.contentLength, 150, 'Content-Length   : 150');
  t.equal(m.body.length, 150);
  t.equal(m.contentType!.mediaType, 'application/sdp');
  const via = m.via;
  t.equal(via.length, 3, 'one Via line folded over three lines + a two-element v: list');
  t.same(via.map((v) => [v.transport, v.host, v.branch]), [
    ['UDP', '192.0.2.2', '390skdjuw'],
    ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
    ['UDP', '192.168.255.111', 'z9hG4bK30239'],
  ]);
  t.equal(via[0]!.isRfc3261Branch, false, 'branch without the magic cookie');
  t.equal(m.get('Subject'), '', '"s :" is an empty Subject');
  t.equal(m.get('NewFangledHeader'), 'newfangled value continued newfangled value', 'folded unknown header unfolded');
  t.equal(m.get('UnknownHeaderWithUnusualValue'), ';;,,;;,;', 'unknown header kept verbatim');
  const route = m.route;
  t.equal(route.length, 1);
  t.same({ ...route[0]!.uri.params }, { lr: null, unknownwith: 'value', 'unknown-no-value': null });
  const contact = m.contact;
  if (contact === '*' || contact === undefined) throw new Error('contact');
  t.equal(contact[0]!.displayName, 'Quoted string ""');
  t.equal(contact[0]!.params['newparam'], 'newvalue');
  t.equal(contact[0]!.params['secondparam'], null);
  t.equal(contact[0]!.q, 0.33);
  t.ok(m.headers.some((h) => h.name === 'To'), 'TO is canonicalised to To');
});

torture('intmeth', '3.1.1.2', 'Wide range of valid characters', (t) => {
  const m = req('intmeth', { strict: true });
  const method = "!interesting-Method0123456789_*+`.%indeed'~";
  t.equal(m.method, method, 'every token character in the method');
  t.equal(isKnownMethod(m.method), false);
  t.same(m.cseq, { seq: 139122385, method });
  t.equal(m.uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  t.equal(m.uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  t.equal(m.uri.host, 'example.com');
  t.equal(m.to!.displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f', 'quoted-pairs of control characters');
  t.equal(m.to!.uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  t.equal(m.from!.displayName, "token1~` token2'+_ token3*%!.-", 'unquoted display name of tokens');
  t.equal(m.from!.params["fromparam''~+*_!.-%"], '"работающий"', 'UTF-8 quoted parameter value');
  t.equal(m.from!.tag, "_token~1'+`*%!-.");
  t.equal(m.callId, 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{', 'Call-ID of word characters');
  t.equal(m.maxForwards, 255);
  t.equal(m.get("extensionHeader-!.%*+_`'~"), '\ufeff大停電', 'UTF-8 value kept byte for byte, BOM included');
});

torture('esc01', '3.1.1.3', 'Valid use of the % escaping mechanism', (t) => {
  const m = req('esc01', { strict: true });
  t.equal(m.uri.user, 'sips:user@example.com', 'escaped Request-URI user');
  t.equal(m.uri.host, 'example.net');
  t.equal(m.to!.uri.user, 'user', '%75se%72 is "user"');
  t.ok(m.to!.uri.equals(parseUri('sip:user@example.com')), 'and compares equal to the unescaped URI');
  t.equal(m.from!.uri.user, 'I have spaces');
  const c = m.contact;
  if (c === '*' || c === undefined) throw new Error('contact');
  t.equal(c[0]!.uri.user, 'caller');
  t.same({ ...c[0]!.uri.params }, { lr: null, name: 'value%41' }, '%6C%72 is lr; %25%34%31 decodes once to %41');
  t.equal(m.body.length, 150);
});

torture('escnull', '3.1.1.4', 'Escaped nulls in URIs', (t) => {
  const m = req('escnull', { strict: true });
  t.equal(m.to!.uri.user, 'null-\x00-null');
  t.equal(m.from!.uri.user, 'null-\x00-null');
  const c = m.contact;
  if (c === '*' || c === undefined) throw new Error('contact');
  t.same(c.map((x) => x.uri.user), ['\x00', '\x00\x00']);
  t.equal(m.contentLength, 0, 'L:0 (compact form, no space)');
});

torture('esc02', '3.1.1.5', 'Use of % when it is not an escape', (t) => {
  const m = req('esc02', { strict: true });
  t.equal(m.method, 'RE%47IST%45R', 'no unescaping in the method');
  t.not(m.method, 'REGISTER');
  t.equal(isKnownMethod(m.method), false, 'an unknown method: the UA answers 501/405');
  t.equal(m.cseq!.method, 'RE%47IST%45R');
  t.equal(m.to!.displayName, '%Z%45', 'no unescaping in a quoted display name');
  t.equal(m.topVia!.branch, 'z9hG4bK209%fzsnel234');
  const c = m.contact;
  if (c === '*' || c === undefined) throw new Error('contact');
  t.same(c.map((x) => x.uri.host), ['host1.example.com', 'host3.example.com'], 'C%6Fntact is not Contact');
  t.equal(m.get('C%6Fntact'), '<sip:alias2@host2.example.com>', 'it is an unknown header kept verbatim');
});

torture('lwsdisp', '3.1.1.6', 'Message with no LWS between display name and <', (t) => {
  const m = req('lwsdisp', { strict: true });
  t.equal(m.from!.displayName, 'caller');
  t.equal(m.from!.uri.toString(), 'sip:caller@example.com');
  t.equal(m.from!.tag, '323');
});

torture('longreq', '3.1.1.7', 'Long values in header fields', (t) => {
  const m = req('longreq', { strict: true });
  t.match(m.to!.displayName, /^I have a user name of (extreme){10} proportion$/);
  t.equal(m.to!.uri.port, 6000);
  t.match(m.to!.uri.params['unknownparam1'], /^verylong(long)+value$/);
  t.match(m.from!.uri.user, /^(amazinglylongcallername){5}$/, 'F: compact From');
  t.ok(m.from!.tag!.length > 150, 'long tag');
  t.match(m.callId, /^longreq\.one(really)+longcallid$/);
  t.equal(m.via.length, 34, '34 Via values in every spelling: Via, v, V, ViA, "V  :", ...');
  t.equal(m.via[0]!.host, 'sip33.example.com');
  t.equal(m.via[33]!.received, '192.0.2.5');
  t.match(m.via[33]!.branch, /^verylong(long)+branchvalue$/);
  const unknown = m.headers.find((h) => h.key.startsWith('unknown-long'));
  t.ok(unknown && unknown.name.length > 80, 'long unknown header name kept');
  t.equal(m.body.length, 150, 'l: 150');
});

torture('dblreq', '3.1.1.8', 'Extra trailing octets in a UDP datagram', (t) => {
  const buf = load('dblreq');
  const m = parseMessage(buf, { strict: true }) as SipRequest;
  t.equal(m.method, 'REGISTER', 'only the first request is taken');
  t.equal(m.body.length, 0, 'Content-Length: 0 ends it; the INVITE after it is ignored');
  t.equal(m.callId, 'dblreq.0ha0isndaksdj99sdfafnl3lk233412', 'I: is the compact Call-ID');
  const wire = m.toString();
  t.notMatch(wire, /INVITE/, 'the trailing INVITE is not part of the message');
  t.ok(wire.endsWith('Content-Length: 0\r\n\r\n'));
});

torture('semiuri', '3.1.1.9', 'Semicolon-separated parameters in URI user part', (t) => {
  const m = req('semiuri', { strict: true });
  t.equal(m.uri.user, 'user;par=u@example.net', 'the ; belongs to the user part (RFC 3261 user-unreserved)');
  t.equal(m.uri.host, 'example.com');
  t.same(Object.keys(m.uri.params), [], 'no URI parameters');
  t.same(m.getAll('Accept'), ['application/sdp', 'application/pkcs7-mime', 'multipart/mixed', 'multipart/signed',
    'message/sip', 'message/sipfrag'], 'folded comma list');
});

torture('transports', '3.1.1.10', 'Varied and unknown transport types', (t) => {
  const m = req('transports', { strict: true });
  t.same(m.via.map((v) => v.transport), ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  t.equal(m.callId, 'transports.kijh4akdnaqjkwendsasfdj');
});

torture('mpart01', '3.1.1.11', 'Multipart MIME message', (t) => {
  const m = req('mpart01', { strict: true });
  t.equal(m.method, 'MESSAGE');
  t.equal(m.contentType!.mediaType, 'multipart/mixed');
  t.equal(m.contentType!.boundary, '7a9cbec02ceef655');
  t.equal(m.body.length, 553, 'binary body taken by Content-Length');
  t.ok(m.body.includes(Buffer.from('--7a9cbec02ceef655--')), 'the closing boundary is inside the body');
  t.ok(m.body.includes(Buffer.from([0x30, 0x82])), 'binary (DER) octets kept');
  t.equal(m.topVia!.rport, null, 'rport flag');
  t.equal(m.date!.toISOString(), '2005-10-15T04:44:56.000Z');
  t.ok(m.get('Identity')!.length > 100);
});

torture('unreason', '3.1.1.12', 'Unusual reason phrase', (t) => {
  const m = res('unreason', { strict: true });
  t.equal(m.status, 200);
  t.equal(m.reason, '= 2**3 * 5**2 но сто девяносто девять - простое', 'UTF-8 reason phrase');
  t.equal(m.body.length, 154);
});

torture('noreason', '3.1.1.13', 'Empty reason phrase', (t) => {
  const m = res('noreason', { strict: true });
  t.equal(m.status, 100);
  t.equal(m.reason, '', '"SIP/2.0 100 " has an empty reason phrase');
  t.equal(m.to!.tag, '902jndnke3');
});

// ------------------------------------------------------------------------------------------------ 3.1.2

torture('badinv01', '3.1.2.1', 'Extraneous header field separators', (t) => {
  // "An element receiving this request should respond with a 400 Bad Request error."
  rejects(t, 'badinv01', { status: 400, header: 'Via', answer: true });
});

torture('clerr', '3.1.2.2', 'Content length larger than message', (t) => {
  // "If this message is received over UDP, the element should respond with a 400 Bad Request error."
  rejects(t, 'clerr', { status: 400, code: 'DPBX_ERR_SIP_BODY_TRUNCATED', answer: true });
});

torture('ncl', '3.1.2.3', 'Negative Content-Length', (t) => {
  // "An element receiving this message should respond with an error. ... 400 Bad Request."
  rejects(t, 'ncl', { status: 400, code: 'DPBX_ERR_SIP_CONTENT_LENGTH', header: 'Content-Length', answer: true });
});

torture('scalar02', '3.1.2.4', 'Request scalar fields with overlarge values', (t) => {
  // "An element receiving this request should respond with a 400 Bad Request due to the CSeq error."
  rejects(t, 'scalar02', { status: 400, header: 'CSeq', answer: true });
  // The other overlarge values are each flagged on their own as well.
  const cseqFixed = load('scalar02').toString('latin1').replace('36893488147419103232', '1');
  const e = parseError(t, Buffer.from(cseqFixed, 'latin1'));
  t.equal(e.header, 'Max-Forwards', 'Max-Forwards: 300 is out of range (0..255) too');
  const mfFixed = cseqFixed.replace('Max-Forwards: 300', 'Max-Forwards: 30');
  const m = parseMessage(Buffer.from(mfFixed, 'latin1')) as SipRequest;
  t.throws(() => m.expires, SipParseError, 'the huge Expires is out of range when read');
  const c = m.contact;
  if (c === '*' || c === undefined) throw new Error('contact');
  t.equal(c[0]!.expires, undefined, 'expires=280297596632815 is not usable as a number of seconds');
});

torture('scalarlg', '3.1.2.5', 'Response scalar fields with overlarge values', (t) => {
  // "An element receiving this response will simply discard it."
  rejects(t, 'scalarlg', { status: 400, header: 'CSeq', answer: false });
});

torture('quotbal', '3.1.2.6', 'Unterminated quoted string in display name', (t) => {
  // "An element receiving this request should return an 400 Bad Request error."
  rejects(t, 'quotbal', { status: 400, header: 'To', answer: true });
});

torture('ltgtruri', '3.1.2.7', '<> enclosing Request-URI', (t) => {
  // "An element receiving this request should respond with a 400 Bad Request."
  rejects(t, 'ltgtruri', { status: 400, header: 'Request-URI', answer: true });
});

torture('lwsruri', '3.1.2.8', 'Malformed SIP Request-URI (embedded LWS)', (t) => {
  // "An element receiving this request should respond with a 400 Bad Request."
  const e = rejects(t, 'lwsruri', { status: 400, code: 'DPBX_ERR_SIP_PARSE', answer: true });
  t.match(e.reason, /whitespace/);
});

torture('lwsstart', '3.1.2.9', 'Multiple SP separating Request-Line elements', (t) => {
  // "It is acceptable to reject this request as malformed."
  const e = rejects(t, 'lwsstart', { status: 400, code: 'DPBX_ERR_SIP_PARSE', answer: true });
  t.match(e.reason, /SP/);
});

torture('trws', '3.1.2.10', 'SP characters at end of Request-Line', (t) => {
  // "It is acceptable to reject this request as malformed."
  const e = rejects(t, 'trws', { status: 400, code: 'DPBX_ERR_SIP_PARSE', answer: true });
  t.match(e.reason, /after the SIP version/);
});

torture('escruri', '3.1.2.11', 'Escaped headers in SIP Request-URI', (t) => {
  // "It is acceptable for an element to reject this request with a 400 Bad Request."
  const e = rejects(t, 'escruri', { status: 400, header: 'Request-URI', answer: true });
  t.match(e.reason, /URI headers/);
});

torture('baddate', '3.1.2.12', 'Invalid time zone in Date header field', (t) => {
  // "It is acceptable to reject this request as malformed (though an element shouldn't do that unless the
  // contents of the Date header field were actually important to its processing)." We accept and flag.
  const m = req('baddate', { strict: true });
  t.equal(m.get('Date'), 'Fri, 01 Jan 2010 16:00:00 EST', 'kept verbatim');
  t.throws(() => m.date, SipParseError, 'but a consumer of Date gets a 400-class error');
  t.equal(m.body.length, 150);
});

torture('regbadct', '3.1.2.13', 'Failure to enclose name-addr URI in <>', (t) => {
  // "It is reasonable for an element receiving this request to respond with a 400 Bad Request."
  rejects(t, 'regbadct', { status: 400, header: 'Contact', answer: true, opts: { strict: true } });
  const lazy = req('regbadct');
  t.throws(() => lazy.contact, SipParseError, 'without strict mode the Contact fails on access');
});

torture('badaspec', '3.1.2.14', 'Spaces within addr-spec', (t) => {
  // "It is reasonable to reject this request with a 400 Bad Request response."
  rejects(t, 'badaspec', { status: 400, header: 'To', answer: true });
});

torture('baddn', '3.1.2.15', 'Non-token characters in display name', (t) => {
  // "It is reasonable always to reject this kind of error with a 400 Bad Request response."
  rejects(t, 'baddn', { status: 400, answer: true });
  // As the RFC prints it (with the empty line the sip@0.0.6 copy lacks), the From display name is the fault.
  const whole = Buffer.concat([load('baddn'), Buffer.from('\r\n')]);
  const e = parseError(t, whole);
  t.equal(e.status, 400);
  t.equal(e.header, 'From', '"Bell, Alexander" without quotes');
  t.type(e.responseFor, 'function');
});

torture('badvers', '3.1.2.16', 'Unknown protocol version', (t) => {
  // "An element receiving this request should respond with a 505 Version Not Supported error."
  rejects(t, 'badvers', { status: 505, code: 'DPBX_ERR_SIP_VERSION', answer: true });
});

torture('mismatch01', '3.1.2.17', 'Start line and CSeq method mismatch', (t) => {
  // "An element receiving this request will respond with a 400 Bad Request."
  rejects(t, 'mismatch01', { status: 400, code: 'DPBX_ERR_SIP_CSEQ_MISMATCH', answer: true });
});

torture('mismatch02', '3.1.2.18', 'Unknown method with CSeq method mismatch', (t) => {
  // "should respond with a 501 Not Implemented. A 400 Bad Request is also acceptable, but choosing a 501 ...
  // has better future-proof characteristics."
  rejects(t, 'mismatch02', { status: 501, code: 'DPBX_ERR_SIP_CSEQ_MISMATCH', answer: true });
});

torture('bigcode', '3.1.2.19', 'Overlarge response code', (t) => {
  // "An element receiving this response will simply discard it."
  rejects(t, 'bigcode', { status: 400, code: 'DPBX_ERR_SIP_PARSE', answer: false });
});

// ------------------------------------------------------------------------------------------------ 3.2

torture('badbranch', '3.2.1', 'Missing transaction identifier', (t) => {
  // "A parser must not break when receiving this message. ... it could fall back to the RFC 2543-style
  // transaction identifier." The branch is the bare magic cookie: not an RFC 3261 transaction id.
  const m = req('badbranch', { strict: true });
  t.equal(m.topVia!.branch, 'z9hG4bK');
  t.equal(m.topVia!.isRfc3261Branch, false, 'flagged for RFC 2543-style matching');
});

// ------------------------------------------------------------------------------------------------ 3.3

torture('insuf', '3.3.1', 'Missing required header fields', (t) => {
  // "An element receiving this message must not break ... Ideally, it will respond with a 400 Bad Request."
  const e = rejects(t, 'insuf', { status: 400, code: 'DPBX_ERR_SIP_MISSING_HEADER', answer: true });
  const wire = e.responseFor!().toString();
  t.notMatch(wire, /\r\n(From|To|Call-ID):/i, 'nothing invented for the missing From, To, Call-ID');
  t.match(wire, /\r\nVia: SIP\/2\.0\/UDP 192\.0\.2\.95;branch=z9hG4bKkdj\.insuf\r\n/, 'the client can match it by branch');
});

torture('unkscm', '3.3.2', 'Request-URI with unknown scheme', (t) => {
  // "should respond with a 416 (Unsupported URI Scheme)": the parser accepts and flags, the UA answers.
  const m = req('unkscm', { strict: true });
  t.equal(m.uri.scheme, 'nobodyknowsthisscheme');
  t.equal(m.uri.isSip, false);
  t.equal(m.uri.opaque, 'totallyopaquecontent');
});

torture('novelsc', '3.3.3', 'Request-URI with known but atypical scheme', (t) => {
  const m = req('novelsc', { strict: true });
  t.equal(m.uri.scheme, 'soap.beep');
  t.equal(m.uri.isSip, false, 'a SIP element answers 416');
  t.equal(m.uri.opaque, '//192.0.2.103:3002');
});

torture('unksm2', '3.3.4', 'Unknown URI schemes in header fields', (t) => {
  // "The message is syntactically valid. Parsers must not fail when receiving this message."
  const m = req('unksm2', { strict: true });
  t.equal(m.to!.uri.scheme, 'isbn', 'a registrar answers 400: the To is not a SIP AOR');
  t.equal(m.from!.uri.scheme, 'http');
  t.equal(m.from!.tag, '3234233');
  const c = m.contact;
  if (c === '*' || c === undefined) throw new Error('contact');
  t.equal(c[0]!.uri.scheme, 'name');
  t.equal(c[0]!.uri.opaque, 'John_Smith');
});

torture('bext01', '3.3.5', 'Proxy-Require and Require', (t) => {
  // "answer 420 (Bad Extension) with an Unsupported header field listing these extensions"
  const m = req('bext01', { strict: true });
  t.same(m.require, ['nothingSupportsThis', 'nothingSupportsThisEither']);
  t.same(m.proxyRequire, ['noProxiesSupportThis', 'norDoAnyProxiesSupportThis']);
  t.equal(m.topVia!.transport, 'TLS');
});

torture('invut', '3.3.6', 'Unknown Content-Type', (t) => {
  // "should respond with a 415 Unsupported Media Type" (UA decision): the type is readable.
  const m = req('invut', { strict: true });
  t.equal(m.contentType!.mediaType, 'application/unknownformat');
  t.equal(m.body.length, 40);
});

torture('regaut01', '3.3.7', 'Unknown authorization scheme', (t) => {
  // A registrar answers 401 with a challenge it supports: the scheme is readable and unknown.
  const m = req('regaut01', { strict: true });
  t.equal(m.authorization.length, 1);
  t.equal(m.authorization[0]!.scheme, 'NoOneKnowsThisScheme');
  t.equal(m.authorization[0]!.params['opaque-data'], 'here');
  t.equal(m.contentLength, 0, 'Content-Length:0 without a space');
});

torture('multi01', '3.3.8', 'Multiple values in single value required fields', (t) => {
  // "An element receiving this request would respond with a 400 Bad Request error."
  rejects(t, 'multi01', { status: 400, code: 'DPBX_ERR_SIP_BAD_HEADER', answer: true });
});

torture('mcl01', '3.3.9', 'Multiple Content-Length values', (t) => {
  // "An element receiving this message should respond with a 400 Bad Request error."
  rejects(t, 'mcl01', { status: 400, code: 'DPBX_ERR_SIP_CONTENT_LENGTH', header: 'Content-Length', answer: true });
});

torture('bcast', '3.3.10', '200 OK response with broadcast Via header field value', (t) => {
  // "The message is well formed; parsers must not fail ... proxies should drop such responses."
  const m = res('bcast', { strict: true });
  t.equal(m.status, 200);
  t.equal(m.via.length, 2);
  t.equal(m.via[1]!.host, '255.255.255.255', 'the broadcast sent-by is visible to the layer that drops it');
});

torture('zeromf', '3.3.11', 'Max-Forwards of zero', (t) => {
  // A proxy answers 483; a UA may process it (an OPTIONS answered 200).
  const m = req('zeromf', { strict: true });
  t.equal(m.maxForwards, 0);
  t.equal(m.method, 'OPTIONS');
});

torture('cparam01', '3.3.12', 'REGISTER with a Contact header parameter', (t) => {
  // Without <>, ";unknownparam" is a Contact header parameter, not a URI parameter.
  const m = req('cparam01', { strict: true });
  const c = m.contact;
  if (c === '*' || c === undefined) throw new Error('contact');
  t.equal(c[0]!.uri.user, '+19725552222');
  t.same(Object.keys(c[0]!.uri.params), [], 'no URI parameter');
  t.equal(c[0]!.params['unknownparam'], null, 'a header parameter');
});

torture('cparam02', '3.3.13', 'REGISTER with a URL parameter', (t) => {
  const m = req('cparam02', { strict: true });
  const c = m.contact;
  if (c === '*' || c === undefined) throw new Error('contact');
  t.equal(c[0]!.uri.params['unknownparam'], null, 'inside <>: a URI parameter');
  t.same(Object.keys(c[0]!.params), [], 'no header parameter');
  t.equal(c[0]!.uri.toString(), 'sip:+19725552222@gw1.example.net;unknownparam', 'kept in the binding');
});

torture('regescrt', '3.3.14', 'REGISTER with a URL escaped header', (t) => {
  // "a subsequent retrieval of the registration must include the escaped Route header in the contact URI"
  const m = req('regescrt', { strict: true });
  const c = m.contact;
  if (c === '*' || c === undefined) throw new Error('contact');
  t.same({ ...c[0]!.uri.headers }, { Route: '<sip:sip.example.com>' }, 'M: compact Contact, decoded URI header');
  t.equal(c[0]!.uri.toString(), 'sip:user@example.com?Route=%3Csip:sip.example.com%3E', 're-escaped on output');
});

torture('sdp01', '3.3.15', 'Unacceptable Accept offering', (t) => {
  // "could respond with a 406 Not Acceptable": the Accept list is readable.
  const m = req('sdp01', { strict: true });
  t.same(m.getAll('Accept'), ['text/nobodyKnowsThis']);
  t.equal(m.contentType!.mediaType, 'application/sdp');
});

// ------------------------------------------------------------------------------------------------ 3.4

torture('inv2543', '3.4.1', 'INVITE with RFC 2543 syntax', (t) => {
  // "This is a legal message per RFC 2543 ... An element receiving it should respond as it would to any INVITE."
  const m = req('inv2543', { strict: true });
  t.equal(m.topVia!.branch, undefined, 'no branch');
  t.equal(m.topVia!.isRfc3261Branch, false);
  t.equal(m.get('Max-Forwards'), undefined, 'no Max-Forwards');
  t.equal(m.from!.tag, undefined, 'no From tag');
  t.equal(m.from!.uri.params['user'], 'phone');
  t.equal(m.recordRoute[0]!.uri.params['maddr'], 'ss1.example.com');
  t.ok(m.body.length > 0, 'no Content-Length: the body runs to the end of the datagram');
});

// ------------------------------------------------------------------------------------------------ all of them

t.test('every message of the corpus is asserted above, and there are 49', async (t) => {
  t.equal(all.length, 49, 'RFC 4475 has 49 messages');
  t.same(all.filter((n) => !covered.has(n)), [], 'no message without its own test');
  t.equal(covered.size, 49);
});

t.test('tryParseMessage: the same outcome as parseMessage for every message, returned instead of thrown', async (t) => {
  for (const name of all) {
    for (const opts of [undefined, { strict: true }]) {
      let thrown: unknown;
      let parsed: SipMessageAny | undefined;
      try {
        parsed = parseMessage(load(name), opts);
      } catch (e) {
        thrown = e;
      }
      const r = tryParseMessage(load(name), opts);
      const mode = opts ? 'strict' : 'default';
      if (thrown === undefined) {
        t.ok(r instanceof SipRequest || r instanceof SipResponse, `${name} (${mode}): parsed by both`);
        t.equal(r.toString(), parsed!.toString(), `${name} (${mode}): same message`);
        continue;
      }
      if (!(r instanceof SipParseError) || !(thrown instanceof SipParseError)) {
        t.fail(`${name} (${mode}): rejected by parseMessage but not returned as an error by tryParseMessage`);
        continue;
      }
      t.same([r.code, r.status, r.reason, r.header], [thrown.code, thrown.status, thrown.reason, thrown.header],
        `${name} (${mode}): same error`);
      t.equal(typeof r.responseFor, typeof thrown.responseFor, `${name} (${mode}): answerable alike`);
      if (r.responseFor && thrown.responseFor) {
        t.equal(r.responseFor().toString().split('\r\n')[0], thrown.responseFor().toString().split('\r\n')[0],
          `${name} (${mode}): same answer`);
      }
    }
  }
});

t.test('every message: only SipParseError, and every parsed one survives serialize → parse', async (t) => {
  for (const name of all) {
    let m: SipMessageAny;
    try {
      m = parseMessage(load(name));
    } catch (e) {
      t.ok(e instanceof SipParseError, `${name}: typed error`);
      continue;
    }
    const again = parseMessage(m.toBuffer());
    t.equal(again.toString(), m.toString(), `${name}: round trip is stable`);
    if (m instanceof SipRequest) {
      // Change one header so the serializer builds the message anew instead of returning the original bytes.
      m.set('Max-Forwards', 9);
      const rebuilt = parseMessage(m.toBuffer()) as SipRequest;
      t.equal(rebuilt.method, m.method, `${name}: method kept`);
      t.equal(rebuilt.get('Call-ID'), m.get('Call-ID'), `${name}: Call-ID kept`);
      t.equal(rebuilt.getAll('Via').length, m.getAll('Via').length, `${name}: Via values kept`);
      t.equal(Buffer.compare(rebuilt.body, m.body), 0, `${name}: body kept`);
    }
  }
});
