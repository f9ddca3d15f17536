/**
 * The one contract every RegistrationStore passes (memory-store.test.ts and redis-store.test.ts run it).
 */
import type { Test } from 'tap';
import {
  StateError,
  type Aor,
  type ContactUpdate,
  type Flow,
  type RegisterUpdate,
  type RegistrationStore,
} from '../../../lib/state/index.js';
import { VirtualClock } from './virtual-clock.js';

export interface ContractFixture {
  store: RegistrationStore;
  /** PTTL of an AOR record in the backend (Redis), when the backend has TTLs. */
  ttl?: (aor: Aor) => Promise<number>;
  /** Explicit sweep (memory). */
  sweep?: () => number;
}

export type MakeStore = (clock: VirtualClock) => Promise<ContractFixture>;

const flowA: Flow = { transport: 'udp', address: '203.0.113.5', port: 40123, localAddress: '10.0.0.1:5060' };
const flowB: Flow = { transport: 'tcp', address: '198.51.100.7', port: 52000, connectionId: 'tcp-17' };

function contact(uri: string, expires: number, extra: Partial<ContactUpdate> = {}): ContactUpdate {
  return { uri, key: uri, expires, ...extra };
}

function upd(callId: string, cseq: number, contacts: ContactUpdate[], extra: Partial<RegisterUpdate> = {}): RegisterUpdate {
  return { callId, cseq, flow: flowA, contacts, ...extra };
}

export function storeContract(t: Test, make: MakeStore): void {
  let n = 0;
  // Unique domains per subtest so a shared backend (one Redis prefix) never mixes subtests.
  const fresh = (): { domain: string; aor: Aor } => {
    const domain = `d${++n}.contract.test`;
    return { domain, aor: { domain, user: '2001' } };
  };

  const setup = async (t: Test) => {
    const clock = new VirtualClock();
    const fx = await make(clock);
    t.teardown(() => fx.store.close());
    return { clock, ...fx, ...fresh() };
  };

  t.test('register adds a binding with its flow, Call-ID, CSeq and expiry; lookup and listDomain return it', async (t) => {
    const { store, clock, aor, domain } = await setup(t);
    const r = await store.register(aor, upd('c1', 1, [contact('sip:2001@10.0.0.9:5060', 300)], { userAgent: 'Phone/1', path: ['<sip:edge.test;lr>'] }));
    t.equal(r.outcome, 'ok');
    t.equal(r.contacts.length, 1);
    const b = r.contacts[0]!;
    t.equal(b.uri, 'sip:2001@10.0.0.9:5060');
    t.equal(b.expiresAt, clock.now() + 300_000);
    t.same(b.flow, flowA);
    t.equal(b.callId, 'c1');
    t.equal(b.cseq, 1);
    t.equal(b.userAgent, 'Phone/1');
    t.same(b.path, ['<sip:edge.test;lr>']);
    t.equal(b.receivedAt, clock.now());
    const reg = await store.lookup(aor);
    t.same(reg?.contacts, r.contacts);
    t.same(reg?.aor, aor);
    const list = await store.listDomain(domain);
    t.equal(list.length, 1);
    t.equal(list[0]!.aor.user, '2001');
    t.same(await store.listDomain('other.contract.test'), [], 'another domain sees nothing');
    t.equal(await store.lookup({ domain: 'other.contract.test', user: '2001' }), undefined, 'same user, other domain: no match');
    t.same((await store.lookup({ domain: domain.toUpperCase(), user: '2001' }))?.contacts.length, 1, 'domain is case-insensitive');
    t.equal(await store.lookup({ domain, user: '2001x' }), undefined);
  });

  t.test('RFC 3261 §10.3 step 7: same Call-ID with lower or equal CSeq aborts the update', async (t) => {
    const { store, clock, aor } = await setup(t);
    await store.register(aor, upd('c1', 5, [contact('sip:a@h', 300)]));
    clock.advance(1000);
    const eq = await store.register(aor, upd('c1', 5, [contact('sip:a@h', 600)]));
    t.equal(eq.outcome, 'out-of-order');
    t.equal(eq.contacts[0]!.cseq, 5);
    const lower = await store.register(aor, upd('c1', 4, [contact('sip:a@h', 0)]));
    t.equal(lower.outcome, 'out-of-order', 'a late de-registration does not remove the binding');
    t.equal((await store.lookup(aor))!.contacts[0]!.expiresAt, clock.now() - 1000 + 300_000, 'binding unchanged');
    // All or nothing: one stale binding in the request aborts the others too.
    const mixed = await store.register(aor, upd('c1', 3, [contact('sip:new@h', 300), contact('sip:a@h', 300)], { maxContacts: 5 }));
    t.equal(mixed.outcome, 'out-of-order');
    t.equal((await store.lookup(aor))!.contacts.length, 1, 'the new contact was not committed');
    const higher = await store.register(aor, upd('c1', 6, [contact('sip:a@h', 600)]));
    t.equal(higher.outcome, 'ok');
    t.equal(higher.contacts[0]!.expiresAt, clock.now() + 600_000);
    const otherCallId = await store.register(aor, upd('c2', 1, [contact('sip:a@h', 120)]));
    t.equal(otherCallId.outcome, 'ok', 'a different Call-ID updates whatever its CSeq');
    t.equal(otherCallId.contacts[0]!.callId, 'c2');
    t.equal(store.counters.outOfOrder, 3);
  });

  t.test('maxContacts keeps the newest bindings, evicting the oldest first', async (t) => {
    const { store, clock, aor } = await setup(t);
    for (let i = 1; i <= 3; i++) {
      const r = await store.register(aor, upd(`dev${i}`, 1, [contact(`sip:dev${i}@h`, 300)], { maxContacts: 3 }));
      t.equal(r.evicted.length, 0);
      clock.advance(1000);
    }
    // dev1 refreshes: it becomes the newest.
    await store.register(aor, upd('dev1', 2, [contact('sip:dev1@h', 300)], { maxContacts: 3 }));
    clock.advance(1000);
    const r = await store.register(aor, upd('dev4', 1, [contact('sip:dev4@h', 300)], { maxContacts: 3 }));
    t.same(r.evicted.map((b) => b.uri), ['sip:dev2@h'], 'oldest (dev2) evicted');
    t.same(r.contacts.map((b) => b.uri).sort(), ['sip:dev1@h', 'sip:dev3@h', 'sip:dev4@h']);
    t.same((await store.lookup(aor))!.contacts.map((b) => b.uri).sort(), ['sip:dev1@h', 'sip:dev3@h', 'sip:dev4@h']);
    t.equal(store.counters.evictions, 1);
  });

  t.test('maxContacts 1: the newest registration wins', async (t) => {
    const { store, clock, aor } = await setup(t);
    await store.register(aor, upd('desk', 1, [contact('sip:desk@h', 300)]));
    clock.advance(10);
    const r = await store.register(aor, upd('mobile', 1, [contact('sip:mobile@h', 300)], { flow: flowB, maxContacts: 1 }));
    t.same(r.contacts.map((b) => b.uri), ['sip:mobile@h']);
    t.same(r.evicted.map((b) => b.uri), ['sip:desk@h']);
    const reg = await store.lookup(aor);
    t.same(reg!.contacts.map((b) => b.uri), ['sip:mobile@h']);
    t.same(reg!.contacts[0]!.flow, flowB, 'the flow of the newest REGISTER is kept');
    // Two contacts in one request with maxContacts 1: the last one listed wins.
    const two = await store.register(aor, upd('x', 1, [contact('sip:first@h', 300), contact('sip:last@h', 300)]));
    t.same(two.contacts.map((b) => b.uri), ['sip:last@h']);
  });

  t.test('Expires 0 removes one binding; Contact * removes all, subject to the Call-ID/CSeq rule', async (t) => {
    const { store, aor, domain } = await setup(t);
    await store.register(aor, upd('c1', 1, [contact('sip:a@h', 300), contact('sip:b@h', 300)], { maxContacts: 5 }));
    const r = await store.register(aor, upd('c1', 2, [contact('sip:a@h', 0)], { maxContacts: 5 }));
    t.same(r.removed.map((b) => b.uri), ['sip:a@h']);
    t.same(r.contacts.map((b) => b.uri), ['sip:b@h']);
    const absent = await store.register(aor, upd('c1', 3, [contact('sip:zzz@h', 0)], { maxContacts: 5 }));
    t.equal(absent.outcome, 'ok', 'removing an unknown binding is not an error');
    t.equal(absent.contacts.length, 1);
    const stale = await store.register(aor, upd('c1', 1, [], { removeAll: true })); // sip:b@h was last set with CSeq 1
    t.equal(stale.outcome, 'out-of-order', 'Contact * with a stale CSeq for the same Call-ID fails');
    t.equal((await store.lookup(aor))!.contacts.length, 1);
    const all = await store.register(aor, upd('c1', 4, [], { removeAll: true }));
    t.equal(all.outcome, 'ok');
    t.equal(all.removed.length, 1);
    t.same(all.contacts, []);
    t.equal(await store.lookup(aor), undefined);
    t.same(await store.listDomain(domain), []);
  });

  t.test('a REGISTER without contacts is a query and changes nothing', async (t) => {
    const { store, clock, aor } = await setup(t);
    t.same((await store.register(aor, upd('q', 1, []))).contacts, [], 'no bindings yet');
    await store.register(aor, upd('c1', 1, [contact('sip:a@h', 300)]));
    clock.advance(5000);
    const q = await store.register(aor, upd('q', 1, []));
    t.equal(q.outcome, 'ok');
    t.equal(q.contacts.length, 1);
    t.equal(q.contacts[0]!.expiresAt, clock.now() - 5000 + 300_000);
  });

  t.test('bindings expire: lookups and listings never return an expired contact', async (t) => {
    const { store, clock, aor, domain, ttl, sweep } = await setup(t);
    await store.register(aor, upd('c1', 1, [contact('sip:short@h', 60), contact('sip:long@h', 600)], { maxContacts: 2 }));
    if (ttl) {
      const ms = await ttl(aor);
      t.ok(ms > 590_000 && ms <= 600_000, `backend TTL follows the latest expiry (${ms} ms)`);
    }
    clock.advance(60_000);
    t.same((await store.lookup(aor))!.contacts.map((b) => b.uri), ['sip:long@h'], 'expired exactly at expiresAt');
    clock.advance(540_000);
    if (sweep) t.equal(sweep(), 1, 'the sweep drops the last expired contact');
    t.equal(await store.lookup(aor), undefined);
    t.same(await store.listDomain(domain), []);
    t.ok(store.counters.expired >= 2);
    // A new registration after expiry starts fresh, whatever the CSeq.
    const again = await store.register(aor, upd('c1', 1, [contact('sip:long@h', 60)]));
    t.equal(again.outcome, 'ok');
  });

  t.test('removeContact by URI or key; removeAll counts', async (t) => {
    const { store, aor } = await setup(t);
    await store.register(aor, upd('c1', 1, [
      contact('sip:a@h', 300),
      { uri: 'sip:b@h;transport=tcp', key: 'inst:<urn:uuid:1>|1', expires: 300, instance: '<urn:uuid:1>', regId: 1, q: 0.5 },
      contact('sip:c@h', 300),
    ], { maxContacts: 5 }));
    const b = (await store.lookup(aor))!.contacts.find((x) => x.instance)!;
    t.equal(b.regId, 1);
    t.equal(b.q, 0.5);
    t.equal(await store.removeContact(aor, 'sip:a@h'), true);
    t.equal(await store.removeContact(aor, 'inst:<urn:uuid:1>|1'), true);
    t.equal(await store.removeContact(aor, 'sip:nope@h'), false);
    t.same((await store.lookup(aor))!.contacts.map((x) => x.uri), ['sip:c@h']);
    t.equal(await store.removeAll(aor), 1);
    t.equal(await store.removeAll(aor), 0);
    t.equal(await store.removeContact(aor, 'sip:c@h'), false);
  });

  t.test('the assignment (dialplan + codecs) is stored with the registration and leaves with it', async (t) => {
    const { store, aor } = await setup(t);
    const assignment = { source: 'reghook' as const, dialplan: { '1???': 'https://app.test/internal' }, codecs: ['PCMA', 'PCMU'], clientId: 7 };
    const r = await store.register(aor, upd('c1', 1, [contact('sip:a@h', 300)], { assignment }));
    t.same(r.assignment, assignment);
    t.same((await store.lookup(aor))!.assignment, assignment);
    const refresh = await store.register(aor, upd('c1', 2, [contact('sip:a@h', 300)]));
    t.same(refresh.assignment, assignment, 'a refresh without a new assignment keeps the old one');
    const changed = { source: 'config' as const, codecs: ['G722'] };
    await store.register(aor, upd('c1', 3, [contact('sip:a@h', 300)], { assignment: changed }));
    t.same((await store.lookup(aor))!.assignment, changed);
    await store.register(aor, upd('c1', 4, [contact('sip:a@h', 0)]));
    t.equal(await store.lookup(aor), undefined);
    await store.register(aor, upd('c1', 5, [contact('sip:a@h', 300)]));
    t.equal((await store.lookup(aor))!.assignment, undefined, 'no stale assignment after a removal');
  });

  t.test('trunk registration state', async (t) => {
    const { store, clock, domain } = await setup(t);
    t.equal(await store.getTrunkState(domain, 1), undefined);
    const s = await store.setTrunkState(domain, 1, { status: 'registered', expiresAt: clock.now() + 600_000 });
    t.equal(s.updatedAt, clock.now());
    await store.setTrunkState(domain, 'carrier-2', { status: 'failed', lastError: '403 Forbidden' });
    t.same(await store.getTrunkState(domain, '1'), s, 'numeric and text ids are the same key');
    const all = await store.listTrunkStates(domain);
    t.same(Object.keys(all).sort(), ['1', 'carrier-2']);
    t.equal(all['carrier-2']!.lastError, '403 Forbidden');
    t.same(await store.listTrunkStates('other.contract.test'), {});
    await store.deleteTrunkState(domain, 1);
    t.equal(await store.getTrunkState(domain, 1), undefined);
  });

  t.test('results are copies: mutating them does not change the store', async (t) => {
    const { store, aor } = await setup(t);
    const r = await store.register(aor, upd('c1', 1, [contact('sip:a@h', 300)]));
    r.contacts[0]!.uri = 'sip:evil@h';
    r.contacts[0]!.flow.address = '6.6.6.6';
    const l = await store.lookup(aor);
    l!.contacts.pop();
    const again = await store.lookup(aor);
    t.equal(again!.contacts[0]!.uri, 'sip:a@h');
    t.equal(again!.contacts[0]!.flow.address, flowA.address);
  });

  t.test('concurrent updates of one AOR are all applied', async (t) => {
    const { store, aor } = await setup(t);
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => store.register(aor, upd(`dev${i}`, 1, [contact(`sip:dev${i}@h`, 300)], { maxContacts: 20 }))),
    );
    t.equal((await store.lookup(aor))!.contacts.length, 12);
  });

  t.test('bad input rejects with DPBX_ERR_STATE_INPUT (never a synchronous throw)', async (t) => {
    const { store } = await setup(t);
    let p: Promise<unknown> | undefined;
    t.doesNotThrow(() => {
      p = store.lookup({ domain: '', user: 'x' });
    });
    await t.rejects(p!, { code: 'DPBX_ERR_STATE_INPUT' });
    await t.rejects(store.register({ domain: 'a.test', user: '' }, upd('c', 1, [])), { code: 'DPBX_ERR_STATE_INPUT' });
    await t.rejects(store.listDomain('bad domain'), StateError);
  });

  t.test('close() is idempotent and later calls reject with DPBX_ERR_STATE_CLOSED', async (t) => {
    const { store, aor } = await setup(t);
    await store.register(aor, upd('c1', 1, [contact('sip:a@h', 300)]));
    await store.close();
    await store.close();
    await t.rejects(store.lookup(aor), { code: 'DPBX_ERR_STATE_CLOSED' });
    await t.rejects(store.register(aor, upd('c1', 2, [])), { code: 'DPBX_ERR_STATE_CLOSED' });
  });
}
