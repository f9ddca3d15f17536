import t from 'tap';
import { MemoryStore, createRegistrationStore } from '../../../lib/state/index.js';
import { storeContract } from './store-contract.js';
import { VirtualClock } from './virtual-clock.js';

t.test('MemoryStore passes the store contract', async (t) => {
  storeContract(t, async (clock) => {
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    return { store, sweep: () => store.sweep() };
  });
});

t.test('the periodic sweep runs on the injected clock and stops at close()', async (t) => {
  const clock = new VirtualClock();
  const store = new MemoryStore({ clock, sweepIntervalMs: 10_000 });
  const aor = { domain: 'sweep.test', user: '1' };
  await store.register(aor, { callId: 'c', cseq: 1, flow: { transport: 'udp', address: '127.0.0.1', port: 5062 }, contacts: [{ uri: 'sip:1@h', key: 'sip:1@h', expires: 15 }] });
  t.equal(clock.pending, 1);
  clock.advance(10_000);
  t.equal(store.counters.expired, 0, 'not yet expired at the first sweep');
  clock.advance(10_000);
  t.equal(store.counters.expired, 1, 'the second sweep (t=20 s) dropped the contact without any read');
  await store.close();
  t.equal(clock.pending, 0, 'no timer left after close');
});

t.test('createRegistrationStore picks memory without REDIS_URL', async (t) => {
  const s = createRegistrationStore({ memory: { sweepIntervalMs: 0 } });
  t.equal(s.kind, 'memory');
  await s.close();
});
