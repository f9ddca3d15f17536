import t from 'tap';
import { createRequest, createResponse, type SipRequest } from '../../../sip-stack/message/index.js';
import { DigestClient, computeHa1, computeResponse, verifyDigest } from '../../../sip-stack/auth/index.js';

function invite(cseq = 1): SipRequest {
  return createRequest({ method: 'INVITE', uri: 'sip:+15551234@carrier.example', from: '<sip:acct@pbx.example>',
    to: '<sip:+15551234@carrier.example>', callId: 'call-9', cseq, via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa',
    body: 'v=0\r\n', contentType: 'application/sdp' });
}

function challenged(status: number, values: string[], req = invite()) {
  const res = createResponse(req, status, undefined, { toTag: 'srv' });
  for (const v of values) res.append(status === 407 ? 'Proxy-Authenticate' : 'WWW-Authenticate', v);
  return res;
}

function paramsOf(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of value.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)) out[m[1]!] = m[2] ?? m[3]!;
  return out;
}

t.test('RFC 8760 §2.4: the client prefers SHA-256 over MD5 whatever the header order', async (t) => {
  const c = new DigestClient({ username: 'acct', password: 'pw' }, { cnonce: () => 'cn1' });
  const res = challenged(401, ['Digest realm="carrier", nonce="n1", algorithm=MD5, qop="auth"',
    'Digest realm="carrier", nonce="n1", algorithm=SHA-256, qop="auth"']);
  const out = c.authorize(res, invite());
  t.equal(out?.length, 1);
  t.equal(out![0]!.header, 'Authorization');
  const p = paramsOf(out![0]!.value);
  t.equal(p['algorithm'], 'SHA-256');
  t.equal(p['uri'], 'sip:+15551234@carrier.example', 'digest-uri = Request-URI');
  t.equal(p['nc'], '00000001');
  t.equal(p['cnonce'], 'cn1');
  t.ok(verifyDigest({ ...p, method: 'INVITE' } as never, 'pw'), 'response verifies with the password');
});

t.test('RFC 3261 §22.3: a 407 is answered with Proxy-Authorization; MD5 when only MD5 is offered; opaque echoed', async (t) => {
  const c = new DigestClient({ username: 'acct', password: 'pw' });
  const out = c.authorize(challenged(407, ['Digest realm="proxy", nonce="n2", opaque="op"']), invite());
  t.equal(out![0]!.header, 'Proxy-Authorization');
  const p = paramsOf(out![0]!.value);
  t.equal(p['algorithm'], 'MD5');
  t.equal(p['opaque'], 'op');
  t.equal(p['qop'], undefined, 'no qop offered → RFC 2069 form without qop, nc, cnonce');
  t.equal(p['nc'], undefined);
  t.ok(verifyDigest({ ...p, method: 'INVITE' } as never, 'pw'));
});

t.test('RFC 7616 §3.4.3: qop=auth-int hashes the body into A2', async (t) => {
  const c = new DigestClient({ username: 'acct', password: 'pw' }, { cnonce: () => 'cn' });
  const req = invite();
  const out = c.authorize(challenged(401, ['Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth-int"']), req);
  const p = paramsOf(out![0]!.value);
  t.equal(p['qop'], 'auth-int');
  const ha1 = computeHa1('SHA-256', 'acct', 'r', 'pw');
  t.equal(p['response'], computeResponse({ algorithm: 'SHA-256', ha1, method: 'INVITE', uri: req.uriText, nonce: 'n',
    qop: 'auth-int', nc: '00000001', cnonce: 'cn', body: req.body }));
});

t.test('nc counts per nonce and restarts with a new nonce', async (t) => {
  const c = new DigestClient({ username: 'acct', password: 'pw' });
  c.authorize(challenged(401, ['Digest realm="r", nonce="a", algorithm=MD5, qop="auth"']), invite());
  t.match(c.authorizeRequest(invite(3))[0]!.value, /nc=00000002/);
  t.match(c.authorizeRequest(invite(4))[0]!.value, /nc=00000003/);
  const retried = invite(4);
  retried.append('Authorization', c.authorizeRequest(retried)[0]!.value);
  const fresh = c.authorize(challenged(401, ['Digest realm="r", nonce="b", algorithm=MD5, qop="auth", stale=true'], retried), retried);
  t.match(fresh![0]!.value, /nc=00000001/);
  c.reset();
  t.same(c.authorizeRequest(invite()), []);
});

t.test('RFC 7616 §3.3: a re-challenge of the credentials just sent without stale=true ends the attempt (no loop)', async (t) => {
  const c = new DigestClient({ username: 'acct', password: 'bad' });
  const first = invite();
  const out = c.authorize(challenged(401, ['Digest realm="r", nonce="a", qop="auth"'], first), first);
  const second = invite(2);
  second.append(out![0]!.header, out![0]!.value);
  t.equal(c.authorize(challenged(401, ['Digest realm="r", nonce="b", qop="auth"'], second), second), undefined);
  t.ok(c.authorize(challenged(401, ['Digest realm="r", nonce="b", qop="auth", stale=TRUE'], second), second), 'stale → retry');
});

t.test('challenges the client cannot answer: other scheme, unknown algorithm, other realm, unknown qop', async (t) => {
  const c = new DigestClient({ username: 'acct', password: 'pw', realm: 'mine' });
  t.equal(c.authorize(challenged(401, ['Basic realm="mine"']), invite()), undefined);
  t.equal(c.authorize(challenged(401, ['Digest realm="mine", nonce="n", algorithm=SHA-1']), invite()), undefined);
  t.equal(c.authorize(challenged(401, ['Digest realm="theirs", nonce="n"']), invite()), undefined);
  t.equal(c.authorize(challenged(401, ['Digest realm="mine", nonce="n", qop="auth-conf"']), invite()), undefined);
  t.equal(c.authorize(challenged(401, ['Digest realm="mine"']), invite()), undefined, 'no nonce');
  const res = createResponse(invite(), 401);
  res.append('WWW-Authenticate', 'Digest realm="unterminated');
  t.equal(c.authorize(res, invite()), undefined, 'malformed header → undefined, no exception');
  t.throws(() => new DigestClient({ username: '', password: 'x' }), { code: 'DPBX_ERR_AUTH_CREDENTIALS' });
});

t.test('two realms challenged at once (forked 401 + 407) get one credential each', async (t) => {
  const c = new DigestClient({ username: 'acct', password: 'pw' });
  const res = challenged(401, ['Digest realm="a", nonce="1", qop="auth"']);
  res.append('Proxy-Authenticate', 'Digest realm="b", nonce="2", qop="auth", algorithm=SHA-256');
  const out = c.authorize(res, invite());
  t.same(out!.map((h) => [h.header, paramsOf(h.value)['realm']]), [['Authorization', 'a'], ['Proxy-Authorization', 'b']]);
});
