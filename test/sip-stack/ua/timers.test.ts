/**
 * RFC timers of the UA cores in virtual time (the network is real loopback UDP, time is a VirtualClock):
 * 2xx retransmission until ACK with T1 doubling capped at T2 and BYE after 64*T1 (RFC 3261 §13.3.1.4), ACK
 * re-sent for a retransmitted 2xx (§13.2.2.4), reliable provisional retransmission until PRACK (RFC 3262 §3).
 */
import t from 'tap';
import { VirtualClock, retransmitOffsets, type SipRequest } from '../../../sip-stack/index.js';
import type { Session } from '../../../sip-stack/ua/index.js';
import { SDP_A, SDP_B, makeUa, next, until } from './helpers.js';

function okTimes(wire: { sent: { isRequest: boolean }[]; at: number[] }): number[] {
  const out: number[] = [];
  wire.sent.forEach((m, i) => {
    const r = m as { isRequest: boolean; status?: number; cseq?: { method: string } };
    if (!r.isRequest && r.status === 200 && r.cseq?.method === 'INVITE') out.push(wire.at[i]!);
  });
  return out;
}

t.test('§13.3.1.4: without ACK the 2xx is re-sent at T1, 2T1, 4T1 ... capped at T2, and after 64*T1 the UAS sends BYE', async (t) => {
  const clock = new VirtualClock();
  const a = await makeUa({ clock });
  const b = await makeUa({ clock });
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  a.wire.drop = (m) => m.isRequest && m.method === 'ACK';
  let bs: Session | undefined;
  b.ua.on('invite', (inv) => (bs = inv.accept({ body: SDP_B })));
  const r = await a.ua.invite(b.uri, { body: SDP_A }).result;
  if (!r.ok) return t.fail('no call');
  const aEnded = next<[string]>(r.session, 'terminated');
  const timeout = next(bs!, 'ackTimeout');
  const start = okTimes(b.wire)[0]!;
  for (let i = 0; i < 70; i++) clock.advance(500);
  await timeout;
  const offsets = okTimes(b.wire).slice(1).map((x) => x - start);
  t.same(offsets, retransmitOffsets(500, 4000, 32000), 'retransmissions at 500, 1500, 3500, 7500, then every 4000 ms');
  t.same(offsets, [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  const bye = b.wire.sent.find((m) => m.isRequest && m.method === 'BYE');
  t.ok(bye, 'BYE sent after 64*T1');
  t.same(await aEnded, ['remote-bye'], 'the caller got the BYE');
  t.equal(bs!.terminationCause, 'ack-timeout');
});

t.test('§13.2.2.4: a lost ACK is re-sent when the 2xx is retransmitted; the retransmissions then stop', async (t) => {
  const clock = new VirtualClock();
  const a = await makeUa({ clock });
  const b = await makeUa({ clock });
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let acks = 0;
  a.wire.drop = (m) => m.isRequest && m.method === 'ACK' && acks++ === 0;
  let bs: Session | undefined;
  b.ua.on('invite', (inv) => (bs = inv.accept({ body: SDP_B })));
  const r = await a.ua.invite(b.uri, { body: SDP_A }).result;
  if (!r.ok) return t.fail('no call');
  clock.advance(500);
  await until(() => bs!.state === 'confirmed', 'ACK after the first retransmission');
  const sentAcks = a.wire.sent.filter((m) => m.isRequest && m.method === 'ACK') as SipRequest[];
  t.equal(sentAcks.length, 2, 'ACK sent twice');
  t.equal(sentAcks[0]!.toString(), sentAcks[1]!.toString(), 'the same ACK both times');
  const before = okTimes(b.wire).length;
  for (let i = 0; i < 70; i++) clock.advance(500);
  t.equal(okTimes(b.wire).length, before, 'no 2xx after the ACK');
  t.notOk(b.wire.sent.some((m) => m.isRequest && m.method === 'BYE'), 'no BYE');
  await r.session.bye();
});

t.test('RFC 3262 §3: a reliable provisional is re-sent (T1 doubling) until PRACK', async (t) => {
  const clock = new VirtualClock();
  const a = await makeUa({ clock });
  const b = await makeUa({ clock });
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let pracks = 0;
  a.wire.drop = (m) => m.isRequest && m.method === 'PRACK' && pracks++ < 2;
  let prackDone = false;
  b.ua.on('invite', async (inv) => {
    await inv.progress(180, { reliable: true });
    prackDone = true;
    inv.accept();
  });
  const call = a.ua.invite(b.uri);
  await until(() => pracks === 1, 'first PRACK (lost)');
  clock.advance(500);
  await until(() => pracks === 2, 'second PRACK (lost too)');
  clock.advance(1000);
  await until(() => prackDone, 'third PRACK answered');
  const r = await call.result;
  t.ok(r.ok);
  const times = b.wire.sent.map((m, i) => [m, b.wire.at[i]] as const).filter(([m]) => !m.isRequest && m.status === 180).map(([, at]) => at);
  t.same(times.map((x) => x! - times[0]!), [0, 500, 1500], '180 at 0, T1, 3*T1');
  t.equal(new Set(b.wire.sent.filter((m) => !m.isRequest && m.status === 180).map((m) => m.rseq)).size, 1, 'same RSeq each time');
  if (r.ok) await r.session.bye();
});

t.test('RFC 3262 §3: no PRACK within 64*T1 → the INVITE is rejected with a 5xx', async (t) => {
  const clock = new VirtualClock();
  const a = await makeUa({ clock });
  const b = await makeUa({ clock });
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  a.wire.drop = (m) => m.isRequest && m.method === 'PRACK';
  let rejected: unknown;
  b.ua.on('invite', (inv) => { inv.progress(183, { reliable: true, body: SDP_B }).catch((e: unknown) => (rejected = e)); });
  const call = a.ua.invite(b.uri, { body: SDP_A });
  await next(call, 'progress');
  for (let i = 0; i < 65; i++) clock.advance(500);
  const r = await call.result;
  t.equal(r.ok ? 0 : r.status, 500);
  t.ok(rejected instanceof Error, 'progress() promise rejected');
});
