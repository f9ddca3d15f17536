import t from 'tap';
import { createRequest, createResponse, type SipResponse } from '../../../sip-stack/message/index.js';
import { VirtualClock } from '../../../sip-stack/transaction/index.js';
import { Dialog, ReliableProvisionalSender, ReliableProvisionalState, RSeqTracker, buildRAck, initialRSeq,
  isReliableProvisional } from '../../../sip-stack/dialog/index.js';
import { invite, answer } from './helpers.js';

function reliable(rseq: number, status = 183, tag = 'b1', cseq = 314159): SipResponse {
  const inv = invite({ cseq });
  const res = answer(inv, status, tag);
  res.append('Require', '100rel');
  res.set('RSeq', rseq);
  return res;
}

function prackFor(res: SipResponse, rack = buildRAck(res)!) {
  return createRequest({ method: 'PRACK', uri: 'sip:bob@127.0.0.1:5080', from: '<sip:alice@atlanta.example>', fromTag: 'a1',
    to: '<sip:bob@biloxi.example>;tag=b1', callId: 'call-1@atlanta', cseq: 314160, headers: [['RAck', rack]] });
}

t.test('RFC 3262 §3: the first RSeq is between 1 and 2**31-1', async (t) => {
  for (let i = 0; i < 200; i++) {
    const v = initialRSeq();
    t.ok(Number.isInteger(v) && v >= 1 && v <= 0x7fffffff);
  }
});

t.test('RFC 3262 §3: reliable provisionals get Require: 100rel and RSeq increasing by exactly one', async (t) => {
  const clock = new VirtualClock();
  const sent: SipResponse[] = [];
  const s = new ReliableProvisionalSender({ clock, firstRSeq: 41, send: (r) => sent.push(r), onTimeout: () => t.fail('timeout') });
  const inv = invite();
  const r1 = answer(inv, 180);
  s.send(r1);
  t.equal(r1.rseq, 41);
  t.same(r1.require, ['100rel']);
  t.ok(isReliableProvisional(r1));
  t.equal(s.state, ReliableProvisionalState.AwaitingPrack);
  const r2 = answer(inv, 183);
  s.send(r2);
  t.equal(sent.length, 1, '"MUST NOT send a second reliable provisional response until the first is acknowledged"');
  t.same(s.receivePrack(prackFor(r1)), { status: 200, acknowledged: r1 });
  t.equal(sent.length, 2, 'the queued one goes out after the PRACK');
  t.equal(sent[1]!.rseq, 42);
  t.throws(() => s.send(createResponse(inv, 200)), { code: 'DPBX_ERR_DIALOG_OPTIONS' });
  t.throws(() => s.send(createResponse(inv, 100)), { code: 'DPBX_ERR_DIALOG_OPTIONS' });
});

t.test('RFC 3262 §3: retransmission from T1 doubling until PRACK; 64*T1 without PRACK → timeout (reject with 5xx)', async (t) => {
  const clock = new VirtualClock();
  const times: number[] = [];
  let timedOut: SipResponse | undefined;
  const s = new ReliableProvisionalSender({ clock, t1: 500, firstRSeq: 1, send: () => times.push(clock.now()),
    onTimeout: (r) => { timedOut = r; } });
  const r = answer(invite(), 183);
  s.send(r);
  clock.advance(40_000);
  t.same(times, [0, 500, 1500, 3500, 7500, 15500, 31500], 'intervals 0.5, 1, 2, 4, 8, 16 s — not capped at T2');
  t.equal(timedOut, r, 'timeout at 64*T1 = 32 s');
  t.equal(s.state, ReliableProvisionalState.TimedOut);
  t.equal(s.receivePrack(prackFor(r)).status, 481, 'a late PRACK matches nothing');
  t.throws(() => s.send(answer(invite(), 180)), { code: 'DPBX_ERR_DIALOG_STATE' });
});

t.test('RFC 3262 §3: a PRACK stops the retransmissions; a PRACK that matches nothing gets 481', async (t) => {
  const clock = new VirtualClock();
  let n = 0;
  const s = new ReliableProvisionalSender({ clock, firstRSeq: 7, send: () => n++, onTimeout: () => t.fail('timeout') });
  const r = answer(invite(), 183);
  s.send(r);
  clock.advance(1600);
  t.equal(n, 3);
  t.equal(s.receivePrack(prackFor(r, '8 314159 INVITE')).status, 481, 'wrong RSeq');
  t.equal(s.receivePrack(prackFor(r, '7 314158 INVITE')).status, 481, 'wrong CSeq');
  t.equal(s.receivePrack(prackFor(r, '7 314159 BYE')).status, 481, 'wrong method');
  t.equal(s.receivePrack(prackFor(r, 'garbage')).status, 481, 'malformed RAck → 481, no throw');
  t.equal(s.receivePrack(prackFor(r)).status, 200);
  t.equal(s.receivePrack(prackFor(r)).status, 481, 'already acknowledged');
  clock.advance(60_000);
  t.equal(n, 3, 'no retransmission after the PRACK');
  t.equal(clock.pending, 0, 'no timers left');
  s.send(answer(invite(), 180));
  s.close();
  t.equal(clock.pending, 0, 'close() clears the timers');
  s.close();
});

t.test('RFC 3262 §4: the UAC PRACKs in-order reliable provisionals only (retransmissions and gaps are not PRACKed)', async (t) => {
  const tr = new RSeqTracker();
  t.equal(tr.receive(reliable(10)), 'prack');
  t.equal(tr.receive(reliable(10)), 'retransmission');
  t.equal(tr.receive(reliable(12)), 'out-of-order');
  t.equal(tr.receive(reliable(11)), 'prack');
  const plain = answer(invite(), 180);
  t.equal(tr.receive(plain), 'not-reliable');
  t.equal(tr.receive(reliable(500, 183, 'b1', 314170)), 'prack', 'a new INVITE (re-INVITE) restarts the space');
});

t.test('RFC 3262 §7.2: the PRACK is an in-dialog request carrying RAck = RSeq CSeq method', async (t) => {
  const inv = invite();
  const first = reliable(99);
  const r = Dialog.uacFromResponse(inv, first);
  if (!r.ok) throw new Error(r.reason);
  const { verdict, prack } = r.dialog.receiveReliableProvisional(first);
  t.equal(verdict, 'prack');
  t.equal(prack!.method, 'PRACK');
  t.equal(prack!.get('RAck'), '99 314159 INVITE');
  t.same(prack!.rack, { rseq: 99, cseq: 314159, method: 'INVITE' });
  t.equal(prack!.cseq!.seq, 314160, 'PRACK takes the next local CSeq');
  t.equal(prack!.to!.tag, 'b1');
  t.equal(r.dialog.receiveReliableProvisional(first).prack, undefined, 'retransmission: no second PRACK');
});
