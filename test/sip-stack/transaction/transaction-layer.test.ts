import t from 'tap';
import { InviteServerState, InviteServerTransaction, NonInviteServerTransaction, checkRequest } from '../../../sip-stack/transaction/index.js';
import { createRequest, createResponse, parseMessage, type SipRequest } from '../../../sip-stack/message/index.js';
import { again, request, setup, udpSource } from './helpers.js';

function cancelFor(invite: SipRequest): SipRequest {
  // A CANCEL as a UAC builds it (§9.1): same branch, Request-URI, Call-ID, From, To, CSeq number.
  return request({ method: 'CANCEL', branch: invite.topVia!.branch!, cseq: invite.cseq!.seq });
}

t.test('RFC 3261 §9.2 CANCEL before any provisional response: 200 to the CANCEL, TU told, 487 to the INVITE', async (t) => {
  const { layer, net, tu, clock } = setup();
  const invite = request({ branch: 'z9hG4bK-race-1' });
  layer.receive(invite, udpSource);
  const tx = tu.requests[0]!.tx as InviteServerTransaction;
  const seen: string[] = [];
  tx.on('cancel', (c) => seen.push(c.method));
  layer.receive(cancelFor(invite), udpSource);
  t.same(seen, ['CANCEL']);
  t.ok(tx.cancelled);
  const statuses = net.responses().map((s) => `${s.message.status} ${s.message.cseq!.method}`);
  t.same(statuses, ['200 CANCEL', '487 INVITE']);
  const [ok, terminated] = net.responses();
  t.ok(ok!.message.to?.tag, 'the 200 to the CANCEL has a To tag');
  t.equal(ok!.message.to?.tag, terminated!.message.to?.tag, '§9.2: same To tag on the 200 (CANCEL) and the 487');
  t.equal(tx.state, InviteServerState.Completed);
  t.notOk(tx.respond(createResponse(invite, 200, undefined, { toTag: 'late' })), 'a late 200 from the TU is refused');
  t.equal(tu.requests.length, 1, 'the CANCEL itself is not passed as a new request');
  clock.advance(300);
  t.equal(net.responses(100).length, 0, 'no 100 Trying after the final response');
  layer.receive(request({ method: 'ACK', branch: 'z9hG4bK-race-1', toTag: terminated!.message.to!.tag! }), udpSource);
  t.equal(tx.state, InviteServerState.Confirmed, 'the ACK for the 487 is absorbed');
  t.equal(tu.acks.length, 0);
});

t.test('CANCEL after a provisional response reuses its To tag; the TU may answer 487 itself', async (t) => {
  const { layer, net, tu } = setup();
  const invite = request();
  layer.receive(invite, udpSource);
  const tx = tu.requests[0]!.tx as InviteServerTransaction;
  tx.respond(createResponse(invite, 180, undefined, { toTag: 'ring' }));
  tx.on('cancel', () => {
    const res = createResponse(invite, 487, undefined, { toTag: 'ring' });
    res.append('Reason', 'SIP;cause=487');
    tx.respond(res);
  });
  layer.receive(cancelFor(invite), udpSource);
  const r = net.responses();
  t.same(r.map((s) => `${s.message.status}/${s.message.to?.tag}`), ['180/ring', '200/ring', '487/ring']);
  t.equal(r[2]!.message.get('Reason'), 'SIP;cause=487', "the TU's own 487 went out, no second one");
  tx.dispose();
});

t.test('CANCEL after the final response: 200 to the CANCEL, no 487, no cancel event', async (t) => {
  const { layer, net, tu } = setup();
  const invite = request();
  layer.receive(invite, udpSource);
  const tx = tu.requests[0]!.tx as InviteServerTransaction;
  let events = 0;
  tx.on('cancel', () => events++);
  tx.respond(createResponse(invite, 200, undefined, { toTag: 'ans' }));
  layer.receive(cancelFor(invite), udpSource);
  t.same(net.responses().map((s) => `${s.message.status} ${s.message.cseq!.method}`), ['200 INVITE', '200 CANCEL']);
  t.equal(events, 0);
  t.notOk(tx.cancelled);
  t.equal(tx.state, InviteServerState.Accepted);
  tx.dispose();
});

t.test('a CANCEL matching nothing is answered 481; a retransmitted CANCEL gets the same answer', async (t) => {
  const { layer, net, tu } = setup();
  const cancel = request({ method: 'CANCEL' });
  layer.receive(cancel, udpSource);
  layer.receive(again(cancel), udpSource);
  t.same(net.responses().map((s) => s.message.status), [481, 481]);
  t.same(tu.rejected.map((r) => r.status), [481]);
});

t.test('CANCEL of a non-INVITE request: 200, no other effect (§9.2)', async (t) => {
  const { layer, net, tu } = setup();
  const opts = request({ method: 'OPTIONS' });
  layer.receive(opts, udpSource);
  layer.receive(request({ method: 'CANCEL', branch: opts.topVia!.branch! }), udpSource);
  t.same(net.responses().map((s) => `${s.message.status} ${s.message.cseq!.method}`), ['200 CANCEL']);
  t.equal((tu.requests[0]!.tx as NonInviteServerTransaction).state, 'trying');
  tu.requests[0]!.tx.dispose();
});

t.test('§8.2.2.2 merged request: same From tag, Call-ID and CSeq on another branch → 482', async (t) => {
  const { layer, net, tu } = setup();
  const first = request({ branch: 'z9hG4bK-path-a' });
  layer.receive(first, udpSource);
  const forked = request({ branch: 'z9hG4bK-path-b', viaHost: '127.0.0.2:5070' });
  layer.receive(forked, udpSource);
  t.equal(tu.requests.length, 1, 'the merged copy never reaches the TU');
  t.same(net.responses().map((s) => s.message.status), [482]);
  t.ok(net.responses()[0]!.message.to?.tag, '482 carries a To tag');
  t.same(tu.rejected.map((r) => r.status), [482]);
  layer.receive(again(forked), udpSource);
  t.same(net.responses().map((s) => s.message.status), [482, 482], 'its retransmission is answered by its own transaction');
  const sameDialogNextCseq = request({ branch: 'z9hG4bK-path-c', cseq: 2 });
  layer.receive(sameDialogNextCseq, udpSource);
  t.equal(tu.requests.length, 2, 'a different CSeq is not merged');
  const inDialog = request({ branch: 'z9hG4bK-path-d', toTag: 'x' });
  layer.receive(inDialog, udpSource);
  t.equal(tu.requests.length, 3, 'a request with a To tag is not checked');
  layer.close();
});

t.test('Max-Forwards 0 on a dialog-creating request → 483 (OPTIONS exempt, §16.3)', async (t) => {
  const { layer, net, tu } = setup();
  layer.receive(request({ maxForwards: 0 }), udpSource);
  t.same(net.responses().map((s) => s.message.status), [483]);
  layer.receive(request({ method: 'OPTIONS', maxForwards: 0 }), udpSource);
  layer.receive(request({ maxForwards: 1, callId: 'c2' }), udpSource);
  t.same(tu.requests.map((r) => r.req.method), ['OPTIONS', 'INVITE']);
  layer.close();
});

t.test('§8.2.2.3 Require with an unsupported option → 420 with Unsupported', async (t) => {
  const { layer, net, tu } = setup({ policy: { supportedOptions: ['100rel', 'timer'] } });
  layer.receive(request({ headers: ['Require: 100rel, foo, bar'] }), udpSource);
  const r = net.responses();
  t.same(r.map((s) => s.message.status), [420]);
  t.same(r[0]!.message.unsupported, ['foo', 'bar'], 'only the unknown ones');
  layer.receive(request({ callId: 'ok', headers: ['Require: timer'] }), udpSource);
  t.equal(tu.requests.length, 1);
  layer.close();
});

t.test('§8.2.1 a known but unsupported method → 405 with Allow; an unknown method → 501', async (t) => {
  const { layer, net, tu } = setup({ policy: { allowedMethods: ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS'] } });
  layer.receive(request({ method: 'SUBSCRIBE' }), udpSource);
  layer.receive(request({ method: 'FROBNICATE', callId: 'c2' }), udpSource);
  const r = net.responses();
  t.same(r.map((s) => s.message.status), [405, 501]);
  t.same(r[0]!.message.allow, ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS']);
  t.equal(tu.requests.length, 0);
  t.equal(layer.counters.rejected, 2);
});

t.test('without a policy, unknown methods still get 501 and known ones reach the TU', async (t) => {
  const { layer, net, tu } = setup();
  layer.receive(request({ method: 'XYZZY' }), udpSource);
  layer.receive(request({ method: 'SUBSCRIBE', callId: 'c2' }), udpSource);
  t.same(net.responses().map((s) => s.message.status), [501]);
  t.same(tu.requests.map((r) => r.req.method), ['SUBSCRIBE']);
  layer.close();
});

t.test('checkRequest is usable on its own and never rejects ACK or CANCEL', async (t) => {
  t.equal(checkRequest(request({ method: 'ACK', maxForwards: 0 }), { allowedMethods: ['INVITE'] }), undefined);
  t.equal(checkRequest(request({ method: 'CANCEL' }), { allowedMethods: ['INVITE'] }), undefined);
  t.same(checkRequest(request({ method: 'BYE' }), { allowedMethods: ['INVITE'] }), { status: 405, headers: [['Allow', 'INVITE']] });
});

t.test('RFC 2543 fallback (no magic cookie): retransmission matched by Request-URI, tags, Call-ID, CSeq, Via', async (t) => {
  const { layer, net, tu } = setup();
  const old = request({ branch: null, callId: 'legacy@x' });
  layer.receive(old, udpSource);
  t.equal(tu.requests.length, 1);
  layer.receive(again(old), udpSource);
  t.equal(tu.requests.length, 1, 'retransmission absorbed');
  const tx = tu.requests[0]!.tx as InviteServerTransaction;
  tx.respond(createResponse(old, 486, undefined, { toTag: 'old-tag' }));
  // ACK: same Request-URI, From tag, Call-ID, CSeq number, Via; To tag of our response.
  const ack = request({ method: 'ACK', branch: null, callId: 'legacy@x', toTag: 'old-tag' });
  layer.receive(ack, udpSource);
  t.equal(tx.state, InviteServerState.Confirmed, 'ACK matched through the response To tag');
  t.equal(tu.acks.length, 0);
  const otherUri = request({ branch: null, callId: 'legacy@x', uri: 'sip:other@127.0.0.1', cseq: 5 });
  layer.receive(otherUri, udpSource);
  t.equal(tu.requests.length, 2, 'a different request is a new transaction');
  t.equal(net.responses(486).length, 1);
  layer.close();
});

t.test('RFC 2543 CANCEL matches the INVITE without a branch', async (t) => {
  const { layer, net, tu } = setup();
  const old = request({ branch: null, callId: 'legacy2@x' });
  layer.receive(old, udpSource);
  layer.receive(request({ method: 'CANCEL', branch: null, callId: 'legacy2@x' }), udpSource);
  t.same(net.responses().map((s) => `${s.message.status} ${s.message.cseq!.method}`), ['200 CANCEL', '487 INVITE']);
  t.ok((tu.requests[0]!.tx as InviteServerTransaction).cancelled);
  layer.close();
});

t.test('§17.2.3 sent-by is part of the match: same branch from another host is a different transaction', async (t) => {
  const { layer, tu } = setup({ policy: { detectMergedRequests: false } });
  layer.receive(request({ branch: 'z9hG4bK-same', viaHost: '127.0.0.1:5070' }), udpSource);
  layer.receive(request({ branch: 'z9hG4bK-same', viaHost: '127.0.0.9:5070' }), udpSource);
  t.equal(tu.requests.length, 2);
  layer.close();
});

t.test('ACK matching no transaction (ACK for 2xx) goes to the TU', async (t) => {
  const { layer, tu } = setup();
  layer.receive(request({ method: 'ACK', toTag: 'dlg' }), udpSource);
  t.equal(tu.acks.length, 1);
  t.equal(layer.counters.acksToTu, 1);
});

t.test('a response matching no client transaction is stray and goes to the TU', async (t) => {
  const { layer, tu } = setup();
  const res = parseMessage(createResponse(request(), 200, undefined, { toTag: 'z' }).toBuffer());
  layer.receive(res, udpSource);
  t.equal(tu.stray.length, 1);
  t.equal(layer.counters.strayResponses, 1);
});

t.test('malformed input never throws: a bad CSeq is answered 400, a response without Via branch is dropped', async (t) => {
  const { layer, net, tu } = setup();
  // The transport's parser checks core headers; a header broken after parsing (or by a lenient parser) must not
  // crash the layer either.
  const bad = request({ branch: 'z9hG4bK-bad' });
  bad.set('CSeq', 'abc INVITE');
  t.doesNotThrow(() => layer.receive(bad, udpSource));
  t.same(net.responses().map((s) => s.message.status), [400]);
  const noBranch = parseMessage(Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n'));
  t.doesNotThrow(() => layer.receive(noBranch, udpSource));
  t.equal(tu.stray.length, 0);
  t.equal(layer.counters.malformed, 2);
  t.equal(tu.requests.length, 0);
});

t.test('an exception thrown by the TU is caught and counted', async (t) => {
  const { layer, tu } = setup();
  tu.onRequest = () => {
    throw new Error('buggy TU');
  };
  t.doesNotThrow(() => layer.receive(request(), udpSource));
  t.equal(layer.counters.tuErrors, 1);
  layer.close();
});

t.test('sendRequest refuses ACK, a missing Via and a reused branch; close() refuses new work', async (t) => {
  const { layer } = setup();
  const user = { receiveResponse() {} };
  const target = { transport: 'udp' as const, address: '127.0.0.1', port: 5080 };
  t.throws(() => layer.sendRequest(request({ method: 'ACK' }), target, user), { code: 'DPBX_ERR_TRANSACTION_BAD_REQUEST' });
  const noVia = createRequest({ method: 'OPTIONS', uri: 'sip:x@127.0.0.1', from: 'sip:a@127.0.0.1', to: 'sip:x@127.0.0.1' });
  t.throws(() => layer.sendRequest(noVia, target, user), { code: 'DPBX_ERR_TRANSACTION_BAD_REQUEST' });
  const r = request({ method: 'OPTIONS', branch: 'z9hG4bK-dup' });
  layer.sendRequest(r, target, user);
  t.throws(() => layer.sendRequest(again(r), target, user), { code: 'DPBX_ERR_TRANSACTION_BAD_REQUEST' });
  layer.close();
  t.equal(layer.clientTransactionCount, 0);
  t.throws(() => layer.sendRequest(request({ method: 'OPTIONS' }), target, user), { code: 'DPBX_ERR_TRANSACTION_CLOSED' });
});

t.test('sendRequest adds an RFC 3261 branch when the Via has none; sendAck sends statelessly', async (t) => {
  const { layer, net } = setup();
  const req = request({ method: 'OPTIONS', branch: null });
  const tx = layer.sendRequest(req, { transport: 'udp', address: '127.0.0.1', port: 5080 }, { receiveResponse() {} });
  t.match(net.sent[0]!.message.toString(), /Via: SIP\/2.0\/UDP 127.0.0.1:5070;branch=z9hG4bK[0-9a-f]{32}\r\n/);
  tx.dispose();
  const ack = request({ method: 'ACK', branch: null, toTag: 't' });
  const r = await layer.sendAck(ack, { transport: 'udp', address: '127.0.0.1', port: 5080 });
  t.ok(r.ok);
  t.ok(ack.topVia?.isRfc3261Branch, 'ACK for 2xx got its own branch');
  t.equal(layer.clientTransactionCount, 0, 'no transaction for the ACK');
});

t.test('a Via replaced after topVia was read keys the client transaction by the new branch', async (t) => {
  const { layer, net } = setup();
  const user = { statuses: [] as number[], receiveResponse(r: { status: number }) { this.statuses.push(r.status); } };
  const req = request({ method: 'OPTIONS', branch: 'z9hG4bK-old' });
  void req.topVia;
  req.remove('Via');
  req.prependVia('SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-new');
  layer.sendRequest(req, { transport: 'udp', address: '127.0.0.1', port: 5080 }, user);
  t.equal(net.sent[0]!.message.topVia?.branch, 'z9hG4bK-new');
  layer.receive(parseMessage(createResponse(req, 200, undefined, { toTag: 'x' }).toBuffer()), udpSource);
  t.same(user.statuses, [200], 'the response to the new branch matches');
  layer.close();
});
