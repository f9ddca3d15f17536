import t from 'tap';
import { NonInviteServerState, NonInviteServerTransaction } from '../../../sip-stack/transaction/index.js';
import { createResponse } from '../../../sip-stack/message/index.js';
import { again, request, setup, tcpSource, udpSource } from './helpers.js';

function nist(tcp = false) {
  const env = setup();
  const req = request({ method: 'REGISTER', transport: tcp ? 'TCP' : 'UDP' });
  env.layer.receive(req, tcp ? tcpSource : udpSource);
  const tx = env.tu.requests[0]!.tx as NonInviteServerTransaction;
  return { ...env, req, tx };
}

t.test('RFC 3261 §17.2.2: retransmissions in Trying are discarded; no automatic 100', async (t) => {
  const { clock, layer, net, tx, req, tu } = nist();
  t.equal(tx.kind, 'nist');
  t.equal(tx.state, NonInviteServerState.Trying);
  layer.receive(again(req), udpSource);
  clock.advance(1000);
  t.equal(net.sent.length, 0);
  t.equal(tu.requests.length, 1);
  t.equal(layer.counters.absorbed, 1);
  tx.dispose();
});

t.test('Proceeding: a retransmission gets the most recent provisional response', async (t) => {
  const { layer, net, tx, req } = nist();
  tx.respond(createResponse(req, 100));
  t.equal(tx.state, NonInviteServerState.Proceeding);
  layer.receive(again(req), udpSource);
  t.same(net.responses().map((s) => s.message.status), [100, 100]);
  tx.dispose();
});

t.test('Completed: each retransmission gets the final response; Timer J = 64*T1 on UDP; later finals discarded', async (t) => {
  const { clock, layer, net, tx, req, tu } = nist();
  t.ok(tx.respond(createResponse(req, 200, undefined, { toTag: 'r' })));
  t.equal(tx.state, NonInviteServerState.Completed);
  layer.receive(again(req), udpSource);
  layer.receive(again(req), udpSource);
  t.equal(net.responses(200).length, 3);
  t.notOk(tx.respond(createResponse(req, 500, undefined, { toTag: 'r' })), '"Any other final responses ... MUST be discarded"');
  t.equal(net.responses(500).length, 0);
  clock.advance(31_999);
  t.equal(tx.state, NonInviteServerState.Completed);
  clock.advance(1);
  t.equal(tx.state, NonInviteServerState.Terminated, 'Timer J = 32 s');
  layer.receive(again(req), udpSource);
  t.equal(tu.requests.length, 2, 'after J the request is new');
  tu.requests[1]!.tx.dispose();
});

t.test('Timer J is zero on reliable transports', async (t) => {
  const { tx, req } = nist(true);
  t.equal(tx.timers.J, 0);
  tx.respond(createResponse(req, 200, undefined, { toTag: 'r' }));
  t.equal(tx.state, NonInviteServerState.Terminated);
});
