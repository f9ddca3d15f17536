/**
 * The transaction layer over the real transport layer on loopback (UDP and TCP, OS-assigned ports): two stacks
 * talk to each other. No timing assertions; every wait is for an event.
 */
import t from 'tap';
import { createTransportLayer, type TransportLayer, type SendTarget } from '../../../sip-stack/transport/index.js';
import { createRequest, createResponse, type SipRequest, type SipResponse } from '../../../sip-stack/message/index.js';
import { TransactionLayer, type ServerTransaction, InviteServerState, type InviteServerTransaction, type InviteClientTransaction }
  from '../../../sip-stack/transaction/index.js';

interface Stack {
  transport: TransportLayer;
  layer: TransactionLayer;
  udp: number;
  tcp: number;
  onRequest: (req: SipRequest, tx: ServerTransaction) => void;
}

async function stack(): Promise<Stack> {
  const transport = createTransportLayer({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }, { transport: 'tcp', host: '127.0.0.1', port: 0 }] });
  const bound = await transport.listen();
  const s: Stack = {
    transport,
    udp: bound.find((b) => b.transport === 'udp')!.port,
    tcp: bound.find((b) => b.transport === 'tcp')!.port,
    onRequest: () => {},
    layer: undefined as unknown as TransactionLayer,
  };
  s.layer = new TransactionLayer({
    send: (m, target) => transport.send(m, target),
    tu: { receiveRequest: (req, tx) => s.onRequest(req, tx) },
    policy: { allowedMethods: ['INVITE', 'ACK', 'CANCEL', 'OPTIONS', 'BYE'] },
  });
  transport.on('message', (m, src) => s.layer.receive(m, src));
  return s;
}

function req(method: string, from: Stack, transport: 'UDP' | 'TCP'): SipRequest {
  const port = transport === 'UDP' ? from.udp : from.tcp;
  return createRequest({
    method,
    uri: 'sip:bob@127.0.0.1',
    from: 'sip:alice@127.0.0.1',
    to: 'sip:bob@127.0.0.1',
    via: `SIP/2.0/${transport} 127.0.0.1:${port};rport`,
  });
}

function collect(): { statuses: number[]; done: Promise<SipResponse>; user: { receiveResponse(r: SipResponse): void } } {
  const statuses: number[] = [];
  let resolve!: (r: SipResponse) => void;
  const done = new Promise<SipResponse>((r) => (resolve = r));
  return { statuses, done, user: { receiveResponse: (r) => { statuses.push(r.status); if (r.status >= 200) resolve(r); } } };
}

t.test('over loopback: OPTIONS 200 (UDP and TCP), INVITE 486 with ACK absorbed, CANCEL → 487, unknown method 501', async (t) => {
  const a = await stack();
  const b = await stack();
  t.teardown(async () => {
    a.layer.close();
    b.layer.close();
    await a.transport.close();
    await b.transport.close();
  });
  const toB = (transport: 'udp' | 'tcp'): SendTarget => ({ transport, address: '127.0.0.1', port: transport === 'udp' ? b.udp : b.tcp });

  let istDone!: Promise<string>;
  b.onRequest = (r, tx) => {
    if (r.method === 'OPTIONS') tx.respond(createResponse(r, 200, undefined, { toTag: 'b1' }));
    else if (r.method === 'INVITE' && r.get('Subject') === 'busy') {
      const ist = tx as InviteServerTransaction;
      istDone = new Promise((resolve) => ist.on('stateChange', (_f, to) => { if (to === InviteServerState.Confirmed || to === InviteServerState.Terminated) resolve(to); }));
      tx.respond(createResponse(r, 486, undefined, { toTag: 'b2' }));
    } else if (r.method === 'INVITE') {
      tx.respond(createResponse(r, 180, undefined, { toTag: 'b3' }));
    }
  };

  for (const tr of ['udp', 'tcp'] as const) {
    const c = collect();
    a.layer.sendRequest(req('OPTIONS', a, tr === 'udp' ? 'UDP' : 'TCP'), toB(tr), c.user);
    const res = await c.done;
    t.equal(res.status, 200, `OPTIONS over ${tr}`);
  }

  const busy = collect();
  const inv = req('INVITE', a, 'UDP');
  inv.set('Subject', 'busy');
  a.layer.sendRequest(inv, toB('udp'), busy.user);
  t.equal((await busy.done).status, 486);
  t.equal(await istDone, InviteServerState.Confirmed, "the client transaction's ACK reached and confirmed the server transaction");

  const ringing = collect();
  let got180!: () => void;
  const ring = new Promise<void>((r) => (got180 = r));
  const inv2 = req('INVITE', a, 'TCP');
  const ict = a.layer.sendRequest(inv2, toB('tcp'), { receiveResponse: (r) => { ringing.user.receiveResponse(r); if (r.status === 180) got180(); } }) as InviteClientTransaction;
  await ring;
  const cancelled = collect();
  t.ok(ict.cancel({ user: cancelled.user }));
  t.equal((await cancelled.done).status, 200, '200 to the CANCEL');
  t.equal((await ringing.done).status, 487, '487 to the INVITE');
  t.same(ringing.statuses, [180, 487]);

  const unknown = collect();
  a.layer.sendRequest(req('FOO', a, 'UDP'), toB('udp'), unknown.user);
  t.equal((await unknown.done).status, 501);
});
