/**
 * Random and mutated credentials never make DigestServer.verify / inspect, DigestClient.authorize or verifyDigest
 * throw; every failure is a result. Deterministic PRNG so a failure can be replayed.
 */
import t from 'tap';
import { createRequest, createResponse, parseMessage, type SipRequest } from '../../../sip-stack/message/index.js';
import { DigestServer, DigestClient, verifyDigest } from '../../../sip-stack/auth/index.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const REALM = 'fuzz.example';
const ALPHABET = 'abcXYZ019=",; \t\\/:@-_.~%*+';

function mutate(s: string, r: () => number): string {
  const chars = s.split('');
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(r() * (chars.length + 1));
    const op = r();
    const c = ALPHABET[Math.floor(r() * ALPHABET.length)]!;
    if (op < 0.4) chars.splice(pos, 1);
    else if (op < 0.8) chars.splice(pos, 0, c);
    else chars[pos] = c;
  }
  return chars.join('');
}

t.test('mutated Authorization values are results, never exceptions', async (t) => {
  const server = new DigestServer({ secret: 'fuzz' });
  const client = new DigestClient({ username: 'alice', password: 'pw' });
  const base = createRequest({ method: 'REGISTER', uri: `sip:${REALM}`, from: `<sip:alice@${REALM}>`, to: `<sip:alice@${REALM}>`,
    callId: 'fz', via: 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKf' });
  const creds = client.authorize(server.challengeResponse(base, REALM), base)!;
  const good = creds[0]!.value;
  const r = rng(20240607);
  let ok = 0;
  for (let i = 0; i < 3000; i++) {
    const value = mutate(good, r);
    const raw = `REGISTER sip:${REALM} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKf\r\nFrom: <sip:alice@${REALM}>;tag=1\r\n` +
      `To: <sip:alice@${REALM}>\r\nCall-ID: fz\r\nCSeq: 2 REGISTER\r\nAuthorization: ${value.replace(/[\r\n]/g, '')}\r\nContent-Length: 0\r\n\r\n`;
    let req: SipRequest;
    try {
      req = parseMessage(Buffer.from(raw)) as SipRequest;
    } catch {
      continue; // the message layer refused it: not our concern here
    }
    const v = server.verify(req, () => 'pw', { realm: REALM });
    if (v.ok) ok++;
    server.inspect(req);
    const res = createResponse(req, 401);
    res.append('WWW-Authenticate', value.replace(/[\r\n]/g, ''));
    new DigestClient({ username: 'alice', password: 'pw' }).authorize(res, req);
  }
  t.ok(ok <= 3, `a mutated credential rarely still verifies (only harmless mutations such as spacing): ${ok}`);
  t.pass('3000 mutated credentials handled without exceptions');
});

t.test('verifyDigest with random field types never throws', async (t) => {
  const r = rng(7);
  const values = [undefined, null, 1, '', 'x', {}, [], 'MD5', 'auth', '00000001'];
  const pick = () => values[Math.floor(r() * values.length)];
  for (let i = 0; i < 2000; i++) {
    const p = { username: pick(), realm: pick(), nonce: pick(), uri: pick(), response: pick(), algorithm: pick(), qop: pick(),
      nc: pick(), cnonce: pick(), method: pick() };
    t.doesNotThrow(() => verifyDigest(p as never, pick() as never), `case ${i}`);
  }
});
