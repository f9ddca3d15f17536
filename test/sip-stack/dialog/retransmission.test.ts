import t from 'tap';
import { VirtualClock } from '../../../sip-stack/transaction/index.js';
import { Uas2xxRetransmission, RetransmitState, retransmitOffsets } from '../../../sip-stack/dialog/index.js';

t.test('RFC 3261 §13.3.1.4: the UAS core retransmits the 2xx from T1 doubling up to T2 until 64*T1', async (t) => {
  const clock = new VirtualClock();
  const times: number[] = [];
  let byeAt = -1;
  const r = new Uas2xxRetransmission({ clock, retransmit: () => times.push(clock.now()), onAckTimeout: () => { byeAt = clock.now(); } });
  r.start();
  clock.advance(40_000);
  t.same(times, [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500], 'intervals 0.5, 1, 2, 4, 4, 4 ... s');
  t.equal(byeAt, 32_000, 'no ACK after 64*T1: the session should be ended with BYE');
  t.equal(r.state, RetransmitState.TimedOut);
  t.equal(r.retransmissions, 10);
});

t.test('RFC 3261 §13.3.1.4: "Response retransmissions cease when an ACK request for the response is received"', async (t) => {
  const clock = new VirtualClock();
  let n = 0;
  const r = new Uas2xxRetransmission({ clock, t1: 100, t2: 400, retransmit: () => n++, onAckTimeout: () => t.fail('timeout') });
  r.start();
  clock.advance(350);
  t.equal(n, 2);
  r.ackReceived();
  clock.advance(100_000);
  t.equal(n, 2);
  t.equal(clock.pending, 0);
  r.dispose();
  t.equal(r.state, RetransmitState.Stopped);
});

t.test('retransmitOffsets: schedule with and without a cap', async (t) => {
  t.same(retransmitOffsets(500, 4000, 32000), [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  t.same(retransmitOffsets(500, Infinity, 32000), [500, 1500, 3500, 7500, 15500, 31500]);
  t.same(retransmitOffsets(1000, 1000, 3000), [1000, 2000]);
});
