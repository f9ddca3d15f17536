/**
 * REGISTER handling per SPEC §6 / RFC 3261 §10.3, run against the memory store and against Redis.
 */
import t, { type Test } from 'tap';
import { DigestServer, parseMessage, type SipResponse } from '../../../sip-stack/index.js';
import { StateUnavailableError, type RegistrationStore } from '../../../lib/state/index.js';
import { Registrar } from '../../../lib/registrar/index.js';
import { skipUnlessRedis } from '../../helpers/env.js';
import { contactsOf, DOMAIN, makeConfig, makeRig, register, TestUa, udpSource, type StoreKind } from './harness.js';

const redisSkip = await skipUnlessRedis();

function suite(t: Test, kind: StoreKind): void {
  const rig = async (t: Test, o: Parameters<typeof makeRig>[1] = {}) => {
    const r = await makeRig(kind, o);
    t.teardown(() => r.store.close());
    return r;
  };

  t.test('unknown domain → 404, never 500', async (t) => {
    const { registrar } = await rig(t);
    const res = await registrar.handleRegister(register({ domain: 'nowhere.test' }), udpSource);
    t.equal(res.status, 404);
    t.equal(registrar.counters.notFound, 1);
  });

  t.test('RFC 3261 §10.3 step 5: an AOR outside the Request-URI domain → 404; no cross-domain match', async (t) => {
    const { registrar } = await rig(t);
    const res = await registrar.handleRegister(register({ ruri: `sip:${DOMAIN}`, toHost: 'other.test' }), udpSource);
    t.equal(res.status, 404);
    // other.test's 2001 has another password: pbx.test's password must not work there.
    const ua = new TestUa(registrar, '2001', 's3cret-2001');
    const r = await ua.send({ domain: 'other.test' });
    t.equal(r.responses[0]!.status, 401);
    t.match(r.responses[0]!.get('WWW-Authenticate'), /realm="other\.test"/);
    t.equal(r.final.status, 403, "pbx.test's password is wrong for other.test");
  });

  t.test('a Request-URI with the PBX IP address takes the domain from the To header', async (t) => {
    const { registrar } = await rig(t);
    const ua = new TestUa(registrar, '2001', 's3cret-2001');
    const r = await ua.send({ ruri: 'sip:192.0.2.1:5060' });
    t.equal(r.final.status, 200);
  });

  t.test('digest challenge: realm = domain, SHA-256 and MD5, qop=auth; never realm="undefined"', async (t) => {
    const { registrar } = await rig(t);
    const res = await registrar.handleRegister(register(), udpSource);
    t.equal(res.status, 401);
    const ch = res.wwwAuthenticate;
    t.same(ch.map((c) => c.algorithm), ['SHA-256', 'MD5']);
    for (const c of ch) {
      t.equal(c.realm, DOMAIN);
      t.equal(c.params['qop'], 'auth');
      t.ok(c.nonce && c.nonce.length > 10);
    }
    t.notMatch(res.toString(), /undefined/);
    t.ok(res.to!.tag, 'To tag added');
  });

  for (const alg of ['MD5', 'SHA-256'] as const) {
    t.test(`static password, ${alg}: 200 lists the contact with its expires and a Date; the flow is recorded`, async (t) => {
      const { registrar, store, clock } = await rig(t);
      const ua = new TestUa(registrar, '2001', 's3cret-2001', [alg]);
      const r = await ua.send({ expires: 200 });
      t.equal(r.responses.length, 2);
      t.match(r.requests[1]!.get('Authorization'), new RegExp(`algorithm=${alg}\\b`));
      t.equal(r.final.status, 200);
      t.same(contactsOf(r.final), [['sip:2001@198.51.100.20:5062;transport=udp', 200]]);
      t.equal(r.final.get('Date'), new Date(clock.now()).toUTCString());
      t.doesNotThrow(() => r.final.validate(), 'the 200 is a valid SIP message (Date in RFC 1123 GMT form)');
      const reg = await store.lookup({ domain: DOMAIN, user: '2001' });
      t.equal(reg!.contacts.length, 1);
      const b = reg!.contacts[0]!;
      t.same(b.flow, { transport: 'udp', address: '203.0.113.9', port: 5062, localAddress: '192.0.2.1', localPort: 5060 });
      t.equal(b.expiresAt, clock.now() + 200_000);
      t.same(reg!.assignment, { source: 'config', codecs: ['PCMA'], clientId: 1 });
      t.same(await registrar.locate(DOMAIN, '2001'), reg);
    });
  }

  t.test('TCP: the connection id is recorded so requests reuse the flow', async (t) => {
    const { registrar, store } = await rig(t);
    const ua = new TestUa(registrar, '3000', 'pw-3000', undefined, { transport: 'tcp', address: '203.0.113.50', port: 61000, connectionId: 'conn-42' });
    t.equal((await ua.send({ user: '3000' })).final.status, 200);
    const b = (await store.lookup({ domain: DOMAIN, user: '3000' }))!.contacts[0]!;
    t.same(b.flow, { transport: 'tcp', address: '203.0.113.50', port: 61000, connectionId: 'conn-42' });
  });

  t.test('wrong password → 403; a re-challenge is not looped', async (t) => {
    const { registrar, store } = await rig(t);
    const ua = new TestUa(registrar, '2001', 'wrong');
    const r = await ua.send();
    t.same(r.responses.map((x) => x.status), [401, 403]);
    t.equal(registrar.counters.authFailures, 1);
    t.equal(await store.lookup({ domain: DOMAIN, user: '2001' }), undefined);
  });

  t.test("the digest username must equal the To user: 3000's valid credentials cannot register 2001", async (t) => {
    const { registrar, store } = await rig(t);
    const ua = new TestUa(registrar, '3000', 'pw-3000');
    const r = await ua.send({ user: '2001' });
    t.equal(r.final.status, 403);
    t.equal(await store.lookup({ domain: DOMAIN, user: '2001' }), undefined);
  });

  t.test('unknown user: challenged, then refused like a wrong password (no user probing)', async (t) => {
    const { registrar } = await rig(t);
    const ua = new TestUa(registrar, '5555', 'guess');
    const r = await ua.send({ user: '5555' });
    t.same(r.responses.map((x) => x.status), [401, 403]);
  });

  t.test('an expired nonce with a correct response → 401 stale=true, then the UA gets through', async (t) => {
    const { registrar, clock } = await rig(t);
    const ua = new TestUa(registrar, '2001', 's3cret-2001');
    t.equal((await ua.send({ expires: 3600 })).final.status, 200);
    clock.advance(301_000); // nonce lifetime 300 s
    const r = await ua.send({ expires: 3600 });
    t.equal(r.responses[0]!.status, 401);
    t.match(r.responses[0]!.get('WWW-Authenticate'), /stale=true/);
    t.equal(r.final.status, 200);
    t.equal(registrar.counters.authFailures, 0, 'a stale nonce is not a failed attempt');
  });

  t.test('a replayed Authorization (same nonce and nc) is refused', async (t) => {
    const { registrar } = await rig(t);
    const ua = new TestUa(registrar, '2001', 's3cret-2001');
    const r = await ua.send();
    t.equal(r.final.status, 200);
    const replay = parseMessage(r.requests[1]!.toBuffer());
    const again = await registrar.handleRegister(replay as never, udpSource);
    t.not(again.status, 200);
  });

  t.test('expiry policy: 423 + Min-Expires below the minimum; min(requested, client expires, MAX)', async (t) => {
    const { registrar } = await rig(t);
    const ua = new TestUa(registrar, '2001', 's3cret-2001');
    const brief = await ua.send({ expires: 10 });
    t.equal(brief.final.status, 423);
    t.equal(brief.final.get('Min-Expires'), '30');
    t.equal(registrar.counters.intervalTooBrief, 1);
    const big = await ua.send({ expires: 100000 });
    t.equal(big.final.status, 200);
    t.same(contactsOf(big.final).map((c) => c[1]), [300], 'client expires 300 caps it');
    const ua3 = new TestUa(registrar, '3000', 'pw-3000');
    const r3 = await ua3.send({ user: '3000', expires: 7200 });
    t.same(contactsOf(r3.final).map((c) => c[1]), [3600], 'REGISTRATION_MAX_SECS caps a client without expires');
    const param = await ua3.send({ user: '3000', expires: 7200, contact: '<sip:3000@198.51.100.20:5062;transport=udp>;expires=60' });
    t.same(contactsOf(param.final).map((c) => c[1]), [60], 'the Contact expires parameter wins over the Expires header');
    const none = await ua3.send({ user: '3000', contact: '<sip:3000@198.51.100.20:5062;transport=udp>' });
    t.same(contactsOf(none.final).map((c) => c[1]), [3600], 'no expiry requested: the default (3600), clamped');
    const tooBriefParam = await ua3.send({ user: '3000', expires: 600, contact: '<sip:3000@198.51.100.20:5062;transport=udp>;expires=5' });
    t.equal(tooBriefParam.final.status, 423);
  });

  t.test('Expires: 0 removes the binding (never clamped up); the 200 lists what is left', async (t) => {
    const { registrar, store } = await rig(t);
    const ua = new TestUa(registrar, '2001', 's3cret-2001');
    await ua.send({ expires: 300, contact: '<sip:2001@10.0.0.1:5060>' });
    await ua.send({ expires: 300, contact: '<sip:2001@10.0.0.2:5060>' });
    const r = await ua.send({ expires: 0, contact: '<sip:2001@10.0.0.1:5060>' });
    t.equal(r.final.status, 200);
    t.same(contactsOf(r.final).map((c) => c[0]), ['sip:2001@10.0.0.2:5060']);
    t.same((await store.lookup({ domain: DOMAIN, user: '2001' }))!.contacts.map((c) => c.uri), ['sip:2001@10.0.0.2:5060']);
    t.equal(registrar.counters.unregistered, 1);
  });

  t.test('Contact: * with Expires: 0 removes every binding; without Expires: 0 it is a 400', async (t) => {
    const { registrar, store } = await rig(t);
    const ua = new TestUa(registrar, '2001', 's3cret-2001');
    await ua.send({ expires: 300, contact: '<sip:2001@10.0.0.1:5060>' });
    await ua.send({ expires: 300, contact: '<sip:2001@10.0.0.2:5060>' });
    const bad = await registrar.handleRegister(register({ contact: '*', expires: 300 }), udpSource);
    t.equal(bad.status, 400);
    const bad2 = await registrar.handleRegister(register({ contact: '*' }), udpSource);
    t.equal(bad2.status, 400, 'Contact * without any Expires header');
    const r = await ua.send({ expires: 0, contact: '*' });
    t.equal(r.final.status, 200);
    t.same(contactsOf(r.final), []);
    t.equal(await store.lookup({ domain: DOMAIN, user: '2001' }), undefined);
    t.equal(registrar.counters.unregistered, 2);
  });

  t.test('the 200 lists every current contact with its own remaining expiry', async (t) => {
    const { registrar, clock } = await rig(t);
    const desk = new TestUa(registrar, '2001', 's3cret-2001');
    await desk.send({ expires: 300, contact: '<sip:2001@10.0.0.1:5060>' });
    clock.advance(100_000);
    const mobile = new TestUa(registrar, '2001', 's3cret-2001');
    const r = await mobile.send({ expires: 120, contact: '<sip:2001@10.0.0.2:5060>' });
    t.same(contactsOf(r.final).sort(), [['sip:2001@10.0.0.1:5060', 200], ['sip:2001@10.0.0.2:5060', 120]]);
    // A query (no Contact) lists them too.
    const q = await registrar.handleRegister(register({ contact: [] }), udpSource);
    t.equal(q.status, 401, 'a query needs authentication as well');
  });

  t.test('maxContacts: client 2001 keeps 3 (oldest evicted), client 3000 keeps 1 (newest wins)', async (t) => {
    const { registrar, store, clock } = await rig(t);
    for (let i = 1; i <= 4; i++) {
      const ua = new TestUa(registrar, '2001', 's3cret-2001');
      await ua.send({ expires: 300, contact: `<sip:2001@10.0.0.${i}:5060>` });
      clock.advance(1000);
    }
    t.same((await store.lookup({ domain: DOMAIN, user: '2001' }))!.contacts.map((c) => c.uri).sort(), [
      'sip:2001@10.0.0.2:5060',
      'sip:2001@10.0.0.3:5060',
      'sip:2001@10.0.0.4:5060',
    ]);
    for (let i = 1; i <= 2; i++) {
      const ua = new TestUa(registrar, '3000', 'pw-3000');
      await ua.send({ user: '3000', expires: 300, contact: `<sip:3000@10.0.1.${i}:5060>` });
      clock.advance(1000);
    }
    t.same((await store.lookup({ domain: DOMAIN, user: '3000' }))!.contacts.map((c) => c.uri), ['sip:3000@10.0.1.2:5060']);
  });

  t.test('RFC 5626: +sip.instance/reg-id identify the binding and are echoed; Require: outbound', async (t) => {
    const { registrar, store } = await rig(t);
    const ua = new TestUa(registrar, '3000', 'pw-3000');
    const inst = '+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1';
    await ua.send({ user: '3000', expires: 300, headers: { Supported: 'outbound' }, contact: `<sip:3000@10.0.0.1:5060;ob>;${inst}` });
    const r = await ua.send({ user: '3000', expires: 300, headers: { Supported: 'outbound' }, contact: `<sip:3000@10.0.0.9:6000;ob>;${inst}` });
    t.equal(r.final.status, 200);
    t.equal(r.final.get('Require'), 'outbound');
    const c = r.final.contact as import('../../../sip-stack/index.js').NameAddr[];
    t.equal(c.length, 1, 'same instance: the new Contact URI replaced the old binding');
    t.equal(c[0]!.params['+sip.instance'], '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"');
    t.equal(c[0]!.params['reg-id'], '1');
    const b = (await store.lookup({ domain: DOMAIN, user: '3000' }))!.contacts[0]!;
    t.equal(b.instance, '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>');
  });

  t.test('RFC 3261 §10.3 step 7: same Call-ID with a CSeq not higher → the request fails (500)', async (t) => {
    const { registrar } = await rig(t);
    const ua = new TestUa(registrar, '2001', 's3cret-2001');
    const ok = await ua.send({ expires: 300 });
    t.equal(ok.final.status, 200);
    // Re-send the accepted request with a fresh nonce-count but its old CSeq.
    ua.cseq -= 2;
    const r = await ua.send({ expires: 300 });
    t.equal(r.final.status, 500);
    t.equal(registrar.counters.outOfOrder, 1);
  });

  t.test('malformed REGISTERs get a precise 400, never an exception', async (t) => {
    const { registrar } = await rig(t);
    t.equal((await registrar.handleRegister(register({ expires: 'soon' }), udpSource)).status, 400);
    t.equal((await registrar.handleRegister(register({ contact: '<mailto:a@b.test>' }), udpSource)).status, 400);
    const noCallId = register();
    noCallId.remove('Call-ID');
    t.equal((await registrar.handleRegister(noCallId, udpSource)).status, 400);
    const bad = register();
    bad.append('Authorization', 'Digest username="2001", realm="pbx.test"');
    t.equal((await registrar.handleRegister(bad, udpSource)).status, 400, 'Authorization without nonce/response');
    const tel = register({ ruri: 'tel:+15551234' });
    t.equal((await registrar.handleRegister(tel, udpSource)).status, 416);
  });

  t.test('brute force: after N failures the source is refused with Retry-After, even with the right password, until the window passes', async (t) => {
    const { registrar, clock } = await rig(t, { throttle: { maxFailures: 3, windowSeconds: 60 } });
    for (let i = 0; i < 3; i++) {
      const r = await new TestUa(registrar, '2001', `guess-${i}`).send();
      t.equal(r.final.status, 403);
      t.notOk(r.final.has('Retry-After'));
      clock.advance(1000);
    }
    const good = new TestUa(registrar, '2001', 's3cret-2001');
    const blocked = await good.send();
    t.equal(blocked.final.status, 403);
    t.equal(blocked.final.get('Retry-After'), '57', 'until the first failure (3 s ago) leaves the 60 s window');
    t.equal(registrar.counters.throttled, 1);
    const other = new TestUa(registrar, '2001', 's3cret-2001', undefined, { ...udpSource, address: '203.0.113.10' });
    t.equal((await other.send()).final.status, 200, 'another source is not affected');
    const gauge = registrar.metrics().find((m) => m.name === 'dpbx_registrar_throttled_sources')!;
    t.equal(gauge.samples[0]!.value, 1);
    clock.advance(57_000);
    t.equal((await new TestUa(registrar, '2001', 's3cret-2001').send()).final.status, 200, 'allowed again after the window');
  });

  t.test('throttle status 429 when configured', async (t) => {
    const { registrar } = await rig(t, { throttle: { maxFailures: 1, status: 429 } });
    await new TestUa(registrar, '2001', 'nope').send();
    const r = await new TestUa(registrar, '2001', 'nope').send();
    t.equal(r.final.status, 429);
    t.ok(Number(r.final.get('Retry-After')) > 0);
  });

  t.test('metrics expose every counter', async (t) => {
    const { registrar } = await rig(t);
    await registrar.handleRegister(register({ domain: 'nowhere.test' }), udpSource);
    const m = registrar.metrics();
    t.equal(m.find((f) => f.name === 'dpbx_registrar_not_found_total')!.samples[0]!.value, 1);
    t.ok(m.find((f) => f.name === 'dpbx_registrar_auth_failures_total'));
  });
}

t.test('registrar with the memory store', async (t) => suite(t, 'memory'));
t.test('registrar with the Redis store', { skip: redisSkip }, async (t) => suite(t, 'redis'));

t.test('store unavailable → 503 with Retry-After (no exception)', async (t) => {
  const failing = {
    kind: 'memory',
    counters: {},
    register: async () => {
      throw new StateUnavailableError('down', undefined, 9);
    },
    lookup: async () => undefined,
    close: async () => {},
  } as unknown as RegistrationStore;
  const registrar = new Registrar({ config: makeConfig(), store: failing, digest: new DigestServer() });
  const ua = new TestUa(registrar, '2001', 's3cret-2001');
  const r = await ua.send();
  t.equal(r.final.status, 503);
  t.equal(r.final.get('Retry-After'), '9');
  t.equal(registrar.counters.storeUnavailable, 1);
  const boom = { ...failing, register: async () => { throw new Error('bug'); } } as unknown as RegistrationStore;
  const r2 = await new TestUa(new Registrar({ config: makeConfig(), store: boom }), '2001', 's3cret-2001').send();
  t.equal(r2.final.status, 500, 'an unexpected error is a 500, not a rejection');
});

t.test('a real Redis that is down → 503 with Retry-After', async (t) => {
  const { RedisStore } = await import('../../../lib/state/index.js');
  // Port 9 (discard) on loopback: nothing listens, every connection attempt is refused.
  const store = new RedisStore({ url: 'redis://127.0.0.1:9', keyPrefix: 'x:', retryAfterSeconds: 4 });
  t.teardown(() => store.close());
  const registrar = new Registrar({ config: makeConfig(), store });
  const r = await new TestUa(registrar, '2001', 's3cret-2001').send();
  t.equal(r.final.status, 503);
  t.equal(r.final.get('Retry-After'), '4');
});

t.test('no config loaded yet → 503', async (t) => {
  const registrar = new Registrar({ config: { current: () => undefined }, store: { close: async () => {} } as unknown as RegistrationStore });
  const res: SipResponse = await registrar.handleRegister(register(), udpSource);
  t.equal(res.status, 503);
});

t.test('bad options are RegistrarError DPBX_ERR_REGISTRAR_OPTIONS', async (t) => {
  const store = {} as RegistrationStore;
  t.throws(() => new Registrar({ config: makeConfig(), store, minExpires: 100, maxExpires: 50 }), { code: 'DPBX_ERR_REGISTRAR_OPTIONS' });
  t.throws(() => new Registrar({ config: makeConfig(), store, throttle: { maxFailures: 0 } }), { code: 'DPBX_ERR_REGISTRAR_OPTIONS' });
  t.throws(() => new Registrar({ config: makeConfig(), store, throttle: { status: 404 as 403 } }), { code: 'DPBX_ERR_REGISTRAR_OPTIONS' });
});
