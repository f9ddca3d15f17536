import t from 'tap';
import { signHookBody, verifyHookSignature } from '../../../lib/hooks/index.js';

t.test('signature is t=<seconds>,v1=<hex HMAC-SHA256 of "t.body">', async (t) => {
  // HMAC-SHA256("key", "1700000000.{}") computed independently with openssl dgst -sha256 -hmac key
  const sig = signHookBody('key', '{}', 1700000000);
  t.equal(sig, 't=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae');
  t.ok(verifyHookSignature('key', sig, '{}', { now: 1700000100 }));
});

t.test('stale, malformed and missing signatures fail', async (t) => {
  const sig = signHookBody('key', 'body', 1000);
  t.notOk(verifyHookSignature('key', sig, 'body', { now: 1000 + 301 }), 'too old');
  t.ok(verifyHookSignature('key', sig, 'body', { now: 1000 + 299 }));
  t.notOk(verifyHookSignature('key', undefined, 'body'));
  t.notOk(verifyHookSignature('key', 'v1=abc', 'body', { now: 1000 }));
  t.notOk(verifyHookSignature('key', 't=1000,v1=' + '0'.repeat(64), 'body', { now: 1000 }));
});
