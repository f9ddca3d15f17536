/**
 * Typed header values: SIP/SIPS/tel URIs (RFC 3261 §19.1, RFC 3966), name-addr / addr-spec (§20.10), Via with
 * rport/received (§20.42, RFC 3581), Contact `*`, auth headers (RFC 7616), Reason (RFC 3326), Refer-To /
 * Referred-By / Replaces (RFC 3515, 3892, 3891), Event / Subscription-State (RFC 6665), RSeq / RAck (RFC 3262).
 */
import t from 'tap';
import {
  parseUri,
  parseNameAddr,
  parseVia,
  parseCSeq,
  parseAuth,
  parseContentType,
  parseReason,
  parseReplaces,
  parseEvent,
  parseSubscriptionState,
  parseRAck,
  parseMessage,
  parseSipDate,
  percentDecode,
  splitList,
  SipParseError,
  SipRequest,
} from '../../../sip-stack/message/index.js';

t.test('SIP URI: user, password, host, port, params, headers', async (t) => {
  const u = parseUri('sip:alice:secret@atlanta.example.com:5061;transport=TCP;lr;maddr=239.255.255.1?subject=project&priority=urgent');
  t.equal(u.scheme, 'sip');
  t.equal(u.user, 'alice');
  t.equal(u.password, 'secret');
  t.equal(u.host, 'atlanta.example.com');
  t.equal(u.port, 5061);
  t.equal(u.transport, 'tcp');
  t.same({ ...u.params }, { transport: 'TCP', lr: null, maddr: '239.255.255.1' });
  t.same({ ...u.headers }, { subject: 'project', priority: 'urgent' });
  t.equal(parseUri(u.toString()).toString(), u.toString(), 'serialize → parse is stable');
});

t.test('SIPS URI and case-insensitive scheme', async (t) => {
  const u = parseUri('SIPS:bob@Biloxi.Example.COM');
  t.equal(u.scheme, 'sips');
  t.equal(u.isSip, true);
  t.equal(u.hostname, 'biloxi.example.com');
});

t.test('IPv6 hosts keep their brackets; hostname strips them', async (t) => {
  const u = parseUri('sip:carol@[2001:db8::10]:5070;transport=udp');
  t.equal(u.host, '[2001:db8::10]');
  t.equal(u.hostname, '2001:db8::10');
  t.equal(u.port, 5070);
  t.equal(parseUri('sip:[::1]').hostname, '::1');
  t.equal(parseUri('sip:[::ffff:192.0.2.1]').hostname, '::ffff:192.0.2.1');
  t.throws(() => parseUri('sip:[2001:db8::zz]'), SipParseError);
  t.throws(() => parseUri('sip:[2001:db8::1'), SipParseError);
});

t.test('%-escapes are decoded in user, password, params and headers and re-escaped on output', async (t) => {
  const u = parseUri('sip:%61lice%20smith@example.com;na%6De=v%61l%3B;x?h%65ader=a%26b');
  t.equal(u.user, 'alice smith');
  t.equal(u.params['name'], 'val;');
  t.equal(u.headers['header'], 'a&b');
  t.equal(u.toString(), 'sip:alice%20smith@example.com;name=val%3B;x?header=a%26b');
  t.equal(percentDecode('%E2%82%AC'), '€', 'UTF-8 escapes');
  t.equal(percentDecode('100%'), '100%', 'a lone % stays');
  t.equal(percentDecode('%zz'), '%zz', 'a malformed escape stays');
});

t.test('URI comparison (RFC 3261 §19.1.4)', async (t) => {
  t.ok(parseUri('sip:%61lice@atlanta.com;transport=TCP').equals(parseUri('sip:alice@AtLanTa.CoM;Transport=tcp')));
  t.notOk(parseUri('sip:alice@atlanta.com').equals(parseUri('sip:ALICE@atlanta.com')), 'user is case-sensitive');
  t.notOk(parseUri('sip:bob@biloxi.com').equals(parseUri('sip:bob@biloxi.com:5060')), 'an explicit port differs');
  t.notOk(parseUri('sip:bob@biloxi.com;transport=udp').equals(parseUri('sip:bob@biloxi.com')), 'transport in one only');
  t.ok(parseUri('sip:carol@chicago.com;security=on').equals(parseUri('sip:carol@chicago.com')), 'other params only when in both');
  t.notOk(parseUri('sip:carol@chicago.com;security=on').equals(parseUri('sip:carol@chicago.com;security=off')));
  t.notOk(parseUri('sip:a@b').equals(parseUri('sips:a@b')));
});

t.test('tel URIs (RFC 3966)', async (t) => {
  const g = parseUri('tel:+1-201-555-0123');
  t.equal(g.scheme, 'tel');
  t.equal(g.user, '+1-201-555-0123');
  t.equal(g.host, '');
  const l = parseUri('tel:7042;phone-context=example.com;ext=22');
  t.equal(l.user, '7042');
  t.equal(l.params['phone-context'], 'example.com');
  t.equal(l.params['ext'], '22');
  t.equal(l.toString(), 'tel:7042;phone-context=example.com;ext=22');
  t.throws(() => parseUri('tel:'), SipParseError);
});

t.test('other schemes are kept opaque; malformed URIs are SipParseErrors', async (t) => {
  const u = parseUri('urn:service:sos');
  t.equal(u.scheme, 'urn');
  t.equal(u.opaque, 'service:sos');
  t.equal(u.toString(), 'urn:service:sos');
  for (const bad of ['', 'sip:', 'nocolon', 'sip:@host', 'sip:a@host:99999', 'sip:a@host:12x', 'sip:a b@c', '1sip:x', 'sip:a@b?x']) {
    t.throws(() => parseUri(bad), SipParseError, JSON.stringify(bad));
  }
});

t.test('name-addr: quoted display names with escapes, unquoted tokens, addr-spec header params', async (t) => {
  const a = parseNameAddr('"Alice \\"The Boss\\" \\\\ Smith" <sip:alice@atlanta.com>;tag=88sja8x', 'From');
  t.equal(a.displayName, 'Alice "The Boss" \\ Smith');
  t.equal(a.tag, '88sja8x');
  t.equal(parseNameAddr(a.toString(), 'From').displayName, a.displayName, 'quoted again on output');
  const b = parseNameAddr('Bob   Smith <sip:bob@biloxi.com>', 'To');
  t.equal(b.displayName, 'Bob Smith');
  const c = parseNameAddr('sip:carol@chicago.com;tag=1;transport=tcp', 'To');
  t.equal(c.tag, '1', 'without <>, parameters belong to the header (RFC 3261 §20.10)');
  t.equal(c.params['transport'], 'tcp');
  t.same(Object.keys(c.uri.params), []);
  const d = parseNameAddr('<sip:carol@chicago.com;transport=tcp>;tag=1', 'To');
  t.equal(d.uri.transport, 'tcp');
  t.equal(d.tag, '1');
  const e = parseNameAddr('"Ünïcødé" <sip:u@example.com>', 'From');
  t.equal(e.displayName, 'Ünïcødé');
  for (const bad of ['"unterminated <sip:a@b>', '<sip:a@b', 'sip:a@b?x=y', 'x y z', '<sip:a@b> trailing']) {
    t.throws(() => parseNameAddr(bad, 'To'), SipParseError, bad);
  }
});

t.test('Contact: *, expires, q; the wildcard must stand alone', async (t) => {
  const lines = ['REGISTER sip:example.com SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bKr', 'To: <sip:a@example.com>',
    'From: <sip:a@example.com>;tag=1', 'Call-ID: c', 'CSeq: 1 REGISTER'];
  const mk = (...extra: string[]) => parseMessage(Buffer.from([...lines, ...extra, 'Content-Length: 0', '', ''].join('\r\n'))) as SipRequest;
  t.equal(mk('Contact: *', 'Expires: 0').contact, '*');
  t.equal(mk('Contact: *', 'Expires: 0').expires, 0);
  const m = mk('Contact: <sip:a@192.0.2.1>;expires=3600;q=0.7, <sip:a@192.0.2.2>;q=1.0;expires=60');
  const c = m.contact;
  if (c === '*' || c === undefined) throw new Error('contact');
  t.same(c.map((x) => [x.expires, x.q]), [[3600, 0.7], [60, 1]]);
  t.throws(() => mk('Contact: *, <sip:a@b>').contact, SipParseError);
  t.throws(() => mk('Contact: *', 'Contact: <sip:a@b>').contact, SipParseError);
  t.equal(mk().contact, undefined);
});

t.test('Via: all parameters, rport (flag and value), received, IPv6 sent-by, LWS', async (t) => {
  const v = parseVia('SIP / 2.0 / UDP   [2001:db8::1] : 5060 ;branch=z9hG4bK74bf9;rport;received=192.0.2.4;maddr=224.2.0.1;ttl=16;x-custom="q v"');
  t.equal(v.protocol, 'SIP');
  t.equal(v.version, '2.0');
  t.equal(v.transport, 'UDP');
  t.equal(v.host, '[2001:db8::1]');
  t.equal(v.hostname, '2001:db8::1');
  t.equal(v.port, 5060);
  t.equal(v.branch, 'z9hG4bK74bf9');
  t.equal(v.isRfc3261Branch, true);
  t.equal(v.rport, null, 'rport without value: a request for it (RFC 3581)');
  t.equal(v.received, '192.0.2.4');
  t.equal(v.maddr, '224.2.0.1');
  t.equal(v.ttl, 16);
  t.equal(v.params['x-custom'], '"q v"');
  v.rport = 40000;
  v.received = '198.51.100.1';
  const again = parseVia(v.toString());
  t.equal(again.rport, 40000);
  t.equal(again.received, '198.51.100.1');
  t.equal(parseVia('SIP/2.0/tls h.example.com').transport, 'TLS');
  for (const bad of ['SIP/2.0 host', 'SIP/2.0/UDP', 'SIP/2.0/UDP host:70000', 'SIP/2.0/UDP [::1', 'SIP/2.0/UDP host;', 'SIP/2.0/UDP host junk']) {
    t.throws(() => parseVia(bad), SipParseError, bad);
  }
});

t.test('CSeq and Call-ID', async (t) => {
  t.same(parseCSeq('4711 INVITE'), { seq: 4711, method: 'INVITE' });
  t.same(parseCSeq(' 0  ACK '), { seq: 0, method: 'ACK' });
  for (const bad of ['INVITE', '1', '1INVITE', '2147483648 INVITE', '-1 INVITE', '1 INVITE extra']) {
    t.throws(() => parseCSeq(bad), SipParseError, bad);
  }
});

t.test('auth headers: challenges and credentials, quoted values with commas and escapes', async (t) => {
  const c = parseAuth('Digest realm="atlanta.com",domain="sip:ss1.carrier.com", qop="auth,auth-int",nonce="f84f1cec41e6cbe5aea9c8e88d359",opaque="", stale=FALSE, algorithm=MD5', 'WWW-Authenticate');
  t.equal(c.scheme, 'Digest');
  t.equal(c.realm, 'atlanta.com');
  t.equal(c.params['qop'], 'auth,auth-int');
  t.equal(c.params['opaque'], '');
  t.equal(c.params['stale'], 'FALSE');
  t.equal(c.algorithm, 'MD5');
  const a = parseAuth('Digest username="bob", realm="biloxi.com", nonce="dcd98b", uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"', 'Authorization');
  t.equal(a.username, 'bob');
  t.equal(a.params['nc'], '00000001');
  t.equal(a.params['uri'], 'sip:bob@biloxi.com');
  const round = parseAuth(a.toString(), 'Authorization');
  t.same({ ...round.params }, { ...a.params }, 'serialize keeps every parameter');
  t.match(a.toString(), /username="bob"/);
  t.match(a.toString(), /qop=auth,/, 'unquoted stays unquoted');
  t.equal(parseAuth('Digest realm="a\\"b"', 'WWW-Authenticate').realm, 'a"b');
  const basic = parseAuth('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==', 'Authorization');
  t.equal(basic.token68, 'QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  for (const bad of ['', 'Digest realm=x, =y', 'Digest realm="x', 'Digest realm="x" nonce="y"']) {
    t.throws(() => parseAuth(bad, 'Authorization'), SipParseError, bad);
  }
});

t.test('Content-Type, Expires, Supported / Require / Unsupported / Allow', async (t) => {
  const ct = parseContentType('Multipart/Mixed ; boundary="b1 x" ;charset=utf-8');
  t.equal(ct.mediaType, 'multipart/mixed');
  t.equal(ct.boundary, 'b1 x');
  t.equal(ct.params['charset'], 'utf-8');
  t.throws(() => parseContentType('text'), SipParseError);
  const lines = ['OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bKo', 'To: <sip:a@b>', 'From: <sip:c@d>;tag=1',
    'Call-ID: o', 'CSeq: 1 OPTIONS', 'Supported: 100rel, timer', 'Require: replaces', 'Unsupported: foo', 'Allow: INVITE,ACK , BYE',
    'Expires: 4294967295', 'Min-Expires: 60'];
  const m = parseMessage(Buffer.from([...lines, 'Content-Length: 0', '', ''].join('\r\n'))) as SipRequest;
  t.same(m.supported, ['100rel', 'timer']);
  t.same(m.require, ['replaces']);
  t.same(m.unsupported, ['foo']);
  t.same(m.allow, ['INVITE', 'ACK', 'BYE']);
  t.equal(m.expires, 4294967295);
  t.equal(m.minExpires, 60);
  const bad = parseMessage(Buffer.from([...lines.slice(0, 6), 'Supported: a b', 'Expires: 4294967296', 'Content-Length: 0', '', ''].join('\r\n')));
  t.throws(() => bad.supported, SipParseError, 'a list element that is not a token');
  t.throws(() => bad.expires, SipParseError, 'Expires above 2^32-1');
});

t.test('Reason (RFC 3326)', async (t) => {
  const r = parseReason('SIP ;cause=200 ;text="Call completed elsewhere"');
  t.same([r.protocol, r.cause, r.text], ['SIP', 200, 'Call completed elsewhere']);
  const q = parseReason('Q.850;cause=16;text="Terminated"');
  t.same([q.protocol, q.cause], ['Q.850', 16]);
  t.equal(splitList('SIP;cause=480;text="a, b", Q.850;cause=18').map(parseReason).length, 2, 'commas inside the quoted text');
  t.throws(() => parseReason('SIP;cause=abc'), SipParseError);
});

t.test('Refer-To with embedded Replaces, Referred-By, Replaces (RFC 3515, 3892, 3891)', async (t) => {
  const rt = parseNameAddr('<sip:dave@denver.example.org?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>', 'Refer-To');
  t.equal(rt.uri.user, 'dave');
  const embedded = rt.uri.headers['Replaces']!;
  t.equal(embedded, '12345@192.168.118.3;to-tag=12345;from-tag=5FFE-3994');
  const rep = parseReplaces(embedded);
  t.same([rep.callId, rep.toTag, rep.fromTag, rep.earlyOnly], ['12345@192.168.118.3', '12345', '5FFE-3994', false]);
  t.equal(parseReplaces('abc@host;from-tag=1;to-tag=2;early-only').earlyOnly, true);
  t.throws(() => parseReplaces('abc@host;to-tag=2'), SipParseError, 'from-tag is required');
  const rb = parseNameAddr('"Alice" <sip:alice@atlanta.example.com>;cid="20398823.2UWQFN309shb3@referrer.example"', 'Referred-By');
  t.equal(rb.displayName, 'Alice');
  t.equal(rb.params['cid'], '"20398823.2UWQFN309shb3@referrer.example"');
});

t.test('Event and Subscription-State (RFC 6665)', async (t) => {
  const e = parseEvent('refer;id=93809824');
  t.same([e.event, e.id], ['refer', '93809824']);
  t.equal(parseEvent('presence.winfo').event, 'presence.winfo');
  const s = parseSubscriptionState('active;expires=60');
  t.same([s.state, s.expires, s.reason], ['active', 60, undefined]);
  const x = parseSubscriptionState('Terminated;reason=noresource;retry-after=30');
  t.same([x.state, x.reason, x.retryAfter], ['terminated', 'noresource', 30]);
  t.throws(() => parseSubscriptionState('active;expires=soon'), SipParseError);
  t.throws(() => parseEvent(';id=1'), SipParseError);
});

t.test('RSeq and RAck (RFC 3262)', async (t) => {
  t.same(parseRAck('776656 1 INVITE'), { rseq: 776656, cseq: 1, method: 'INVITE' });
  for (const bad of ['776656 1', 'x 1 INVITE', '1 2 IN{VITE', '1 2 INVITE x']) t.throws(() => parseRAck(bad), SipParseError, bad);
  const m = parseMessage(Buffer.from(['SIP/2.0 183 Session Progress', 'Via: SIP/2.0/UDP h;branch=z9hG4bKp', 'To: <sip:a@b>;tag=2',
    'From: <sip:c@d>;tag=1', 'Call-ID: p', 'CSeq: 1 INVITE', 'RSeq: 988789', 'Require: 100rel', 'Content-Length: 0', '', ''].join('\r\n')));
  t.equal(m.rseq, 988789);
  t.same(m.require, ['100rel']);
});

t.test('Date: RFC 1123 GMT only', async (t) => {
  t.equal(parseSipDate('Sat, 13 Nov 2010 23:29:00 GMT').toISOString(), '2010-11-13T23:29:00.000Z');
  for (const bad of ['Sat, 13 Nov 2010 23:29:00 UTC', 'Sat, 13 Nov 2010 23:29:00 EST', '13 Nov 2010', 'Sat, 32 Nov 2010 23:29:00 GMT']) {
    t.throws(() => parseSipDate(bad), SipParseError, bad);
  }
});
