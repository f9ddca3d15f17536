import t from 'tap';
import { createResponse, parseMessage, type SipRequest } from '../../../sip-stack/message/index.js';
import { Dialog, DialogSet, DialogState } from '../../../sip-stack/dialog/index.js';
import { invite, answer } from './helpers.js';

t.test('RFC 3261 §12.1.2 / §13.2.2.4: a forked INVITE makes one early dialog per To tag', async (t) => {
  const set = new DialogSet();
  const inv = invite();
  t.equal(set.receiveInviteResponse(inv, createResponse(inv, 100)).dialog, undefined, '100 Trying makes no dialog');
  const a = set.receiveInviteResponse(inv, answer(inv, 180, 'fork-a', '<sip:bob@10.0.0.1>'));
  const b = set.receiveInviteResponse(inv, answer(inv, 183, 'fork-b', '<sip:bob@10.0.0.2>'));
  t.ok(a.created && b.created);
  t.equal(set.size, 2);
  t.same(set.dialogsOfInvite('call-1@atlanta', 'a1').map((d) => d.remoteTag).sort(), ['fork-a', 'fork-b']);
  const again = set.receiveInviteResponse(inv, answer(inv, 180, 'fork-a', '<sip:bob@10.0.0.1>'));
  t.equal(again.created, false, 'a retransmitted 180 finds the same dialog');
  t.equal(again.dialog, a.dialog);
  const ok = set.receiveInviteResponse(inv, answer(inv, 200, 'fork-b', '<sip:bob@10.0.0.2>'));
  t.equal(ok.dialog, b.dialog);
  t.equal(b.dialog!.state, DialogState.Confirmed);
  t.equal(a.dialog!.state, DialogState.Early, 'the other fork stays early until its own final response');
  const late = set.receiveInviteResponse(inv, answer(inv, 200, 'fork-c', '<sip:bob@10.0.0.3>'));
  t.ok(late.created, '§13.2.2.4: a 2xx from another fork makes a confirmed dialog too (to be ACKed and BYEd)');
  t.equal(late.dialog!.state, DialogState.Confirmed);
});

t.test('RFC 3261 §12.3: a non-2xx final response terminates every early dialog of the INVITE', async (t) => {
  const set = new DialogSet();
  const inv = invite();
  set.receiveInviteResponse(inv, answer(inv, 180, 'x'));
  set.receiveInviteResponse(inv, answer(inv, 180, 'y'));
  const out = set.receiveInviteResponse(inv, answer(inv, 486, 'z'));
  t.equal(out.terminated.length, 2);
  t.equal(set.size, 0, 'terminated dialogs leave the table');
});

t.test('RFC 3261 §12.2.2: requests for unknown dialogs get 481; known ones are checked by their dialog', async (t) => {
  const set = new DialogSet();
  const inv = invite();
  const r = Dialog.uasFromResponse(inv, answer(inv, 200));
  if (!r.ok) throw new Error(r.reason);
  set.add(r.dialog);
  t.equal(set.add(r.dialog), r.dialog, 'adding twice keeps one');
  const mk = (toTag: string, cseq: number): SipRequest => parseMessage(Buffer.from(`BYE sip:bob@127.0.0.1:5080 SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb${cseq}\r\nFrom: <sip:alice@atlanta.example>;tag=a1\r\nTo: <sip:bob@biloxi.example>;tag=${toTag}\r\n` +
    `Call-ID: call-1@atlanta\r\nCSeq: ${cseq} BYE\r\nContent-Length: 0\r\n\r\n`)) as SipRequest;
  const unknown = set.checkInDialogRequest(mk('nope', 314160));
  t.same([unknown.action, unknown.action === 'reject' ? unknown.status : 0, unknown.dialog], ['reject', 481, undefined]);
  const old = set.checkInDialogRequest(mk('b1', 1));
  t.equal(old.action === 'reject' ? old.status : 0, 500);
  const bye = set.checkInDialogRequest(mk('b1', 314160));
  t.equal(bye.action, 'accept');
  t.equal(bye.dialog, r.dialog);
  t.equal(set.size, 0, 'BYE ended and removed the dialog');
  t.equal(set.findForRequest(mk('b1', 314161)), undefined);
});

t.test('findForResponse uses the From tag as local tag; close() terminates everything', async (t) => {
  const set = new DialogSet();
  const inv = invite();
  const res = answer(inv, 180, 'q');
  const { dialog } = set.receiveInviteResponse(inv, res);
  t.equal(set.findForResponse(res), dialog);
  t.equal(set.get({ callId: 'call-1@atlanta', localTag: 'a1', remoteTag: 'q' }), dialog);
  set.close();
  t.equal(dialog!.state, DialogState.Terminated);
  t.equal(set.size, 0);
});
