import t from 'tap';
import { createResponse, parseMessage, type SipRequest } from '../../../sip-stack/message/index.js';
import { Dialog, DialogState, DialogError, type InDialogVerdict } from '../../../sip-stack/dialog/index.js';
import { invite, answer, ALICE_CONTACT, BOB_CONTACT } from './helpers.js';

const RR = ['<sip:p1.example;lr>', '<sip:p2.example;lr>'];

function uac(status = 200, rr = RR) {
  const inv = invite({ recordRoute: rr });
  const r = Dialog.uacFromResponse(inv, answer(inv, status));
  if (!r.ok) throw new Error(r.reason);
  return { inv, d: r.dialog };
}
function uas(status = 200, rr = RR) {
  const inv = invite({ recordRoute: rr });
  const res = answer(inv, status);
  const r = Dialog.uasFromResponse(inv, res);
  if (!r.ok) throw new Error(r.reason);
  return { inv, res, d: r.dialog };
}
/** A request from Alice (UAC side) as Bob's UAS dialog receives it. */
function fromAlice(d: Dialog, method: string, cseq: number, extra = ''): SipRequest {
  return parseMessage(Buffer.from(`${method} sip:bob@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${method}${cseq}\r\n` +
    `From: <sip:alice@atlanta.example>;tag=${d.remoteTag}\r\nTo: <sip:bob@biloxi.example>;tag=${d.localTag}\r\nCall-ID: ${d.callId}\r\n` +
    `CSeq: ${cseq} ${method}\r\n${extra}Content-Length: 0\r\n\r\n`)) as SipRequest;
}
function status(v: InDialogVerdict): number {
  return v.action === 'accept' ? 0 : v.status;
}

t.test('RFC 3261 §12.1.2: UAC dialog state from the 2xx — id, reversed route set, remote target, local CSeq', async (t) => {
  const { d } = uac();
  t.equal(d.state, DialogState.Confirmed);
  t.same(d.id, { callId: 'call-1@atlanta', localTag: 'a1', remoteTag: 'b1' });
  t.same(d.routeSet.map(String), ['<sip:p2.example;lr>', '<sip:p1.example;lr>'], 'Record-Route reversed');
  t.equal(d.remoteTarget.toString(), 'sip:bob@127.0.0.1:5080');
  t.equal(d.localSeq, 314159);
  t.equal(d.remoteSeq, undefined, 'remote CSeq empty');
  t.equal(d.localTarget?.toString(), ALICE_CONTACT);
  t.equal(d.secure, false);
});

t.test('RFC 3261 §12.1.1: UAS dialog state — route set in order, remote target from the INVITE Contact, remote CSeq', async (t) => {
  const { d } = uas();
  t.same(d.id, { callId: 'call-1@atlanta', localTag: 'b1', remoteTag: 'a1' });
  t.same(d.routeSet.map(String), RR);
  t.equal(d.remoteTarget.toString(), 'sip:alice@127.0.0.1:5070;transport=udp');
  t.equal(d.remoteSeq, 314159);
  t.equal(d.localSeq, undefined);
  t.equal(d.localTarget?.toString(), BOB_CONTACT);
  t.equal(d.ackPending, true, 'waiting for the ACK of our 2xx');
});

t.test('RFC 3261 §12.1.1: the UAS response copies Record-Route in order and adds Contact', async (t) => {
  const inv = invite({ recordRoute: RR });
  const res = answer(inv, 180);
  t.same(res.getAll('Record-Route'), RR);
  t.equal(res.get('Contact'), BOB_CONTACT);
});

t.test('dialogs are only made from INVITE and 101-299 with a To tag; bad input gives ok:false', async (t) => {
  const inv = invite();
  t.equal(Dialog.uacFromResponse(inv, createResponse(inv, 180)).ok, false, 'no To tag');
  t.equal(Dialog.uacFromResponse(inv, answer(inv, 100)).ok, false, '100 never creates a dialog');
  t.equal(Dialog.uacFromResponse(inv, answer(inv, 486)).ok, false);
  const noContact = createResponse(inv, 200, undefined, { toTag: 'x' });
  t.equal(Dialog.uacFromResponse(inv, noContact).ok, false, '2xx without Contact');
  const early = Dialog.uacFromResponse(inv, createResponse(inv, 180, undefined, { toTag: 'x' }));
  t.equal(early.ok, true, 'deviation: an 18x without Contact still makes an early dialog');
  const noInviteContact = invite();
  noInviteContact.remove('Contact');
  t.equal(Dialog.uasFromResponse(noInviteContact, answer(noInviteContact, 200)).ok, false);
});

t.test('RFC 3261 §12.2.1.1: in-dialog request — Request-URI = remote target, Route = route set, tags, CSeq+1', async (t) => {
  const { d } = uac();
  const bye = d.createRequest('INFO', { via: 'SIP/2.0/UDP 127.0.0.1:5070', body: 'x', contentType: 'text/plain' });
  t.equal(bye.uriText, 'sip:bob@127.0.0.1:5080');
  t.same(bye.getAll('Route'), ['<sip:p2.example;lr>', '<sip:p1.example;lr>']);
  t.equal(bye.from!.tag, 'a1');
  t.equal(bye.to!.tag, 'b1');
  t.equal(bye.callId, 'call-1@atlanta');
  t.same(bye.cseq, { seq: 314160, method: 'INFO' });
  t.equal(bye.get('Contact'), undefined, 'INFO carries no Contact');
  t.equal(bye.get('Content-Type'), 'text/plain');
  t.equal(d.createRequest('UPDATE').get('Contact'), ALICE_CONTACT, 'UPDATE carries the local target');
  t.equal(d.localSeq, 314161);
});

t.test('RFC 3261 §12.2.1.1: empty route set → no Route header', async (t) => {
  const { d } = uac(200, []);
  const r = d.createRequest('OPTIONS');
  t.equal(r.get('Route'), undefined);
  t.equal(r.uriText, 'sip:bob@127.0.0.1:5080');
});

t.test('RFC 3261 §12.2.1.1: strict router — first route becomes the Request-URI, remote target appended to Route', async (t) => {
  const { d } = uac(200, ['<sip:strict.example;maddr=10.0.0.1>', '<sip:p1.example;lr>']);
  // UAC route set is reversed: p1 (loose) first... make the strict one first by using the UAS side.
  const inv = invite({ recordRoute: ['<sip:strict.example;method=INVITE;maddr=10.0.0.1>', '<sip:p1.example;lr>'] });
  const r = Dialog.uasFromResponse(inv, answer(inv, 200));
  if (!r.ok) throw new Error(r.reason);
  const req = r.dialog.createRequest('BYE');
  t.equal(req.uriText, 'sip:strict.example;maddr=10.0.0.1', 'method parameter stripped');
  t.same(req.getAll('Route'), ['<sip:p1.example;lr>', '<sip:alice@127.0.0.1:5070;transport=udp>']);
  t.equal(d.createRequest('OPTIONS').uriText, 'sip:bob@127.0.0.1:5080', 'loose first hop keeps the remote target');
});

t.test('RFC 3261 §12.2.1.1: the UAS side starts its own CSeq space when the local sequence is empty', async (t) => {
  const { d } = uas();
  const r = d.createRequest('INFO');
  t.equal(r.cseq!.seq, 1);
  t.equal(r.from!.tag, 'b1', 'From = local URI + local tag (the To of the INVITE)');
  t.equal(r.from!.uri.toString(), 'sip:bob@biloxi.example');
  t.equal(r.to!.tag, 'a1');
  t.equal(r.to!.displayName, 'Alice');
});

t.test('RFC 3261 §13.2.2.4: the ACK for a 2xx has the INVITE CSeq number, method ACK, the INVITE credentials; same ACK for retransmissions', async (t) => {
  const inv = invite({ recordRoute: RR });
  inv.append('Proxy-Authorization', 'Digest username="alice", realm="atlanta", nonce="n", uri="sip:bob@biloxi.example", response="00"');
  const ok = answer(inv, 200);
  const r = Dialog.uacFromResponse(inv, ok);
  if (!r.ok) throw new Error(r.reason);
  const ack = r.dialog.createAck(ok);
  t.same(ack.cseq, { seq: 314159, method: 'ACK' });
  t.equal(ack.uriText, 'sip:bob@127.0.0.1:5080');
  t.same(ack.getAll('Route'), ['<sip:p2.example;lr>', '<sip:p1.example;lr>']);
  t.match(ack.get('Proxy-Authorization'), /username="alice"/);
  t.equal(r.dialog.createAck(ok), ack, 'a retransmitted 2xx gets the same ACK');
  t.equal(r.dialog.localSeq, 314159, 'ACK does not consume a CSeq number');
  t.throws(() => r.dialog.createAck(answer(inv, 180)), { code: 'DPBX_ERR_DIALOG_METHOD' });
  t.throws(() => r.dialog.createRequest('ACK'), DialogError);
  t.throws(() => r.dialog.createRequest('CANCEL'), { code: 'DPBX_ERR_DIALOG_METHOD' });
});

t.test('RFC 3261 §12.2.2: a lower CSeq is out of order → 500 with Retry-After; higher ones update the remote CSeq', async (t) => {
  const { d } = uas();
  d.receiveAck(fromAlice(d, 'ACK', 314159));
  t.equal(status(d.checkInDialogRequest(fromAlice(d, 'INFO', 314160))), 0);
  t.equal(d.remoteSeq, 314160);
  const v = d.checkInDialogRequest(fromAlice(d, 'INFO', 314150));
  t.equal(status(v), 500);
  if (v.action === 'reject') {
    const ra = v.headers.find(([k]) => k === 'Retry-After');
    t.ok(ra && Number(ra[1]) >= 0 && Number(ra[1]) <= 10, 'Retry-After between 0 and 10');
  }
  t.equal(d.remoteSeq, 314160, 'rejected request does not move the remote CSeq');
  t.equal(status(d.checkInDialogRequest(fromAlice(d, 'ACK', 1))), 0, 'ACK is not sequenced');
});

t.test('RFC 3261 §12.2.2: the UAS sets an empty remote CSeq from the first request (UAC side receiving)', async (t) => {
  const { d } = uac();
  t.equal(d.remoteSeq, undefined);
  const req = parseMessage(Buffer.from(`INFO sip:alice@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKx\r\n` +
    `From: <sip:bob@biloxi.example>;tag=b1\r\nTo: <sip:alice@atlanta.example>;tag=a1\r\nCall-ID: call-1@atlanta\r\nCSeq: 7 INFO\r\nContent-Length: 0\r\n\r\n`)) as SipRequest;
  t.equal(status(d.checkInDialogRequest(req)), 0);
  t.equal(d.remoteSeq, 7);
});

t.test('RFC 3261 §12.2.2: a request whose tags or Call-ID do not match the dialog gets 481', async (t) => {
  const { d } = uas();
  const req = fromAlice(d, 'BYE', 314160);
  req.set('To', '<sip:bob@biloxi.example>;tag=zzz');
  t.equal(status(d.checkInDialogRequest(req)), 481);
  d.terminate();
  t.equal(status(d.checkInDialogRequest(fromAlice(d, 'BYE', 314161))), 481, 'terminated dialog → 481');
});

t.test('RFC 3261 §14.2: an INVITE received while our re-INVITE is in progress gets 491 (glare)', async (t) => {
  const { d } = uac();
  d.createAck(answer(invite({ recordRoute: RR }), 200));
  const reinv = d.createRequest('INVITE');
  t.equal(reinv.get('Contact'), ALICE_CONTACT);
  t.equal(d.inviteInProgress, true);
  const theirs = parseMessage(Buffer.from(`INVITE sip:alice@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKg\r\n` +
    `From: <sip:bob@biloxi.example>;tag=b1\r\nTo: <sip:alice@atlanta.example>;tag=a1\r\nCall-ID: call-1@atlanta\r\nCSeq: 3 INVITE\r\n` +
    `Contact: ${BOB_CONTACT}\r\nContent-Length: 0\r\n\r\n`)) as SipRequest;
  t.equal(status(d.checkInDialogRequest(theirs)), 491);
  t.throws(() => d.createRequest('INVITE'), { code: 'DPBX_ERR_DIALOG_PENDING' }, '§14.1: no second INVITE of ours either');
  const ok = createResponse(reinv, 200);
  ok.set('Contact', '<sip:bob@192.0.2.9:5080>');
  d.receiveResponse(ok);
  t.equal(d.inviteInProgress, false);
  t.equal(d.remoteTarget.toString(), 'sip:bob@192.0.2.9:5080', '§12.2.1.2: 2xx to re-INVITE refreshes the remote target');
  t.equal(status(d.checkInDialogRequest(theirs)), 0, 'after our re-INVITE completed the INVITE is accepted');
});

t.test('RFC 3261 §14.2: a second INVITE before the final response to the first gets 500 with Retry-After', async (t) => {
  const { d } = uas();
  d.receiveAck(fromAlice(d, 'ACK', 314159));
  const c = `Contact: <sip:alice@192.0.2.1:5070>\r\n`;
  t.equal(status(d.checkInDialogRequest(fromAlice(d, 'INVITE', 314160, c))), 0);
  t.equal(d.remoteTarget.toString(), 'sip:alice@192.0.2.1:5070', '§12.2.2: target refresh on re-INVITE');
  const v = d.checkInDialogRequest(fromAlice(d, 'INVITE', 314161));
  t.equal(status(v), 500);
  t.ok(v.action === 'reject' && v.headers.some(([k]) => k === 'Retry-After'));
  const ok = createResponse(fromAlice(d, 'INVITE', 314160), 200);
  d.localResponseSent(ok);
  t.equal(d.ackPending, true);
  t.equal(d.receiveAck(fromAlice(d, 'ACK', 314159)), false, 'ACK of an older INVITE does not stop the wait');
  t.equal(d.receiveAck(fromAlice(d, 'ACK', 314160)), true, '§13.3.1.4: the ACK with the INVITE CSeq');
  t.equal(status(d.checkInDialogRequest(fromAlice(d, 'INVITE', 314162))), 0);
});

t.test('RFC 3311 §5.2: UPDATE glare → 491; UPDATE refreshes the remote target', async (t) => {
  const { d } = uas();
  const mine = d.createRequest('UPDATE');
  t.equal(status(d.checkInDialogRequest(fromAlice(d, 'UPDATE', 314160))), 491);
  d.receiveResponse(createResponse(mine, 200));
  t.equal(status(d.checkInDialogRequest(fromAlice(d, 'UPDATE', 314161, 'Contact: <sip:alice@198.51.100.1>\r\n'))), 0);
  t.equal(d.remoteTarget.toString(), 'sip:alice@198.51.100.1');
});

t.test('RFC 3261 §14.1: 491 retry delay — 2.1–4 s for the Call-ID owner, 0–2 s otherwise, in 10 ms units', async (t) => {
  const { d: owner } = uac();
  const { d: other } = uas();
  t.equal(owner.glareRetryDelayMs(() => 0), 2100);
  t.equal(owner.glareRetryDelayMs(() => 0.9999999), 4000);
  t.equal(other.glareRetryDelayMs(() => 0), 0);
  t.equal(other.glareRetryDelayMs(() => 0.9999999), 2000);
  for (let i = 0; i < 50; i++) t.equal(owner.glareRetryDelayMs() % 10, 0);
});

t.test('RFC 3261 §15: BYE terminates the dialog on both sides; the callee must not BYE an early dialog', async (t) => {
  const { d } = uac();
  const states: string[] = [];
  d.onStateChange((_d, from, to) => states.push(`${from}->${to}`));
  const bye = d.createBye();
  t.equal(bye.method, 'BYE');
  t.equal(d.state, DialogState.Terminated, '§15.1.1: terminated as soon as the BYE is passed on');
  t.same(states, ['confirmed->terminated']);
  t.throws(() => d.createRequest('INFO'), { code: 'DPBX_ERR_DIALOG_STATE' });

  const s = uas();
  t.equal(status(s.d.checkInDialogRequest(fromAlice(s.d, 'BYE', 314160))), 0);
  t.equal(s.d.state, DialogState.Terminated, '§15.1.2');

  const early = uas(180);
  t.equal(early.d.state, DialogState.Early);
  t.throws(() => early.d.createBye(), { code: 'DPBX_ERR_DIALOG_STATE' });
  const callerEarly = uac(180);
  t.equal(callerEarly.d.createBye().method, 'BYE', 'the caller may BYE an early dialog');
});

t.test('RFC 3261 §12.1 / §13.3.1.4: UAS early dialog → confirmed on our 2xx; terminated on our non-2xx', async (t) => {
  const a = uas(180);
  t.equal(a.d.inviteInProgress, true);
  a.d.localResponseSent(answer(a.inv, 200));
  t.equal(a.d.state, DialogState.Confirmed);
  t.equal(a.d.inviteInProgress, false);
  t.equal(a.d.ackPending, true);
  const b = uas(183);
  b.d.localResponseSent(answer(b.inv, 486));
  t.equal(b.d.state, DialogState.Terminated);
});

t.test('RFC 3261 §12.1.2 / §13.2.2.4: the UAC recomputes the route set from the 2xx and confirms; 481 and 408 end the dialog', async (t) => {
  const inv = invite({ recordRoute: RR });
  const r = Dialog.uacFromResponse(inv, answer(inv, 180));
  if (!r.ok) throw new Error(r.reason);
  const d = r.dialog;
  t.equal(d.state, DialogState.Early);
  const ok = answer(inv, 200, 'b1', '<sip:bob@203.0.113.5>');
  ok.remove('Record-Route');
  ok.append('Record-Route', '<sip:p9.example;lr>');
  d.receiveResponse(ok);
  t.equal(d.state, DialogState.Confirmed);
  t.same(d.routeSet.map(String), ['<sip:p9.example;lr>']);
  t.equal(d.remoteTarget.toString(), 'sip:bob@203.0.113.5');
  const info = d.createRequest('INFO');
  d.receiveResponse(createResponse(info, 481));
  t.equal(d.state, DialogState.Terminated, '§12.2.1.2: 481 terminates');
  const d2 = uac().d;
  d2.receiveResponse(createResponse(d2.createRequest('OPTIONS'), 408));
  t.equal(d2.state, DialogState.Terminated, '§12.2.1.2: 408 terminates');
});

t.test('bad network input never throws from the dialog', async (t) => {
  const { d } = uas();
  const broken = fromAlice(d, 'INFO', 314160);
  broken.set('CSeq', 'garbage');
  t.equal(status(d.checkInDialogRequest(broken)), 481);
  const res = createResponse(broken, 200);
  t.doesNotThrow(() => d.receiveResponse(res));
  t.doesNotThrow(() => d.localResponseSent(res));
  t.equal(d.receiveAck(broken), false);
});
