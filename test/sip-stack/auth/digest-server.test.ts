import t from 'tap';
import { createRequest, parseMessage, type SipRequest, type SipResponse } from '../../../sip-stack/message/index.js';
import { DigestServer, DigestClient, AuthError, computeHa1, type AuthClock, type VerifyResult,
  type InspectResult } from '../../../sip-stack/auth/index.js';

function why(r: VerifyResult | InspectResult): string {
  return r.ok ? 'ok' : r.reason;
}

class FakeClock implements AuthClock {
  t = 1_700_000_000_000;
  now(): number { return this.t; }
  advance(ms: number): void { this.t += ms; }
}

const REALM = 'pbx.example.com';
const USERS: Record<string, string> = { alice: 's3cret', bob: 'hunter2' };
const lookup = (u: string, realm: string): string | undefined => (realm === REALM ? USERS[u] : undefined);

function register(user = 'alice', cseq = 1, uri = `sip:${REALM}`): SipRequest {
  return createRequest({ method: 'REGISTER', uri, from: `<sip:${user}@${REALM}>`, to: `<sip:${user}@${REALM}>`,
    callId: 'reg-call-1', cseq, via: 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1', contact: `<sip:${user}@127.0.0.1:5070>` });
}

/** Send a request through a challenge and return the authorized retry. */
function authorizedRetry(server: DigestServer, client: DigestClient, req: SipRequest, proxy = false): { retry: SipRequest; challenge: SipResponse } {
  const challenge = server.challengeResponse(req, REALM, { proxy });
  const creds = client.authorize(challenge, req);
  if (creds === undefined) throw new Error('client could not answer');
  const retry = register(req.from!.uri.user, req.cseq!.seq + 1, req.uriText);
  for (const c of creds) retry.append(c.header, c.value);
  return { retry, challenge };
}

t.test('RFC 3261 §22.1 / RFC 8760 §2.4: a 401 carries one WWW-Authenticate per algorithm in preference order', async (t) => {
  const server = new DigestServer({ clock: new FakeClock() });
  const res = server.challengeResponse(register(), REALM);
  t.equal(res.status, 401);
  t.ok(res.to!.tag, 'To tag added');
  const ch = res.wwwAuthenticate;
  t.equal(ch.length, 2);
  t.same(ch.map((c) => c.algorithm), ['SHA-256', 'MD5']);
  for (const c of ch) {
    t.equal(c.realm, REALM);
    t.equal(c.params['qop'], 'auth');
    t.ok(c.params['opaque']);
    t.equal(c.params['stale'], undefined);
  }
  t.equal(ch[0]!.nonce, ch[1]!.nonce, 'one nonce for both algorithms');
  const p = server.challenge(REALM, { proxy: true, stale: true });
  t.equal(p.status, 407);
  t.equal(p.header, 'Proxy-Authenticate');
  t.match(p.values[0], /stale=true/);
  t.not(p.nonce, ch[0]!.nonce, 'each challenge has a fresh nonce');
  const md5only = new DigestServer({ algorithms: ['MD5'] });
  t.same(md5only.challenge(REALM).values.length, 1);
});

t.test('SPEC §8: a challenge without a realm is refused (no realm="undefined")', async (t) => {
  const server = new DigestServer();
  for (const bad of ['', undefined, 'undefined']) {
    t.throws(() => server.challenge(bad as string), { code: 'DPBX_ERR_AUTH_REALM' });
  }
  t.throws(() => new DigestServer({ algorithms: ['SHA-1' as never] }), AuthError);
  t.throws(() => new DigestServer({ nonceTtlSeconds: 0 }), { code: 'DPBX_ERR_AUTH_OPTIONS' });
});

t.test('client ↔ server round trip with SHA-256 (preferred) and with MD5', async (t) => {
  const server = new DigestServer({ clock: new FakeClock() });
  const { retry } = authorizedRetry(server, new DigestClient({ username: 'alice', password: 's3cret' }), register());
  t.match(retry.get('Authorization'), /algorithm=SHA-256/);
  t.equal(retry.cseq!.seq, 2, 'new CSeq');
  t.equal(retry.callId, 'reg-call-1', 'same Call-ID');
  t.same(server.verify(retry, lookup, { realm: REALM }), { ok: true, username: 'alice', realm: REALM, algorithm: 'SHA-256' });

  const md5client = new DigestClient({ username: 'bob', password: 'hunter2' }, { algorithms: ['MD5'] });
  const r2 = authorizedRetry(server, md5client, register('bob')).retry;
  t.match(r2.get('Authorization'), /algorithm=MD5/);
  t.same(server.verify(r2, lookup, { realm: REALM }), { ok: true, username: 'bob', realm: REALM, algorithm: 'MD5' });
});

t.test('RFC 3261 §22.3: Proxy-Authorization is read for 407 challenges', async (t) => {
  const server = new DigestServer({ clock: new FakeClock() });
  const { retry } = authorizedRetry(server, new DigestClient({ username: 'alice', password: 's3cret' }), register(), true);
  t.ok(retry.get('Proxy-Authorization'));
  t.equal(retry.get('Authorization'), undefined);
  t.same(server.verify(retry, lookup, { realm: REALM }).ok ? 'ok' : 'x', 'x', 'Authorization is not Proxy-Authorization');
  t.equal(server.verify(retry, lookup, { realm: REALM, proxy: true }).ok, true);
});

t.test('verification from a precomputed HA1 per algorithm', async (t) => {
  const server = new DigestServer({ clock: new FakeClock() });
  const ha1 = { 'SHA-256': computeHa1('SHA-256', 'alice', REALM, 's3cret'), MD5: computeHa1('MD5', 'alice', REALM, 's3cret') };
  const { retry } = authorizedRetry(server, new DigestClient({ username: 'alice', password: 's3cret' }), register());
  t.equal(server.verify(retry, () => ({ ha1 }), { realm: REALM }).ok, true);
  const r2 = authorizedRetry(server, new DigestClient({ username: 'alice', password: 's3cret' }), register()).retry;
  t.same(server.verify(r2, () => ({ ha1: { MD5: ha1.MD5 } }), { realm: REALM }), { ok: false, reason: 'bad-response', username: 'alice' },
    'an HA1 of the wrong hash does not verify a SHA-256 response');
});

t.test('wrong password and unknown user both give bad-response', async (t) => {
  const server = new DigestServer({ clock: new FakeClock() });
  const r1 = authorizedRetry(server, new DigestClient({ username: 'alice', password: 'nope' }), register()).retry;
  t.same(server.verify(r1, lookup, { realm: REALM }), { ok: false, reason: 'bad-response', username: 'alice' });
  const r2 = authorizedRetry(server, new DigestClient({ username: 'mallory', password: 'x' }), register('mallory')).retry;
  t.same(server.verify(r2, lookup, { realm: REALM }), { ok: false, reason: 'bad-response', username: 'mallory' });
  const r3 = authorizedRetry(server, new DigestClient({ username: 'alice', password: 's3cret' }), register()).retry;
  t.same(server.verify(r3, () => { throw new Error('db down'); }, { realm: REALM }).ok, false, 'a throwing lookup is a failure, not an exception');
});

t.test('RFC 7616 §3.3: an expired nonce with a valid response gives stale=true; with a wrong one bad-response', async (t) => {
  const clock = new FakeClock();
  const server = new DigestServer({ clock, nonceTtlSeconds: 300 });
  const good = authorizedRetry(server, new DigestClient({ username: 'alice', password: 's3cret' }), register()).retry;
  const bad = authorizedRetry(server, new DigestClient({ username: 'alice', password: 'wrong' }), register()).retry;
  clock.advance(299_000);
  t.equal(server.inspect(good, { realm: REALM }).ok, true, 'fresh at 299 s');
  clock.advance(1_000);
  t.same(server.verify(good, lookup, { realm: REALM }), { ok: false, reason: 'stale', stale: true, username: 'alice' });
  t.same(server.verify(bad, lookup, { realm: REALM }), { ok: false, reason: 'bad-response', username: 'alice' });
  // The client answers a stale re-challenge without giving up, and the new nonce verifies.
  const client = new DigestClient({ username: 'alice', password: 's3cret' });
  const ch = server.challengeResponse(good, REALM, { stale: true });
  const creds = client.authorize(ch, good);
  t.ok(creds, 'stale=true: the client retries even though it sent credentials');
  const retry = register('alice', 3);
  for (const c of creds!) retry.append(c.header, c.value);
  t.equal(server.verify(retry, lookup, { realm: REALM }).ok, true);
});

t.test('RFC 7616 §5.4: a replayed nonce-count is rejected; a higher nc on the same nonce is accepted', async (t) => {
  const server = new DigestServer({ clock: new FakeClock() });
  const client = new DigestClient({ username: 'alice', password: 's3cret' });
  const { retry } = authorizedRetry(server, client, register());
  t.equal(server.verify(retry, lookup, { realm: REALM }).ok, true);
  t.same(server.verify(retry, lookup, { realm: REALM }), { ok: false, reason: 'replay', username: 'alice' }, 'same message again');
  // The next request reuses the cached challenge with nc=2.
  const next = register('alice', 3);
  for (const c of client.authorizeRequest(next)) next.append(c.header, c.value);
  t.match(next.get('Authorization'), /nc=00000002/);
  t.equal(server.verify(next, lookup, { realm: REALM }).ok, true);
  t.equal(why(server.verify(retry, lookup, { realm: REALM })), 'replay', 'a lower nc after a higher one');
  t.equal(server.trackedNonces, 1);
});

t.test('nonce-count memory is bounded: expired entries leave, evicted nonces turn stale instead of replayable', async (t) => {
  const clock = new FakeClock();
  const server = new DigestServer({ clock, nonceTtlSeconds: 60, maxTrackedNonces: 2 });
  const retries: SipRequest[] = [];
  for (let i = 0; i < 3; i++) {
    retries.push(authorizedRetry(server, new DigestClient({ username: 'alice', password: 's3cret' }), register()).retry);
    clock.advance(10);
  }
  for (const r of retries) t.equal(server.verify(r, lookup, { realm: REALM }).ok, true);
  t.equal(server.trackedNonces, 2);
  const again = server.verify(retries[0]!, lookup, { realm: REALM });
  t.same(again, { ok: false, reason: 'stale', stale: true, username: 'alice' }, 'evicted nonce cannot be replayed');
  clock.advance(61_000);
  const fresh = authorizedRetry(server, new DigestClient({ username: 'alice', password: 's3cret' }), register()).retry;
  t.equal(server.verify(fresh, lookup, { realm: REALM }).ok, true);
  t.equal(server.trackedNonces, 1, 'expired entries swept');
});

t.test('RFC 3261 §22.4: realm must be ours, uri must be the Request-URI, the nonce must be ours and for that realm', async (t) => {
  const server = new DigestServer({ clock: new FakeClock() });
  const client = new DigestClient({ username: 'alice', password: 's3cret' });
  const { retry } = authorizedRetry(server, client, register());
  t.equal(why(server.verify(retry, lookup, { realm: 'other.example.com' })), 'realm-mismatch');

  const moved = register('alice', 2, `sip:${REALM}:5080`);
  moved.append('Authorization', retry.get('Authorization')!);
  t.equal(why(server.verify(moved, lookup, { realm: REALM })), 'uri-mismatch');

  const sameUriOtherCase = register('alice', 2, `sip:PBX.example.com`);
  sameUriOtherCase.append('Authorization', retry.get('Authorization')!);
  t.equal(server.inspect(sameUriOtherCase, { realm: REALM }).ok, true, 'URI equality of §19.1.4, not text equality');

  const other = new DigestServer({ clock: new FakeClock() });
  t.equal(why(other.verify(retry, lookup, { realm: REALM })), 'bad-nonce', 'a nonce of another secret');
  const shared1 = new DigestServer({ secret: 'cluster', clock: new FakeClock() });
  const shared2 = new DigestServer({ secret: 'cluster', clock: new FakeClock() });
  const r = authorizedRetry(shared1, new DigestClient({ username: 'alice', password: 's3cret' }), register()).retry;
  t.equal(shared2.verify(r, lookup, { realm: REALM }).ok, true, 'nodes sharing a secret accept each other\'s nonces');

  // A nonce issued for one realm, presented for another realm: the HMAC covers the realm.
  const ch = server.challenge('a.example.com');
  const forged = register();
  forged.append('Authorization', retry.get('Authorization')!.replace(/nonce="[^"]+"/, `nonce="${ch.nonce}"`));
  t.equal(why(server.verify(forged, lookup, { realm: REALM })), 'bad-nonce');

  const tampered = register();
  tampered.append('Authorization', retry.get('Authorization')!.replace(/opaque="[^"]+"/, 'opaque="xyz"'));
  t.equal(why(server.verify(tampered, lookup, { realm: REALM })), 'bad-nonce', 'opaque must come back unchanged');
});

t.test('algorithm not offered → unsupported-algorithm; missing credentials → missing', async (t) => {
  const server = new DigestServer({ algorithms: ['SHA-256'], clock: new FakeClock() });
  const client = new DigestClient({ username: 'alice', password: 's3cret' }, { algorithms: ['MD5'] });
  const ch = server.challengeResponse(register(), REALM);
  t.equal(client.authorize(ch, register()), undefined, 'client without SHA-256 cannot answer');
  const sha = new DigestServer({ algorithms: ['SHA-256'], secret: 'k', clock: new FakeClock() });
  const md5srv = new DigestServer({ algorithms: ['MD5'], secret: 'k', clock: new FakeClock() });
  const r = authorizedRetry(md5srv, client, register()).retry;
  t.equal(why(sha.verify(r, lookup, { realm: REALM })), 'unsupported-algorithm');
  t.equal(why(sha.verify(register(), lookup, { realm: REALM })), 'missing');
  const basic = register();
  basic.append('Authorization', 'Basic YWxpY2U6czNjcmV0');
  t.equal(why(sha.verify(basic, lookup, { realm: REALM })), 'unsupported-algorithm', 'Basic is not accepted');
});

t.test('malformed credentials give reason malformed, never an exception', async (t) => {
  const server = new DigestServer({ clock: new FakeClock() });
  const nonce = server.challenge(REALM).nonce;
  const base = `username="alice", realm="${REALM}", nonce="${nonce}", uri="sip:${REALM}", response="0123456789abcdef0123456789abcdef", algorithm=MD5`;
  const cases = [
    'Digest username="alice", realm=',
    'Digest "unterminated',
    `Digest ${base}`, // no qop
    `Digest ${base}, qop=auth, nc=1, cnonce="x"`,
    `Digest ${base}, qop=auth, nc=00000001`,
    `Digest ${base}, qop=auth-int, nc=00000001, cnonce="x"`,
    `Digest ${base}, qop=auth, nc=00000000, cnonce="x"`,
    `Digest ${base}, qop=auth, nc=zzzzzzzz, cnonce="x"`,
    `Digest realm="${REALM}", nonce="${nonce}", uri="sip:${REALM}", response="00", qop=auth, nc=00000001, cnonce="x"`,
    `Digest ${base}, qop=auth, nc=00000001, cnonce="x", userhash=true`,
  ];
  for (const value of cases) {
    const raw = `REGISTER sip:${REALM} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK2\r\nFrom: <sip:alice@${REALM}>;tag=1\r\n` +
      `To: <sip:alice@${REALM}>\r\nCall-ID: m1\r\nCSeq: 2 REGISTER\r\nAuthorization: ${value}\r\nContent-Length: 0\r\n\r\n`;
    const req = parseMessage(Buffer.from(raw)) as SipRequest;
    const r = server.verify(req, lookup, { realm: REALM });
    t.equal(why(r), 'malformed', value.slice(0, 60));
  }
  const badResp = register();
  badResp.append('Authorization', `Digest ${base.replace('0123456789abcdef0123456789abcdef', 'not-hex')}, qop=auth, nc=00000001, cnonce="x"`);
  t.equal(why(server.verify(badResp, lookup, { realm: REALM })), 'bad-response');
});

t.test('verifyAsync works with an asynchronous credentials store; inspect + recordNonceCount for RegHook flows', async (t) => {
  const server = new DigestServer({ clock: new FakeClock() });
  const { retry } = authorizedRetry(server, new DigestClient({ username: 'alice', password: 's3cret' }), register());
  const r = await server.verifyAsync(retry, async (u) => USERS[u], { realm: REALM });
  t.equal(r.ok, true);
  const r2 = authorizedRetry(server, new DigestClient({ username: 'bob', password: 'hunter2' }), register('bob')).retry;
  const ins = server.inspect(r2, { realm: REALM });
  t.equal(ins.ok, true);
  if (!ins.ok) return;
  t.same(Object.keys(ins.credentials).sort(), ['algorithm', 'cnonce', 'issuedAt', 'method', 'nc', 'ncValue', 'nonce',
    'opaque', 'qop', 'realm', 'response', 'scheme', 'uri', 'username']);
  t.notOk(JSON.stringify(ins).includes('hunter2'), 'no password anywhere in the result');
  t.equal(server.recordNonceCount(ins.credentials), true);
  t.equal(server.recordNonceCount(ins.credentials), false, 'second use of the same nc');
  t.equal(why(server.inspect(r2, { realm: REALM })), 'replay');
});
