import t from 'tap';
import { InviteServerState, InviteServerTransaction } from '../../../sip-stack/transaction/index.js';
import { TransportError } from '../../../sip-stack/transport/index.js';
import { createResponse } from '../../../sip-stack/message/index.js';
import { again, flush, gaps, request, setup, tcpSource, udpSource } from './helpers.js';

function inviteTx(o: Parameters<typeof setup>[0] = {}, tcp = false) {
  const env = setup(o);
  const req = request({ transport: tcp ? 'TCP' : 'UDP' });
  env.layer.receive(req, tcp ? tcpSource : udpSource);
  const tx = env.tu.requests[0]!.tx as InviteServerTransaction;
  return { ...env, req, tx };
}

t.test('RFC 3261 §17.2.1: 100 Trying is sent when the TU has not answered within 200 ms', async (t) => {
  const { clock, net, tx } = inviteTx();
  t.equal(tx.kind, 'ist');
  clock.advance(199);
  t.equal(net.responses().length, 0, 'nothing before 200 ms');
  clock.advance(1);
  const r = net.responses();
  t.same(r.map((s) => [s.message.status, s.at]), [[100, 200]], '100 Trying at 200 ms');
  t.equal(r[0]!.message.to?.tag, undefined, '100 carries no To tag');
  t.same(r[0]!.target, { transport: 'udp', address: '127.0.0.1', port: 5070 }, 'sent per §18.2.2 to the sent-by');
  clock.advance(10_000);
  t.equal(net.responses().length, 1, 'only once');
  tx.dispose();
});

t.test('no automatic 100 when the TU sends a provisional response within 200 ms', async (t) => {
  const { clock, net, tx, req } = inviteTx();
  clock.advance(50);
  t.ok(tx.respond(createResponse(req, 180, undefined, { toTag: 'uas1' })));
  clock.advance(1000);
  t.same(net.responses().map((s) => s.message.status), [180]);
  t.equal(tx.localTag, 'uas1');
  tx.dispose();
});

t.test('timers.trying 0: the 100 Trying goes out at once, before the TU answers, and only once', async (t) => {
  const { clock, net, tx, req } = inviteTx({ timers: { trying: 0 } });
  t.same(net.responses().map((s) => [s.message.status, s.at]), [[100, 0]], '100 Trying at 0 ms, as the INVITE arrives');
  t.ok(tx.respond(createResponse(req, 486, undefined, { toTag: 'x' })), 'the TU answers afterwards');
  clock.advance(1000);
  t.same(net.responses().map((s) => s.message.status).slice(0, 2), [100, 486]);
  tx.dispose();
});

t.test('a retransmitted INVITE in Proceeding gets the most recent provisional response again', async (t) => {
  const { layer, net, tx, req, tu } = inviteTx();
  layer.receive(again(req), udpSource);
  t.equal(net.responses().length, 0, 'no provisional yet: nothing to resend');
  tx.respond(createResponse(req, 180, undefined, { toTag: 'a' }));
  tx.respond(createResponse(req, 183, undefined, { toTag: 'a' }));
  layer.receive(again(req), udpSource);
  t.same(net.responses().map((s) => s.message.status), [180, 183, 183]);
  t.equal(tu.requests.length, 1, 'the retransmission is not passed to the TU');
  tx.dispose();
});

t.test('Timer G retransmits a non-2xx final response at T1, 2*T1, 4*T1, then T2; Timer H ends it after 64*T1', async (t) => {
  const { clock, net, tx, req, tu } = inviteTx();
  const timeouts: string[] = [];
  tx.on('timeout', (e) => timeouts.push(e.code));
  clock.advance(10);
  tx.respond(createResponse(req, 486, undefined, { toTag: 'b' }));
  t.equal(tx.state, InviteServerState.Completed);
  clock.advance(40_000);
  const times = net.responses(486).map((s) => s.at - 10);
  t.same(times, [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  t.ok(gaps(times).every((g) => g <= 4000), 'Timer G never exceeds T2');
  t.equal(tx.state, InviteServerState.Terminated);
  t.same(timeouts, ['DPBX_ERR_TRANSACTION_NO_ACK'], 'Timer H → the TU learns the ACK never came');
  t.equal(tu.errors.length, 1);
});

t.test('ACK for a non-2xx is absorbed: Completed → Confirmed, Timer I = T4 on UDP, no more retransmissions', async (t) => {
  const { clock, net, tx, req, layer, tu } = inviteTx();
  tx.respond(createResponse(req, 404, undefined, { toTag: 'c' }));
  clock.advance(600);
  layer.receive(again(req), udpSource);
  t.equal(net.responses(404).length, 3, 'original, Timer G, answer to the retransmitted INVITE');
  const ack = request({ method: 'ACK', branch: req.topVia!.branch!, toTag: 'c' });
  let acked = 0;
  tx.on('ack', () => acked++);
  layer.receive(ack, udpSource);
  t.equal(tx.state, InviteServerState.Confirmed);
  t.equal(acked, 1);
  layer.receive(again(ack), udpSource);
  t.equal(tu.acks.length, 0, 'ACKs never reach the TU');
  t.equal(layer.counters.absorbed, 2, 'retransmitted INVITE and ACK absorbed');
  clock.advance(4999);
  t.equal(tx.state, InviteServerState.Confirmed);
  clock.advance(1);
  t.equal(tx.state, InviteServerState.Terminated, 'Timer I = T4');
  t.equal(net.responses(404).length, 3);
});

t.test('reliable transport: no Timer G, Timer I = 0, responses go back over the connection', async (t) => {
  const { clock, net, tx, req, layer } = inviteTx({}, true);
  tx.respond(createResponse(req, 480, undefined, { toTag: 'd' }));
  clock.advance(20_000);
  t.equal(net.responses(480).length, 1, 'no retransmission over TCP');
  t.equal(net.responses(480)[0]!.target.connectionId, 'tcp-1');
  layer.receive(request({ method: 'ACK', transport: 'TCP', branch: req.topVia!.branch!, toTag: 'd' }), tcpSource);
  t.equal(tx.state, InviteServerState.Terminated, 'Confirmed → Terminated at once (I = 0)');
});

t.test('Timer H fires after 64*T1 on TCP too', async (t) => {
  const { clock, tx, req } = inviteTx({}, true);
  tx.respond(createResponse(req, 480, undefined, { toTag: 'd' }));
  clock.advance(31_999);
  t.equal(tx.state, InviteServerState.Completed);
  clock.advance(1);
  t.equal(tx.state, InviteServerState.Terminated);
});

t.test('RFC 6026 Accepted: 2xx → Accepted, INVITE retransmissions absorbed, 2xx from the TU re-sent, Timer L ends it', async (t) => {
  const { clock, net, tx, req, layer, tu } = inviteTx();
  const ok = createResponse(req, 200, undefined, { toTag: 'e' });
  tx.respond(ok);
  t.equal(tx.state, InviteServerState.Accepted);
  layer.receive(again(req), udpSource);
  t.equal(net.responses(200).length, 1, 'the transaction does not answer the retransmission itself');
  t.equal(tu.requests.length, 1, 'nor passes it to the TU');
  t.ok(tx.respond(ok), 'the UAS core retransmits its 2xx through the transaction');
  t.equal(net.responses(200).length, 2);
  t.notOk(tx.respond(createResponse(req, 486, undefined, { toTag: 'e' })), 'no non-2xx after a 2xx');
  const ack = request({ method: 'ACK', toTag: 'e' });
  layer.receive(ack, udpSource);
  t.equal(tu.acks.length, 1, 'the ACK for the 2xx (own branch) goes to the TU');
  clock.advance(31_999);
  t.equal(tx.state, InviteServerState.Accepted);
  clock.advance(1);
  t.equal(tx.state, InviteServerState.Terminated, 'Timer L = 64*T1');
  layer.receive(again(req), udpSource);
  t.equal(tu.requests.length, 2, 'after Timer L the same INVITE is new again');
  tu.requests[1]!.tx.dispose();
});

t.test('§17.2.4: a transport error sending a response is reported and ends the transaction', async (t) => {
  const { net, tx, req, tu } = inviteTx();
  const seen: string[] = [];
  tx.on('transportError', (e) => seen.push(e.code));
  net.failWith = () => new TransportError('DPBX_ERR_TRANSPORT_NO_CONNECTION', 'gone');
  tx.respond(createResponse(req, 180, undefined, { toTag: 'f' }));
  await flush();
  t.same(seen, ['DPBX_ERR_TRANSACTION_TRANSPORT']);
  t.equal(tx.state, InviteServerState.Terminated);
  t.equal(tu.errors.length, 1);
});

t.test('respond() refuses a second final response and checks the response belongs to the request', async (t) => {
  const { tx, req } = inviteTx();
  t.ok(tx.respond(createResponse(req, 603, undefined, { toTag: 'g' })));
  t.notOk(tx.respond(createResponse(req, 200, undefined, { toTag: 'g' })));
  const other = request({ cseq: 99 });
  t.throws(() => tx.respond(createResponse(other, 200)), { code: 'DPBX_ERR_TRANSACTION_BAD_RESPONSE' });
  tx.dispose();
});

t.test('dispose() clears every timer', async (t) => {
  const { clock, tx, req } = inviteTx();
  tx.respond(createResponse(req, 500, undefined, { toTag: 'h' }));
  t.ok(tx.armedTimers.length >= 2);
  tx.dispose();
  t.same(tx.armedTimers, []);
  t.equal(clock.pending, 0);
});
