import t from 'tap';
import { computeHa1, computeResponse, verifyDigest, digestEquals, normalizeAlgorithm } from '../../../sip-stack/auth/index.js';

// RFC 7616 §3.9.1: the worked example with SHA-256 and MD5 (user Mufasa, password "Circle of Life").
const EX = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  uri: '/dir/index.html',
  method: 'GET',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: '00000001',
  qop: 'auth',
};
const MD5_RESPONSE = '8ca523f5e9506fed4657c9700eebdbec';
const SHA256_RESPONSE = '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1';

t.test('RFC 7616 §3.9.1: the MD5 and SHA-256 example responses are reproduced', async (t) => {
  for (const [alg, expected] of [['MD5', MD5_RESPONSE], ['SHA-256', SHA256_RESPONSE]] as const) {
    const ha1 = computeHa1(alg, EX.username, EX.realm, EX.password);
    t.equal(computeResponse({ algorithm: alg, ha1, method: EX.method, uri: EX.uri, nonce: EX.nonce, qop: 'auth',
      nc: EX.nc, cnonce: EX.cnonce }), expected, alg);
  }
});

t.test('SPEC §3 verifyDigest: RegHook fields verify from the password, {password} or a precomputed HA1', async (t) => {
  const md5 = { ...EX, algorithm: 'MD5', response: MD5_RESPONSE };
  const sha = { ...EX, algorithm: 'SHA-256', response: SHA256_RESPONSE };
  t.ok(verifyDigest(md5, 'Circle of Life'));
  t.ok(verifyDigest(sha, { password: 'Circle of Life' }));
  t.ok(verifyDigest(sha, { ha1: computeHa1('SHA-256', 'Mufasa', EX.realm, 'Circle of Life') }));
  t.ok(verifyDigest(md5, { ha1: { MD5: computeHa1('MD5', 'Mufasa', EX.realm, 'Circle of Life') } }));
  t.notOk(verifyDigest(sha, { ha1: { MD5: computeHa1('MD5', 'Mufasa', EX.realm, 'Circle of Life') } }), 'no HA1 for that hash');
  t.notOk(verifyDigest(sha, 'Circle Of Life'), 'wrong password (case)');
  t.notOk(verifyDigest(md5, 'Circle of Life', 'POST'), 'other method');
  t.notOk(verifyDigest({ ...md5, nc: '00000002' }, 'Circle of Life'), 'nc is covered by the response');
  t.notOk(verifyDigest({ ...md5, algorithm: 'SHA-1' }, 'Circle of Life'), 'unknown algorithm');
  t.notOk(verifyDigest({ ...md5, qop: 'auth-int' }, 'Circle of Life'), 'auth-int is not verifiable from fields');
  t.notOk(verifyDigest({ ...md5, response: undefined } as never, 'Circle of Life'), 'missing field → false, no throw');
  t.notOk(verifyDigest(null as never, 'x'), 'null params → false');
  t.ok(verifyDigest({ ...md5, algorithm: 'md5' }, 'Circle of Life'), 'RFC 7616 §3.3: algorithm is case-insensitive');
  t.ok(verifyDigest({ ...md5, response: MD5_RESPONSE.toUpperCase() }, 'Circle of Life'), 'hex case ignored');
});

t.test('RFC 2617 §3.2.2.1 compatibility: without qop the response is KD(HA1, nonce:HA2); absent algorithm = MD5', async (t) => {
  const ha1 = computeHa1('MD5', 'bob', 'biloxi.com', 'zanzibar');
  const r = computeResponse({ algorithm: 'MD5', ha1, method: 'REGISTER', uri: 'sip:biloxi.com', nonce: 'abc', qop: undefined });
  t.ok(verifyDigest({ username: 'bob', realm: 'biloxi.com', nonce: 'abc', uri: 'sip:biloxi.com', response: r, method: 'REGISTER' }, 'zanzibar'));
  t.equal(normalizeAlgorithm(undefined), 'MD5');
  t.equal(normalizeAlgorithm('sha-256-SESS'), 'SHA-256-sess');
  t.equal(normalizeAlgorithm('SHA-1'), undefined);
});

t.test('digestEquals compares in constant time and handles different lengths', async (t) => {
  t.ok(digestEquals('abcd', 'ABCD'));
  t.notOk(digestEquals('abcd', 'abce'));
  t.notOk(digestEquals('abcd', 'abc'));
});
