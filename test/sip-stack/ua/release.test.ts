/**
 * A finished call does not stay in memory with the transactions RFC 3261/6026 keep for 64*T1 (the INVITE client
 * transaction in Accepted, the server one in Accepted/Confirmed): the UacInvite, UasInvite and both Sessions are
 * collectable once the call has ended, while what is left of the INVITE still re-sends the ACK for a retransmitted
 * 2xx and ACKs and BYEs a 2xx from an unknown fork (§13.2.2.4). Network: loopback UDP; time: a VirtualClock that
 * never reaches 64*T1 here, so every transaction is still alive when the objects are checked.
 */
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { VirtualClock, type SipRequest, type SipResponse } from '../../../sip-stack/index.js';
import type { Session, UacInvite, UasInvite } from '../../../sip-stack/ua/index.js';
import { SDP_A, SDP_B, makeUa, next, until } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A call from a to b, answered and ended by a's BYE; returns the UAs and the 200 OK b sent. */
async function endedCall(clock: VirtualClock) {
  const a = await makeUa({ clock });
  const b = await makeUa({ clock });
  let uas: UasInvite | undefined;
  let bSession: Session | undefined;
  b.ua.on('invite', (inv) => {
    uas = inv;
    bSession = inv.accept({ body: SDP_B });
  });
  let uac: UacInvite | undefined = a.ua.invite(b.uri, { body: SDP_A });
  const r = await uac.result;
  if (!r.ok) throw new Error('call not answered');
  let aSession: Session | undefined = r.session;
  await until(() => bSession?.state === 'confirmed', 'ACK at b');
  const bEnded = next(bSession!, 'terminated');
  await aSession.bye();
  await bEnded;
  const refs = [new WeakRef(uac), new WeakRef(uas!), new WeakRef(aSession), new WeakRef(bSession!)];
  uac = undefined;
  uas = undefined;
  aSession = undefined;
  bSession = undefined;
  const ok = b.wire.sent.find((m) => !m.isRequest && m.status === 200 && m.cseq?.method === 'INVITE') as SipResponse;
  return { a, b, refs, ok };
}

t.test('the INVITE objects and Sessions of a finished call are collectable while its transactions live on', async (t) => {
  const clock = new VirtualClock();
  const { a, b, refs } = await endedCall(clock);
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  t.ok(a.ua.transactions.clientTransactionCount > 0, 'a still has its INVITE client transaction (Accepted, 64*T1)');
  t.ok(b.ua.transactions.serverTransactionCount > 0, 'b still has its INVITE server transaction');
  for (let i = 0; i < 5 && refs.some((r) => r.deref() !== undefined); i++) {
    await turn();
    gc();
  }
  t.same(refs.map((r) => r.deref() === undefined), [true, true, true, true], 'UacInvite, UasInvite and both Sessions collected');
});

t.test('§13.2.2.4 after the call: a retransmitted 2xx gets the same ACK again; a new fork\'s 2xx is ACKed and BYEd', async (t) => {
  const clock = new VirtualClock();
  const { a, b, ok } = await endedCall(clock);
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  const toA = { transport: 'udp' as const, address: '127.0.0.1', port: a.port };
  const acksOf = (): SipRequest[] => a.wire.sent.filter((m) => m.isRequest && m.method === 'ACK') as SipRequest[];
  const byesOf = (): SipRequest[] => a.wire.sent.filter((m) => m.isRequest && m.method === 'BYE') as SipRequest[];
  t.equal(acksOf().length, 1, 'one ACK during the call');
  t.equal(byesOf().length, 1, 'one BYE (the hang-up)');

  await b.ua.transport.send(ok, toA);
  await until(() => acksOf().length === 2, 'ACK for the retransmitted 2xx');
  t.equal(acksOf()[1]!.toString(), acksOf()[0]!.toString(), 'the same ACK');
  t.equal(byesOf().length, 1, 'no BYE for a retransmission');

  const tag = ok.to!.tag!;
  const fork = Buffer.from(ok.toString().replace(`tag=${tag}`, 'tag=late-fork'));
  await b.ua.transport.send(fork, toA);
  await until(() => acksOf().length === 3 && byesOf().length === 2, 'ACK and BYE for the late fork');
  t.match(acksOf()[2]!.get('To'), /tag=late-fork/, 'the late fork\'s 2xx is ACKed in its own dialog');
  t.match(byesOf()[1]!.get('To'), /tag=late-fork/, 'and that dialog is ended with BYE');
});

t.test('a rejected INVITE is collectable while its client transaction waits out Timer D', async (t) => {
  const clock = new VirtualClock();
  const a = await makeUa({ clock });
  const b = await makeUa({ clock });
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  b.ua.on('invite', (inv) => inv.reject(486));
  let uac: UacInvite | undefined = a.ua.invite(b.uri, { body: SDP_A });
  const r = await uac.result;
  t.equal(r.ok ? 200 : r.status, 486);
  const ref = new WeakRef(uac);
  uac = undefined;
  t.ok(a.ua.transactions.clientTransactionCount > 0, 'the INVITE client transaction is still there (Completed, Timer D)');
  for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
    await turn();
    gc();
  }
  t.equal(ref.deref(), undefined, 'the UacInvite was collected');
});
