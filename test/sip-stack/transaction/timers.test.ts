import t from 'tap';
import { timerValues, resolveTimerConfig, VirtualClock, TransactionLayer } from '../../../sip-stack/transaction/index.js';
import type { TransportClock } from '../../../sip-stack/transport/index.js';

t.test('RFC 3261 Appendix A values for unreliable transports (defaults T1=500, T2=4000, T4=5000)', async (t) => {
  const u = timerValues(undefined, false);
  t.same(
    { A: u.A, B: u.B, D: u.D, E: u.E, F: u.F, G: u.G, H: u.H, I: u.I, J: u.J, K: u.K, L: u.L, M: u.M },
    { A: 500, B: 32000, D: 32000, E: 500, F: 32000, G: 500, H: 32000, I: 5000, J: 32000, K: 5000, L: 32000, M: 32000 },
  );
});

t.test('reliable transports: no A/E/G, and D, I, J, K are zero', async (t) => {
  const r = timerValues(undefined, true);
  t.same({ A: r.A, E: r.E, G: r.G }, { A: null, E: null, G: null });
  t.same({ D: r.D, I: r.I, J: r.J, K: r.K }, { D: 0, I: 0, J: 0, K: 0 });
  t.same({ B: r.B, F: r.F, H: r.H, L: r.L, M: r.M }, { B: 32000, F: 32000, H: 32000, L: 32000, M: 32000 });
});

t.test('values derive from a configured T1/T2/T4; Timer D stays at least 32 s', async (t) => {
  const u = timerValues({ t1: 100, t2: 800, t4: 1000 }, false);
  t.same({ B: u.B, F: u.F, H: u.H, J: u.J, L: u.L, M: u.M, I: u.I, K: u.K, T2: u.T2 }, { B: 6400, F: 6400, H: 6400, J: 6400, L: 6400, M: 6400, I: 1000, K: 1000, T2: 800 });
  t.equal(u.D, 32000, '"at least 32 seconds for unreliable transports"');
  t.equal(timerValues({ t1: 1000, t2: 8000 }, false).D, 64000);
});

t.test('bad timer options are refused', async (t) => {
  t.throws(() => resolveTimerConfig({ t1: 0 }), RangeError);
  t.throws(() => resolveTimerConfig({ t1: 5000, t2: 4000 }), RangeError);
  t.throws(() => resolveTimerConfig({ t4: Number.NaN }), RangeError);
  t.equal(resolveTimerConfig({ trying: 0 }).trying, 0, 'trying 0: the automatic 100 at once');
  t.throws(() => resolveTimerConfig({ trying: -1 }), RangeError);
  t.throws(() => resolveTimerConfig({ t2: 0 }), RangeError, 'only trying may be 0');
  t.throws(() => new TransactionLayer({ send: () => ({ ok: true, transport: 'udp', localAddress: '', localPort: 0 }), tu: { receiveRequest() {} }, timers: { t1: -1 } }), { code: 'DPBX_ERR_TRANSACTION_OPTIONS' });
});

t.test('VirtualClock fires timers in due order, including timers scheduled by callbacks', async (t) => {
  const c = new VirtualClock();
  const log: string[] = [];
  c.setTimer(30, () => log.push(`c@${c.now()}`));
  c.setTimer(10, () => {
    log.push(`a@${c.now()}`);
    c.setTimer(5, () => log.push(`b@${c.now()}`));
  });
  const h = c.setTimer(20, () => log.push('cleared'));
  c.clearTimer(h);
  c.setTimer(10, () => log.push(`a2@${c.now()}`));
  c.advance(12);
  t.same(log, ['a@10', 'a2@10']);
  t.equal(c.now(), 12);
  c.advance(100);
  t.same(log, ['a@10', 'a2@10', 'b@15', 'c@30']);
  t.equal(c.now(), 112);
  t.equal(c.pending, 0);
});

t.test('VirtualClock: a throwing timer does not stop the others; the error surfaces after the window', async (t) => {
  const c = new VirtualClock();
  let ran = false;
  c.setTimer(1, () => {
    throw new Error('x');
  });
  c.setTimer(2, () => {
    ran = true;
  });
  t.throws(() => c.advance(5), /x/);
  t.ok(ran);
});

t.test('VirtualClock can drive the transport layer too (TransportClock shape)', async (t) => {
  const c = new VirtualClock(1000);
  const asTransportClock: TransportClock = c;
  let fired = 0;
  asTransportClock.setTimeout(() => fired++, 10);
  const h = asTransportClock.setTimeout(() => fired++, 20);
  asTransportClock.clearTimeout(h);
  c.advance(50);
  t.equal(fired, 1);
  t.equal(asTransportClock.now(), 1050);
});
