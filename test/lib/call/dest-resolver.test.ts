// Dest resolution: client → every registered contact of the SAME domain, trunk → a trunk of the SAME domain only,
// sip → the URI. Unresolvable dests are reasons, not exceptions.
import t from 'tap';
import { DestResolver } from '../../../lib/call/index.js';
import type { Dest } from '../../../lib/script/index.js';
import { FakeRegistrations, TRUNK_PASSWORD, flush, harness, testConfig } from './fakes.js';

const dest = (d: Partial<Dest> & Pick<Dest, 'type' | 'address'>): Dest => ({ timeout: 30, ...d });

t.test('client dests fork to every contact of that user in the call domain only', async (t) => {
  const regs = new FakeRegistrations();
  regs.set('a.example.com', '1002', ['sip:1002@10.0.0.2', 'sip:1002@10.0.0.3']);
  regs.set('b.example.com', '1003', ['sip:1003@10.9.9.9']);
  const r = new DestResolver({ config: testConfig, registrations: regs });
  const ok = await r.resolve('a.example.com', dest({ type: 'client', address: '1002' }), 4);
  t.ok(ok.ok);
  if (ok.ok) {
    t.same(ok.targets.map((x) => x.kind === 'client' && x.contact.uri), ['sip:1002@10.0.0.2', 'sip:1002@10.0.0.3']);
    t.ok(ok.targets.every((x) => x.destIndex === 4 && x.domain === 'a.example.com'));
  }
  t.same(await r.resolve('a.example.com', dest({ type: 'client', address: '1003' }), 0), { ok: false, reason: 'not registered', code: 'DPBX_ERR_CALL_DEST_UNRESOLVED' },
    'a user registered only in another domain is not reachable');
  t.same(await r.resolve('a.example.com', dest({ type: 'client', address: '1003@b.example.com' }), 0), { ok: false, reason: 'client of another domain', code: 'DPBX_ERR_CALL_DEST_UNRESOLVED' });
  const same = await r.resolve('a.example.com', dest({ type: 'client', address: '1002@A.example.com' }), 0);
  t.ok(same.ok, 'user@own-domain accepted');
  t.same(regs.lookups, ['a.example.com|1002', 'a.example.com|1003', 'a.example.com|1002']);
});

t.test('a registration store failure is a skipped dest, not a rejection', async (t) => {
  const r = new DestResolver({
    config: testConfig,
    registrations: { lookup: async () => { throw new Error('redis down'); } },
  });
  t.same(await r.resolve('a.example.com', dest({ type: 'client', address: '1002' }), 0), { ok: false, reason: 'lookup failed: redis down', code: 'DPBX_ERR_CALL_DEST_UNRESOLVED' });
});

t.test('trunk dests: by id or name, in the same domain only', async (t) => {
  const r = new DestResolver({ config: testConfig, registrations: new FakeRegistrations() });
  const a = await r.resolve('a.example.com', dest({ type: 'trunk', address: '0800111', trunk_id: 1 }), 0);
  t.ok(a.ok);
  if (a.ok && a.targets[0]!.kind === 'trunk') {
    t.equal(a.targets[0]!.trunk.outbound?.host, 'sip.carrier-a.example', 'trunk 1 of domain a, not of domain b');
    t.equal(a.targets[0]!.number, '0800111');
  }
  const b = await r.resolve('b.example.com', dest({ type: 'trunk', address: '0800111', trunk_name: 'carrier' }), 0);
  t.ok(b.ok && b.targets[0]!.kind === 'trunk' && b.targets[0]!.trunk.outbound?.host === 'sip.carrier-b.example');
  t.same(await r.resolve('a.example.com', dest({ type: 'trunk', address: '1', trunk_name: 'other-b' }), 0), {
    ok: false,
    reason: 'no trunk named "other-b" in this domain',
    code: 'DPBX_ERR_CALL_DEST_UNRESOLVED',
  }, 'another domain\'s trunk name does not resolve');
  t.same(await r.resolve('a.example.com', dest({ type: 'trunk', address: '1', trunk_id: 2 }), 0), {
    ok: false,
    reason: 'no trunk with id 2 in this domain',
    code: 'DPBX_ERR_CALL_DEST_UNRESOLVED',
  }, 'another domain\'s trunk id does not resolve');
  const only = await r.resolve('a.example.com', dest({ type: 'trunk', address: '1' }), 0);
  t.ok(only.ok, 'the only outbound trunk of the domain is used when none is named');
  const amb = await r.resolve('b.example.com', dest({ type: 'trunk', address: '1' }), 0);
  t.notOk(amb.ok, 'two outbound trunks and none named: not guessed');
});

t.test('sip dests carry their credentials to the dialer only', async (t) => {
  const r = new DestResolver({ config: testConfig, registrations: new FakeRegistrations() });
  const res = await r.resolve('a.example.com', dest({ type: 'sip', address: 'sip:x@127.0.0.1', username: 'u', password: 'p', codecs: ['PCMU'] }), 0);
  t.ok(res.ok && res.targets[0]!.kind === 'sip');
  if (res.ok && res.targets[0]!.kind === 'sip') {
    t.same(res.targets[0]!.credentials, { username: 'u', password: 'p' });
    t.same(res.targets[0]!.codecs, ['PCMU']);
  }
  t.notOk((await r.resolve('a.example.com', dest({ type: 'sip', address: 'http://x' }), 0)).ok);
});

t.test('through the executor: a trunk of another domain is skipped and no password reaches events', async (t) => {
  const h = harness({
    maxRetries: 0,
    replies: [[{ verb: 'connect', dest: [{ type: 'trunk', address: '0800', trunk_name: 'other-b' }, { type: 'trunk', address: '0800', trunk_id: 1 }] }]],
  });
  await flush();
  t.equal(h.dialer.attempts.length, 1);
  t.equal(h.dialer.attempts[0]!.what, 'trunk:carrier:0800');
  const trunk = h.dialer.attempts[0]!.target;
  t.ok(trunk.kind === 'trunk' && trunk.domain === 'a.example.com');
  t.same(h.status.named('connect:skipped')[0]!.data, {
    dest: { type: 'trunk', address: '0800' },
    index: 0,
    reason: 'no trunk named "other-b" in this domain',
  });
  h.dialer.attempts[0]!.emit('failed', 503, 'Service Unavailable');
  await h.done;
  t.notMatch(JSON.stringify(h.status.events), TRUNK_PASSWORD);
  t.notMatch(JSON.stringify(h.registry.cdrs.query('a.example.com')), TRUNK_PASSWORD);
});
