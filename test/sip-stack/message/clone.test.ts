// SipUri.clone() and NameAddr.clone() give what the text round trip (parse(String(x))) gave, which the dialog layer
// used to copy its URIs and name-addrs with, and share nothing mutable with the original.
import t from 'tap';
import { SipUri, NameAddr, parseUri, parseNameAddr, parseMessage } from '../../../sip-stack/message/index.js';
import { rng } from './fuzzer.js';

/** Every field of a URI, and its wire form. */
function uriFields(u: SipUri): unknown {
  return {
    scheme: u.scheme, user: u.user, password: u.password, host: u.host, port: u.port, opaque: u.opaque,
    params: Object.entries(u.params), headers: Object.entries(u.headers), text: u.toString(),
  };
}

function nameAddrFields(n: NameAddr): unknown {
  return { displayName: n.displayName, params: Object.entries(n.params), uri: uriFields(n.uri), text: n.toString() };
}

const URIS = [
  'sip:alice@example.com', 'SIP:Alice@Example.COM:5070;Transport=TCP;lr;maddr=10.0.0.1?Subject=hi%20there&X=1',
  'sips:bob:secret@[2001:db8::1]:5061;user=phone', 'sip:%61lice@example.com;p=%3Bx', 'tel:+1-201-555-0123;phone-context=x',
  'sip:example.com', 'mailto:someone@example.com', 'sip:user@host;flag;other=',
];

t.test('a parsed URI: clone() = parseUri(String(u))', async (t) => {
  for (const s of URIS) {
    const u = parseUri(s);
    t.same(uriFields(u.clone()), uriFields(parseUri(u.toString())), s);
  }
});

t.test('a URI built in code (uppercase parameter names, flags as undefined, an empty user)', async (t) => {
  const u = new SipUri({ scheme: 'sip', user: '', password: 'pw', host: 'example.com', port: 5060,
    params: { Transport: 'udp', lr: undefined as unknown as null, x: 'a b' }, headers: { Subject: 'x y' } });
  t.same(uriFields(u.clone()), uriFields(parseUri(u.toString())), 'same as the round trip');
  t.equal(u.clone().user, undefined, 'no empty user');
  t.equal(u.clone().password, undefined, 'no password without a user');
  t.same(Object.keys(u.clone().params), ['transport', 'lr', 'x'], 'names lowercase, in order');
  t.equal(u.clone().params['lr'], null, 'a flag is null');
});

t.test('clone() shares no parameters or headers', async (t) => {
  const u = parseUri('sip:a@b;method=INVITE;lr?h=1');
  const c = u.clone();
  delete c.params['method'];
  c.headers['h'] = '2';
  c.user = 'z';
  t.equal(u.params['method'], 'INVITE');
  t.equal(u.headers['h'], '1');
  t.equal(u.user, 'a');
});

const NAME_ADDRS = [
  '"Alice \\"A\\" Smith" <sip:alice@example.com;transport=tcp>;tag=1928301774;Expires=60;flag;q="0.5"',
  '<sip:bob@example.com>', 'sip:carol@example.com;tag=xyz', 'Bob <sips:bob@[::1]:5061?Replaces=abc%3Bto-tag%3D1>;tag=t',
  '"" <sip:x@y>', '<tel:+15551234>;tag=1',
];

t.test('a parsed name-addr: clone() = parseNameAddr(String(n)), the URI still unbuilt in the copy', async (t) => {
  for (const s of NAME_ADDRS) {
    const n = parseNameAddr(s, 'To');
    const c = n.clone();
    t.same(nameAddrFields(c), nameAddrFields(parseNameAddr(n.toString(), 'To')), s);
  }
  // From a parsed message: the values are lazy (URI text checked, not built).
  const m = parseMessage(Buffer.from('INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n' +
    'From: "A" <sip:a@example.com;x=1>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n' +
    'Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\nContent-Length: 0\r\n\r\n'));
  for (const n of [m.from!, m.to!, ...m.recordRoute]) {
    const c = n.clone();
    t.same(nameAddrFields(c), nameAddrFields(parseNameAddr(n.toString(), 'From')), String(n));
  }
});

t.test('NameAddr.clone() shares no parameters and no URI', async (t) => {
  const n = parseNameAddr('"A" <sip:a@b;lr>;tag=1', 'From');
  void n.uri; // built
  const c = n.clone();
  c.tag = undefined;
  c.uri.params['lr'] = 'x';
  c.displayName = 'Z';
  t.equal(n.tag, '1');
  t.equal(n.uri.params['lr'], null);
  t.equal(n.displayName, 'A');
  const lazy = parseNameAddr('<sip:a@b>;tag=2', 'To');
  const lc = lazy.clone();
  lc.uri.user = 'q';
  t.equal(lazy.uri.user, 'a', 'a lazy original builds its own URI');
});

t.test('random URIs: clone() and the round trip agree', async (t) => {
  const r = rng(5060);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  let n = 0;
  for (let k = 0; k < 2000; k++) {
    const s = `${pick(['sip', 'sips', 'SIP'])}:${pick(['', 'u@', 'u:p@', '%41b@', 'a%20b@'])}${pick(['h.example', '[::1]', '10.0.0.1'])}` +
      `${pick(['', ':5060'])}${pick(['', ';lr', ';Transport=UDP', ';a=%3B;b'])}${pick(['', '?x=1', '?a=b&c=d%20e'])}`;
    let u: SipUri;
    try { u = parseUri(s); } catch { continue; }
    n++;
    const want = JSON.stringify(uriFields(parseUri(u.toString())));
    if (JSON.stringify(uriFields(u.clone())) !== want) t.fail(s);
  }
  t.ok(n > 1500, `${n} URIs compared`);
});

t.test('a message built with NameAddr values reads them back as parsing its text would, without aliasing', async (t) => {
  const { createRequest } = await import('../../../sip-stack/message/index.js');
  const from = parseNameAddr('"Al \\"X\\"" <sip:al@example.com;Transport=TCP>;Tag=abc;flag', 'From');
  const to = new NameAddr(parseUri('sip:bob@example.com'), 'Bob');
  const contact = new NameAddr(parseUri('sip:al@192.0.2.1:5070;transport=tcp'));
  const req = createRequest({ method: 'INVITE', uri: 'sip:bob@example.com', from, to, contact, via: 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx' });
  const back = parseMessage(req.toBuffer());
  t.same(nameAddrFields(req.from!), nameAddrFields(back.from!), 'From as parsed from the text');
  t.same(nameAddrFields(req.to!), nameAddrFields(back.to!), 'To as parsed from the text');
  const c = req.contact;
  t.ok(Array.isArray(c) && c.length === 1);
  t.same(nameAddrFields((c as NameAddr[])[0]!), nameAddrFields((back.contact as NameAddr[])[0]!), 'Contact as parsed');
  t.not(req.from, from, 'a copy, not the object given');
  from.params['tag'] = 'changed';
  t.equal(req.from!.tag, 'abc', 'changing the object given afterwards does not change the message');
  req.set('To', parseNameAddr('<sip:carol@example.com>;tag=9', 'To'));
  t.equal(req.to!.uri.user, 'carol', 'set() replaces the typed value too');
  req.append('Contact', parseNameAddr('<sip:second@example.com>', 'Contact'));
  t.equal((req.contact as NameAddr[]).length, 2, 'a second Contact line: both read (not primed)');
});
