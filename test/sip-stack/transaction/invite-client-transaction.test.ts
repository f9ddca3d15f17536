import t from 'tap';
import { InviteClientState, InviteClientTransaction, isLocalResponse } from '../../../sip-stack/transaction/index.js';
import { TransportError } from '../../../sip-stack/transport/index.js';
import { RecordingClientUser, flush, gaps, outgoing, response, setup, tcpTarget, udpTarget } from './helpers.js';

t.test('RFC 3261 §17.1.1.2 Timer A: INVITE retransmitted over UDP at T1, 2*T1, 4*T1 ... until Timer B (64*T1)', async (t) => {
  const { clock, net, layer } = setup();
  const user = new RecordingClientUser();
  const tx = layer.sendRequest(outgoing('INVITE'), udpTarget, user) as InviteClientTransaction;
  t.equal(tx.state, InviteClientState.Calling);
  clock.advance(40_000);
  const times = net.requests('INVITE').map((s) => s.at);
  t.same(times, [0, 500, 1500, 3500, 7500, 15500, 31500], 'original + 6 retransmissions before B fires at 32 s');
  t.same(gaps(times), [500, 1000, 2000, 4000, 8000, 16000], 'Timer A doubles without a T2 cap');
  t.equal(tx.state, InviteClientState.Terminated);
  t.same(user.timeouts.map((e) => e.code), ['DPBX_ERR_TRANSACTION_TIMEOUT'], 'Timer B → timeout to the TU');
  t.equal(net.requests('ACK').length, 0, 'Timer B: "The client transaction MUST NOT generate an ACK"');
  t.equal(layer.clientTransactionCount, 0);
  t.equal(clock.pending, 0, 'no timer left');
});

t.test('Timer A intervals follow a configured T1', async (t) => {
  const { clock, net, layer } = setup({ timers: { t1: 100 } });
  layer.sendRequest(outgoing('INVITE'), udpTarget, new RecordingClientUser());
  clock.advance(10_000);
  t.same(net.requests('INVITE').map((s) => s.at), [0, 100, 300, 700, 1500, 3100, 6300], 'B = 64*T1 = 6400 ms ends it before 12700');
});

t.test('Timer A is not used on reliable transports; Timer B still fires', async (t) => {
  const { clock, net, layer } = setup();
  const user = new RecordingClientUser();
  layer.sendRequest(outgoing('INVITE', 'TCP'), tcpTarget, user);
  clock.advance(31_999);
  t.equal(net.requests('INVITE').length, 1, 'no retransmission over TCP');
  t.equal(user.timeouts.length, 0);
  clock.advance(1);
  t.equal(user.timeouts.length, 1, 'Timer B = 64*T1 on TCP too');
});

t.test('Timer B without a timeout handler passes a local 408 to the TU', async (t) => {
  const { clock, layer } = setup();
  const statuses: number[] = [];
  let local = false;
  layer.sendRequest(outgoing('INVITE'), udpTarget, {
    receiveResponse(res) {
      statuses.push(res.status);
      local = isLocalResponse(res);
    },
  });
  clock.advance(32_000);
  t.same(statuses, [408]);
  t.ok(local, 'marked as locally generated');
});

t.test('a provisional response stops Timers A and B (Proceeding has no timeout of its own)', async (t) => {
  const { clock, net, layer } = setup();
  const user = new RecordingClientUser();
  const req = outgoing('INVITE');
  const tx = layer.sendRequest(req, udpTarget, user) as InviteClientTransaction;
  clock.advance(600);
  layer.receive(response(req, 180, 'tt1'), { transport: 'udp', address: '127.0.0.1', port: 5080, localAddress: '127.0.0.1', localPort: 5060 });
  t.equal(tx.state, InviteClientState.Proceeding);
  t.same(user.statuses, [180]);
  clock.advance(120_000);
  t.equal(net.requests('INVITE').length, 2, 'one retransmission before the 180, none after');
  t.equal(tx.state, InviteClientState.Proceeding);
  t.equal(user.timeouts.length, 0);
  tx.dispose();
});

const src = { transport: 'udp' as const, address: '127.0.0.1', port: 5080, localAddress: '127.0.0.1', localPort: 5060 };

t.test('RFC 3261 §17.1.1.3: a non-2xx final response is ACKed by the transaction, retransmissions re-ACKed, not passed up', async (t) => {
  const { clock, net, layer } = setup();
  const user = new RecordingClientUser();
  const req = outgoing('INVITE', 'UDP', ['Route: <sip:proxy.example;lr>']);
  const tx = layer.sendRequest(req, udpTarget, user) as InviteClientTransaction;
  layer.receive(response(req, 100), src);
  layer.receive(response(req, 486, 'callee-tag'), src);
  t.equal(tx.state, InviteClientState.Completed);
  t.same(user.statuses, [100, 486]);
  const acks = net.requests('ACK');
  t.equal(acks.length, 1);
  const ack = acks[0]!.message;
  t.equal(ack.uriText, req.uriText, 'same Request-URI');
  t.equal(ack.callId, req.callId);
  t.equal(ack.get('From'), req.get('From'), 'From equal to the INVITE (with tag)');
  t.equal(ack.to?.tag, 'callee-tag', 'To equal to the response (with its tag)');
  t.same(ack.cseq, { seq: 10, method: 'ACK' });
  t.equal(ack.via.length, 1, 'a single Via');
  t.equal(ack.topVia?.branch, req.topVia?.branch, 'equal to the top Via of the original request');
  t.same(ack.getAll('Route'), ['<sip:proxy.example;lr>'], 'Route copied');
  t.same(acks[0]!.target, udpTarget, 'sent where the INVITE went');

  layer.receive(response(req, 486, 'callee-tag'), src);
  layer.receive(response(req, 486, 'callee-tag'), src);
  t.equal(net.requests('ACK').length, 3, 'each retransmitted final response re-sends the ACK');
  t.same(user.statuses, [100, 486], 'retransmissions are not passed to the TU');
  t.equal(layer.counters.absorbed, 2);

  // Timer D: at least 32 s on UDP.
  clock.advance(31_999);
  t.equal(tx.state, InviteClientState.Completed);
  clock.advance(1);
  t.equal(tx.state, InviteClientState.Terminated, 'Timer D = 32 s on UDP');
});

t.test('Timer D is zero on reliable transports (Completed → Terminated at once)', async (t) => {
  const { net, layer } = setup();
  const user = new RecordingClientUser();
  const req = outgoing('INVITE', 'TCP');
  const tx = layer.sendRequest(req, tcpTarget, user) as InviteClientTransaction;
  layer.receive(response(req, 603, 'x'), { ...src, transport: 'tcp' });
  t.equal(tx.state, InviteClientState.Terminated);
  t.equal(tx.timers.D, 0);
  t.equal(net.requests('ACK').length, 1, 'the ACK is still sent on a reliable transport');
  t.equal(user.terminatedCount, 1);
});

t.test('RFC 6026: 2xx moves to Accepted; further 2xx (retransmissions, other forks) go to the TU without ACK; Timer M ends it', async (t) => {
  const { clock, net, layer, tu } = setup();
  const user = new RecordingClientUser();
  const req = outgoing('INVITE');
  const tx = layer.sendRequest(req, udpTarget, user) as InviteClientTransaction;
  layer.receive(response(req, 200, 'fork-a'), src);
  t.equal(tx.state, InviteClientState.Accepted);
  layer.receive(response(req, 200, 'fork-a'), src);
  layer.receive(response(req, 200, 'fork-b'), src);
  t.same(user.responses.map((r) => r.to?.tag), ['fork-a', 'fork-a', 'fork-b'], 'every 2xx reaches the TU');
  t.equal(net.requests('ACK').length, 0, 'the transaction never ACKs a 2xx');
  clock.advance(1000);
  t.equal(net.requests('INVITE').length, 1, 'Timer A stopped by the 2xx');
  clock.advance(31_000 - 1);
  t.equal(tx.state, InviteClientState.Accepted);
  clock.advance(1);
  t.equal(tx.state, InviteClientState.Terminated, 'Timer M = 64*T1');
  layer.receive(response(req, 200, 'fork-a'), src);
  t.equal(tu.stray.length, 1, 'after Timer M a 2xx is stray and goes to the TU core');
});

t.test('RFC 3261 §17.1.4: a transport error while sending the INVITE is reported to the TU (or a local 503)', async (t) => {
  const { net, layer, tu } = setup();
  net.failWith = () => new TransportError('DPBX_ERR_TRANSPORT_CONNECT', 'connection refused');
  const user = new RecordingClientUser();
  const tx = layer.sendRequest(outgoing('INVITE', 'TCP'), tcpTarget, user);
  await flush();
  t.equal(tx.state, InviteClientState.Terminated);
  t.same(user.transportErrors.map((e) => e.code), ['DPBX_ERR_TRANSACTION_TRANSPORT']);
  t.equal(tu.errors.length, 1, 'TransactionUser.transactionError too');

  const statuses: number[] = [];
  layer.sendRequest(outgoing('INVITE', 'TCP'), tcpTarget, { receiveResponse: (r) => statuses.push(r.status) });
  await flush();
  t.same(statuses, [503], 'mapped to 503 when the user has no transportError handler');
  t.equal(layer.counters.transportErrors, 2);
});

t.test('RFC 3261 §9.1 CANCEL before any provisional response is held back until one arrives', async (t) => {
  const { net, layer } = setup();
  const user = new RecordingClientUser();
  const cancelUser = new RecordingClientUser();
  const req = outgoing('INVITE');
  const tx = layer.sendRequest(req, udpTarget, user) as InviteClientTransaction;
  t.ok(tx.cancel({ reason: 'SIP;cause=200;text="Call completed elsewhere"', user: cancelUser }));
  t.equal(net.requests('CANCEL').length, 0, 'not sent before a provisional response');
  layer.receive(response(req, 180, 'tt'), src);
  const cancels = net.requests('CANCEL');
  t.equal(cancels.length, 1, 'sent when the 180 arrives');
  const c = cancels[0]!.message;
  t.equal(c.uriText, req.uriText);
  t.equal(c.callId, req.callId);
  t.equal(c.get('To'), req.get('To'), 'To of the INVITE (no tag)');
  t.equal(c.get('From'), req.get('From'));
  t.same(c.cseq, { seq: 10, method: 'CANCEL' });
  t.equal(c.topVia?.branch, req.topVia?.branch, 'same branch as the INVITE');
  t.equal(c.via.length, 1);
  t.same(c.reasons.map((r) => r.cause), [200], 'RFC 3326 Reason');
  layer.receive(response(c, 200, 'tt'), src);
  t.same(cancelUser.statuses, [200], 'the CANCEL transaction result goes to its own user');
  layer.receive(response(req, 487, 'tt'), src);
  t.same(user.statuses, [180, 487]);
  t.equal(net.requests('ACK').length, 1, '487 ACKed');
});

t.test('RFC 3261 §9.1 CANCEL requested before 1xx is dropped when a final response arrives first', async (t) => {
  const { net, layer } = setup();
  const req = outgoing('INVITE');
  const tx = layer.sendRequest(req, udpTarget, new RecordingClientUser()) as InviteClientTransaction;
  tx.cancel();
  layer.receive(response(req, 200, 'tt'), src);
  t.equal(net.requests('CANCEL').length, 0, 'no CANCEL after a final response');
  t.notOk(tx.cancel(), 'cancel() after a final response returns false');
  tx.dispose();
});

t.test('CANCEL after a 1xx goes out at once; no final response within 64*T1 ends the INVITE transaction (§9.1)', async (t) => {
  const { clock, net, layer } = setup();
  const user = new RecordingClientUser();
  const req = outgoing('INVITE');
  const tx = layer.sendRequest(req, udpTarget, user) as InviteClientTransaction;
  layer.receive(response(req, 183, 'tt'), src);
  clock.advance(1000);
  t.ok(tx.cancel());
  t.equal(net.requests('CANCEL').length, 1);
  t.ok(tx.cancel(), 'a second cancel() is a no-op');
  t.equal(net.requests('CANCEL').length, 1);
  clock.advance(31_999);
  t.equal(tx.state, InviteClientState.Proceeding);
  clock.advance(1);
  t.equal(tx.state, InviteClientState.Terminated);
  t.equal(user.timeouts.length, 1);
});
