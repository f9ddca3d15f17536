import t from 'tap';
import { NonInviteClientState, NonInviteClientTransaction } from '../../../sip-stack/transaction/index.js';
import { TransportError } from '../../../sip-stack/transport/index.js';
import { RecordingClientUser, flush, gaps, outgoing, response, setup, tcpTarget, udpTarget } from './helpers.js';

const src = { transport: 'udp' as const, address: '127.0.0.1', port: 5080, localAddress: '127.0.0.1', localPort: 5060 };

t.test('RFC 3261 §17.1.2.2 Timer E: retransmissions at T1, 2*T1, 4*T1, then capped at T2, until Timer F', async (t) => {
  const { clock, net, layer } = setup();
  const user = new RecordingClientUser();
  const tx = layer.sendRequest(outgoing('OPTIONS'), udpTarget, user) as NonInviteClientTransaction;
  t.equal(tx.state, NonInviteClientState.Trying);
  clock.advance(40_000);
  const times = net.requests('OPTIONS').map((s) => s.at);
  t.same(times, [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  const g = gaps(times);
  t.same(g.slice(0, 3), [500, 1000, 2000], 'doubling while below T2');
  t.ok(g.every((x) => x <= 4000), 'Timer E never exceeds T2');
  t.same(g.slice(3), [4000, 4000, 4000, 4000, 4000, 4000, 4000], 'then T2');
  t.equal(tx.state, NonInviteClientState.Terminated);
  t.same(user.timeouts.map((e) => e.code), ['DPBX_ERR_TRANSACTION_TIMEOUT'], 'Timer F (64*T1) → timeout');
});

t.test('Timer E with a small T2 is capped at that T2', async (t) => {
  const { clock, net, layer } = setup({ timers: { t1: 500, t2: 1000 } });
  layer.sendRequest(outgoing('OPTIONS'), udpTarget, new RecordingClientUser());
  clock.advance(5000);
  t.same(gaps(net.requests('OPTIONS').map((s) => s.at)), [500, 1000, 1000, 1000, 1000]);
});

t.test('Timer F without a timeout handler passes a local 408 to the TU', async (t) => {
  const { clock, layer } = setup();
  const statuses: number[] = [];
  layer.sendRequest(outgoing('REGISTER'), udpTarget, { receiveResponse: (r) => statuses.push(r.status) });
  clock.advance(31_999);
  t.same(statuses, []);
  clock.advance(1);
  t.same(statuses, [408]);
});

t.test('§17.1.2.2: in Proceeding Timer E fires every T2', async (t) => {
  const { clock, net, layer } = setup();
  const user = new RecordingClientUser();
  const req = outgoing('BYE');
  const tx = layer.sendRequest(req, udpTarget, user) as NonInviteClientTransaction;
  clock.advance(100);
  layer.receive(response(req, 100), src);
  t.equal(tx.state, NonInviteClientState.Proceeding);
  t.same(user.statuses, [100]);
  clock.advance(12_000);
  // E armed at 0 with T1 keeps running: fires at 500, then T2 steps.
  t.same(net.requests('BYE').map((s) => s.at), [0, 500, 4500, 8500], 'T1 from Trying, then T2 in Proceeding');
  t.ok(gaps(net.requests('BYE').map((s) => s.at)).slice(1).every((x) => x === 4000), 'T2 between retransmissions');
  tx.dispose();
});

t.test('a final response: to the TU once, retransmissions absorbed, Timer K = T4 on UDP', async (t) => {
  const { clock, net, layer } = setup();
  const user = new RecordingClientUser();
  const req = outgoing('OPTIONS');
  const tx = layer.sendRequest(req, udpTarget, user) as NonInviteClientTransaction;
  layer.receive(response(req, 200, 'x'), src);
  t.equal(tx.state, NonInviteClientState.Completed);
  layer.receive(response(req, 200, 'x'), src);
  t.same(user.statuses, [200]);
  clock.advance(10_000);
  t.equal(net.requests('OPTIONS').length, 1, 'Timer E stopped');
  t.equal(tx.state, NonInviteClientState.Terminated);
  t.equal(tx.timers.K, 5000);
});

t.test('Timer K fires at exactly T4 on UDP and is zero on TCP', async (t) => {
  const a = setup();
  const reqA = outgoing('OPTIONS');
  const txA = a.layer.sendRequest(reqA, udpTarget, new RecordingClientUser());
  a.layer.receive(response(reqA, 404, 'x'), src);
  a.clock.advance(4999);
  t.equal(txA.state, NonInviteClientState.Completed);
  a.clock.advance(1);
  t.equal(txA.state, NonInviteClientState.Terminated);

  const b = setup();
  const reqB = outgoing('OPTIONS', 'TCP');
  const txB = b.layer.sendRequest(reqB, tcpTarget, new RecordingClientUser());
  b.clock.advance(10_000);
  t.equal(b.net.requests('OPTIONS').length, 1, 'no Timer E on TCP');
  b.layer.receive(response(reqB, 200, 'x'), { ...src, transport: 'tcp' });
  t.equal(txB.state, NonInviteClientState.Terminated, 'K = 0 on TCP');
});

t.test('§17.1.4 transport error → TU, Terminated', async (t) => {
  const { net, layer } = setup();
  const user = new RecordingClientUser();
  net.failWith = () => new TransportError('DPBX_ERR_TRANSPORT_SEND', 'boom');
  const tx = layer.sendRequest(outgoing('MESSAGE'), udpTarget, user);
  await flush();
  t.equal(tx.state, NonInviteClientState.Terminated);
  t.equal(user.transportErrors.length, 1);
  t.equal(user.terminatedCount, 1);
});

t.test('a retransmission that fails later also ends the transaction', async (t) => {
  const { clock, net, layer } = setup();
  const user = new RecordingClientUser();
  let count = 0;
  net.failWith = () => (++count === 3 ? new TransportError('DPBX_ERR_TRANSPORT_SEND', 'gone') : undefined);
  const tx = layer.sendRequest(outgoing('MESSAGE'), udpTarget, user);
  clock.advance(500);
  await flush();
  t.equal(tx.state, NonInviteClientState.Trying);
  clock.advance(1000);
  await flush();
  t.equal(tx.state, NonInviteClientState.Terminated);
  t.equal(user.transportErrors.length, 1);
});
