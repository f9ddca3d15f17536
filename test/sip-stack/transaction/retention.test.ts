/**
 * What a transaction keeps once it has its final response: a transaction lives on for up to 64*T1 after it (to
 * absorb or answer retransmissions), and a PBX must not hold every finished call's messages that long. Each machine
 * keeps only what a retransmission needs (the non-2xx final of an INVITE server transaction for Timer G, the final
 * of a non-INVITE server transaction for a retransmitted request); `lastStatus` tells the last status either way.
 * Whether a response was let go is checked with a WeakRef after a forced GC, while the transaction still lives.
 */
import t, { type Test } from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createResponse, type SipResponse } from '../../../sip-stack/message/index.js';
import { InviteClientState, InviteServerState, NonInviteClientState, NonInviteServerState, type InviteServerTransaction,
  type NonInviteServerTransaction } from '../../../sip-stack/transaction/index.js';
import { type FakeNet, RecordingClientUser, again, outgoing, request, response, setup, udpSource, udpTarget } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** True when nothing but the code under test could have kept `ref`'s object (the caller dropped its own). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return ref.deref() === undefined;
}

t.test('INVITE server transaction: a 2xx (RFC 6026 Accepted) and the provisionals before it are not kept', async (t) => {
  const { layer, net, tu } = setup({ timers: { trying: 0 } });
  const req = request();
  layer.receive(req, udpSource);
  const tx = tu.requests[0]!.tx as InviteServerTransaction;
  t.equal(tx.lastStatus, 100, 'the automatic 100');
  let ringing: SipResponse | undefined = createResponse(req, 180, undefined, { toTag: 'a' });
  let ok: SipResponse | undefined = createResponse(req, 200, undefined, { toTag: 'a' });
  tx.respond(ringing);
  t.equal(tx.lastStatus, 180);
  tx.respond(ok);
  t.equal(tx.state, InviteServerState.Accepted);
  t.equal(tx.lastStatus, 200);
  t.ok(tx.finalSent);
  const refs = [new WeakRef(ringing), new WeakRef(ok)];
  ringing = undefined;
  ok = undefined;
  net.clear();
  t.ok(await collected(refs[0]!), 'the 180 is let go');
  t.ok(await collected(refs[1]!), 'the 200 is let go (the UAS core retransmits it, not the transaction)');
  layer.receive(again(req), udpSource);
  t.equal(net.responses().length, 0, 'an INVITE retransmission in Accepted is absorbed');
  tx.dispose();
});

/**
 * `tx` sends a provisional (made here, so nothing else holds it) then `final`; checks the state and lastStatus and
 * that the provisional is let go once the final is out. The fake network's records are cleared.
 */
async function provisionalLetGo(t: Test, tx: InviteServerTransaction | NonInviteServerTransaction, net: FakeNet,
  provisional: () => SipResponse, final: SipResponse, state: string): Promise<void> {
  let p: SipResponse | undefined = provisional();
  const status = p.status;
  tx.respond(p);
  t.equal(tx.lastStatus, status, `lastStatus ${status}`);
  tx.respond(final);
  t.equal(tx.state, state);
  t.equal(tx.lastStatus, final.status, `lastStatus ${final.status}`);
  const ref = new WeakRef(p);
  p = undefined;
  net.clear();
  t.ok(await collected(ref), `the ${status} is let go`);
}

t.test('INVITE server transaction: a non-2xx final is kept for Timer G, its provisional is not', async (t) => {
  const { layer, net, tu, clock } = setup();
  const req = request();
  layer.receive(req, udpSource);
  const tx = tu.requests[0]!.tx as InviteServerTransaction;
  await provisionalLetGo(t, tx, net, () => createResponse(req, 180, undefined, { toTag: 'b' }),
    createResponse(req, 486, undefined, { toTag: 'b' }), InviteServerState.Completed);
  clock.advance(500);
  t.same(net.responses().map((s) => s.message.status), [486], 'Timer G re-sends the 486');
  tx.dispose();
});

t.test('non-INVITE server transaction: the final is kept for retransmitted requests, the provisional is not', async (t) => {
  const { layer, net, tu } = setup();
  const req = request({ method: 'BYE' });
  layer.receive(req, udpSource);
  const tx = tu.requests[0]!.tx as NonInviteServerTransaction;
  await provisionalLetGo(t, tx, net, () => createResponse(req, 100), createResponse(req, 200), NonInviteServerState.Completed);
  layer.receive(again(req), udpSource);
  t.same(net.responses().map((s) => s.message.status), [200], 'a retransmitted BYE gets the 200 again');
  tx.dispose();
});

t.test('client transactions: the final response goes to the TU and is not kept', async (t) => {
  const { layer, clock } = setup();
  for (const method of ['INVITE', 'BYE']) {
    const user = new RecordingClientUser();
    const tx = layer.sendRequest(outgoing(method), udpTarget, user);
    const branch = tx.request.topVia!.branch!;
    let res: SipResponse | undefined = response(tx.request, 200, 'c');
    t.equal(res.topVia!.branch, branch);
    layer.receive(res, udpSource);
    t.same(user.statuses, [200], `${method}: the 200 reached the TU`);
    t.equal(tx.lastStatus, 200, `${method}: lastStatus`);
    t.equal(tx.state, method === 'INVITE' ? InviteClientState.Accepted : NonInviteClientState.Completed, `${method}: still alive`);
    const ref = new WeakRef(res);
    res = undefined;
    user.responses.length = 0;
    t.ok(await collected(ref), `${method}: the 200 is let go`);
    clock.advance(40_000);
  }
});
