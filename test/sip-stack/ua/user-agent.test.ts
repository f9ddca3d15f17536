/**
 * Two UserAgents over loopback UDP: basic call, CANCEL with Reason (RFC 3326), reject, digest retry, 100rel/PRACK,
 * in-dialog requests both ways, out-of-dialog requests, unknown dialogs.
 */
import t from 'tap';
import { VirtualClock, DigestServer, type SipRequest } from '../../../sip-stack/index.js';
import type { UserAgentOptions } from '../../../sip-stack/ua/index.js';
import { type IncomingRequest, type Session, type UasInvite, UaError } from '../../../sip-stack/ua/index.js';
import { SDP_A, SDP_B, describe, makeUa, next, until } from './helpers.js';

/**
 * RFC timers stay still in these tests (a VirtualClock nobody advances): counts of messages on the wire do not
 * depend on how fast the machine is. Timer behaviour is tested in timers.test.ts.
 */
const mk = (o: UserAgentOptions = {}) => makeUa({ clock: new VirtualClock(), ...o });

t.test('a call: INVITE → 180 → 200 with SDP → ACK → BYE from the caller (RFC 3261 §13, §15)', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let uas: UasInvite | undefined;
  let bSession: Session | undefined;
  b.ua.on('invite', (inv) => {
    uas = inv;
    void inv.progress(180);
    bSession = inv.accept({ body: SDP_B });
  });
  const call = a.ua.invite(`${b.uri}`, { body: SDP_A });
  const progress = next(call, 'progress');
  const r = await call.result;
  t.ok(r.ok, 'answered');
  if (!r.ok) return;
  const [p] = await progress as [{ status: number }];
  t.equal(p.status, 180, 'caller saw 180 before the 200');
  t.equal(r.session.remoteSdp, SDP_B, 'caller has the answer');
  t.equal(uas!.request.body.toString(), SDP_A, 'callee has the offer');
  await until(() => bSession!.state === 'confirmed', 'ACK at the callee');
  t.equal(a.wire.sent.filter((m) => m.isRequest && m.method === 'ACK').length, 1, 'exactly one ACK');
  const ack = a.wire.sent.find((m) => m.isRequest && m.method === 'ACK') as SipRequest;
  t.equal(ack.cseq?.seq, call.request.cseq?.seq, '§13.2.2.4: ACK CSeq number = INVITE CSeq number');
  t.not(ack.topVia?.branch, call.request.topVia?.branch, 'the ACK for a 2xx is a new transaction (new branch)');
  const ended = next(bSession!, 'terminated');
  const res = await r.session.bye();
  t.equal(res?.status, 200, 'BYE answered 200');
  t.same(await ended, ['remote-bye'], 'callee session ended by the remote BYE');
  t.equal(r.session.state, 'terminated');
  t.equal(a.ua.usageCount + b.ua.usageCount, 0, 'no dialog left on either side');
});

t.test('CANCEL after 180 carries the RFC 3326 Reason; the callee sees cancelled, the caller 487', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  const cancelled = new Promise<SipRequest>((resolve) => b.ua.on('invite', (inv) => {
    void inv.progress(180);
    inv.on('cancelled', (req) => resolve(req));
  }));
  const call = a.ua.invite(b.uri);
  call.on('progress', () => call.cancel('SIP;cause=200;text="Call completed elsewhere"'));
  const cancel = await cancelled;
  t.equal(cancel.method, 'CANCEL');
  t.same(cancel.reasons.map((r) => [r.protocol, r.cause]), [['SIP', 200]], 'Reason header on the CANCEL');
  const r = await call.result;
  t.notOk(r.ok);
  if (r.ok) return;
  t.equal(r.status, 487, '487 Request Terminated');
  t.ok(r.cancelled, 'result says cancelled');
  await until(() => a.wire.sent.some((m) => m.isRequest && m.method === 'ACK'), 'ACK for the 487');
});

t.test('CANCEL before any provisional waits for the 1xx (§9.1) and still ends the call', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let inv: UasInvite | undefined;
  b.ua.on('invite', (i) => (inv = i));
  const call = a.ua.invite(b.uri);
  call.cancel();
  await until(() => inv !== undefined, 'INVITE at the callee');
  t.notOk(a.wire.sent.some((m) => m.isRequest && m.method === 'CANCEL'), 'no CANCEL before a provisional');
  void inv!.progress(180);
  const r = await call.result;
  t.equal(r.ok ? 200 : r.status, 487);
  t.equal(inv!.state, 'cancelled');
});

t.test('reject(486) reaches the caller as failed 486 and ends the early dialog', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  b.ua.on('invite', (inv) => {
    void inv.progress(183, { body: SDP_B });
    inv.reject(486);
    t.throws(() => inv.accept(), UaError, 'accept after reject throws');
  });
  const call = a.ua.invite(b.uri);
  const failed = next(call, 'failed');
  const r = await call.result;
  t.equal(r.ok ? 0 : r.status, 486);
  t.equal((await failed)[0], 486);
  await until(() => a.ua.usageCount === 0 && b.ua.usageCount === 0, 'early dialogs gone');
  t.equal(a.ua.dialogs.size + b.ua.dialogs.size, 0);
});

t.test('an INVITE nobody listens for is answered 480', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  const r = await a.ua.invite(b.uri).result;
  t.equal(r.ok ? 0 : r.status, 480);
});

for (const algorithm of ['MD5', 'SHA-256'] as const) {
  t.test(`401 challenge (${algorithm}) is answered once with a new CSeq and the same Call-ID (§22.2)`, async (t) => {
    const a = await mk();
    const b = await mk();
    t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
    const digest = new DigestServer({ algorithms: [algorithm] });
    const seen: SipRequest[] = [];
    b.ua.on('invite', (inv) => {
      seen.push(inv.request);
      const v = digest.verify(inv.request, (user) => (user === 'alice' ? { password: 'wonderland' } : undefined));
      if (!v.ok) {
        const ch = digest.challenge('example.org', { stale: v.stale === true });
        inv.reject(ch.status, { headers: ch.values.map((x) => [ch.header, x] as [string, string]) });
        return;
      }
      inv.accept({ body: SDP_B });
    });
    const r = await a.ua.invite(b.uri, { body: SDP_A, auth: { username: 'alice', password: 'wonderland' } }).result;
    t.ok(r.ok, 'answered after authenticating');
    t.equal(seen.length, 2, 'two INVITEs');
    t.equal(seen[1]!.callId, seen[0]!.callId, 'same Call-ID');
    t.equal(seen[1]!.cseq!.seq, seen[0]!.cseq!.seq + 1, 'CSeq + 1');
    t.match(seen[1]!.get('Authorization') ?? '', new RegExp(`algorithm=${algorithm}`), 'Authorization uses the offered algorithm');
    t.notOk(JSON.stringify(seen[1]!.get('Authorization')).includes('wonderland'), 'no password on the wire');
    if (r.ok) await r.session.bye();
  });
}

t.test('a wrong password is not retried forever: the caller gets the 401', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  const digest = new DigestServer();
  let n = 0;
  b.ua.on('invite', (inv) => {
    n++;
    const v = digest.verify(inv.request, () => ({ password: 'right' }));
    if (v.ok) return inv.accept();
    const ch = digest.challenge('example.org');
    inv.reject(401, { headers: ch.values.map((x) => [ch.header, x] as [string, string]) });
  });
  const r = await a.ua.invite(b.uri, { auth: { username: 'u', password: 'wrong' } }).result;
  t.equal(r.ok ? 0 : r.status, 401);
  t.equal(n, 2, 'one retry only');
});

t.test('reliable 183 with SDP (RFC 3262): RSeq + Require 100rel, PRACK answered, then 200', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let pracked = false;
  b.ua.on('invite', async (inv) => {
    t.ok(inv.peerSupports100rel, 'the caller announced Supported: 100rel');
    await inv.progress(183, { body: SDP_B, reliable: true });
    pracked = true;
    inv.accept({ body: SDP_B });
  });
  const call = a.ua.invite(b.uri, { body: SDP_A });
  const r = await call.result;
  t.ok(r.ok);
  t.ok(pracked, 'the 200 came after the PRACK');
  const rel = b.wire.sent.find((m) => !m.isRequest && m.status === 183);
  t.ok(rel?.rseq !== undefined, '183 has RSeq');
  t.ok(rel?.require.includes('100rel'), '183 has Require: 100rel');
  const prack = a.wire.sent.find((m) => m.isRequest && m.method === 'PRACK') as SipRequest | undefined;
  t.equal(prack?.rack?.rseq, rel?.rseq, 'PRACK RAck names the RSeq');
  if (r.ok) await r.session.bye();
});

t.test('in-dialog requests both ways: re-INVITE, UPDATE, INFO, REFER, NOTIFY, MESSAGE; BYE from the callee', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let bs: Session | undefined;
  b.ua.on('invite', (inv) => (bs = inv.accept({ body: SDP_B })));
  const r = await a.ua.invite(b.uri, { body: SDP_A }).result;
  if (!r.ok) return t.fail('no call');
  const as = r.session;
  await until(() => bs?.state === 'confirmed', 'callee confirmed');
  const got: string[] = [];
  bs!.on('info', (req) => { got.push(`info:${req.request.body.toString()}`); req.respond(200); });
  bs!.on('refer', (req) => { got.push(`refer:${req.request.get('Refer-To')}`); req.respond(202); });
  bs!.on('reinvite', (req) => { got.push('reinvite'); req.respond(200, { body: SDP_B.replace('5000', '5002') }); });
  as.on('notify', (req) => { got.push(`notify:${req.request.body.toString()}`); req.respond(200); });

  const re = await as.reinvite({ body: SDP_A.replace('4000', '4002') });
  t.ok(re.ok, 're-INVITE 200');
  t.match(as.remoteSdp, /5002/, 'caller has the new answer');
  await until(() => bs!.localSdp?.includes('5002') === true, 'callee keeps its new SDP');
  t.equal((await as.info({ body: 'Signal=5\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' })).status, 200);
  t.equal((await as.refer('<sip:carol@127.0.0.1>')).status, 202);
  // UPDATE without a listener: default 200 with the callee's current SDP.
  const up = await as.update({ body: SDP_A });
  t.equal(up.status, 200);
  t.match(up.body.toString(), /5002/, 'UPDATE default answer carries the current SDP');
  t.equal((await bs!.notify({ event: 'refer', state: 'terminated;reason=noresource', body: 'SIP/2.0 200 OK', contentType: 'message/sipfrag;version=2.0' })).status, 200);
  t.equal((await as.message('hello')).status, 200, 'MESSAGE default 200');
  t.same(got, ['reinvite', 'info:Signal=5\r\nDuration=160\r\n', 'refer:<sip:carol@127.0.0.1>', 'notify:SIP/2.0 200 OK']);
  const cseqs = a.wire.sent.filter((m) => m.isRequest && m.method !== 'ACK').map((m) => (m as SipRequest).cseq!.seq);
  t.same(cseqs, [...cseqs].sort((x, y) => x - y), '§12.2.1.1: local CSeq increases by one per request');
  const ended = next(as, 'terminated');
  t.equal((await bs!.bye())?.status, 200, 'callee BYE answered');
  t.same(await ended, ['remote-bye']);
});

t.test('§12.2.2: a request with a lower CSeq gets 500 with Retry-After, an unknown dialog 481', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let bs: Session | undefined;
  b.ua.on('invite', (inv) => (bs = inv.accept()));
  const r = await a.ua.invite(b.uri).result;
  if (!r.ok) return t.fail('no call');
  await until(() => bs?.state === 'confirmed');
  t.equal((await r.session.info({ body: 'x', contentType: 'text/plain' })).status, 200);
  // Roll the local CSeq back so the next request is out of order.
  r.session.dialog.localSeq = 0;
  const res = await r.session.info({ body: 'y', contentType: 'text/plain' });
  t.equal(res.status, 500);
  t.ok(res.has('Retry-After'), 'Retry-After present');
  // An unknown dialog: a BYE with a To tag nobody knows.
  const bye = await a.ua.sendRequest('BYE', b.uri, { to: `<${b.uri}>;tag=nosuchtag` });
  t.equal(bye.status, 481);
  t.equal(b.ua.counters.unknownDialog, 1);
  await r.session.bye();
});

t.test('out-of-dialog requests: OPTIONS default 200 with Allow; MESSAGE to a listener; 405 without one', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  const opt = await a.ua.sendRequest('OPTIONS', b.uri);
  t.equal(opt.status, 200);
  t.match(opt.get('Allow'), /INVITE/);
  const msg = await a.ua.sendRequest('MESSAGE', b.uri, { body: 'hi', contentType: 'text/plain' });
  t.equal(msg.status, 405, 'no listener: 405');
  t.match(msg.get('Allow'), /MESSAGE/);
  const got: IncomingRequest[] = [];
  b.ua.on('request', (req) => { got.push(req); req.respond(202); });
  t.equal((await a.ua.sendRequest('MESSAGE', b.uri, { body: 'hi', contentType: 'text/plain' })).status, 202);
  t.equal(got[0]?.request.body.toString(), 'hi');
  t.equal(got[0]?.source.address, '127.0.0.1');
  t.ok(a.wire.sent.every((m) => !m.isRequest || m.get('User-Agent') === 'dragon-pbx'), 'User-Agent on requests');
  t.ok(b.wire.sent.every((m) => m.isRequest || m.get('Server') === 'dragon-pbx'), 'Server on responses');
  t.ok(a.wire.sent.length > 0 && b.wire.sent.map(describe).length > 0);
});

t.test('a listener that throws does not break the call', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  b.ua.on('invite', (inv) => { inv.accept(); });
  b.ua.on('invite', () => { throw new Error('app bug'); });
  const r = await a.ua.invite(b.uri).result;
  t.ok(r.ok, 'call still answered');
  t.equal(b.ua.counters.listenerErrors, 1);
  if (r.ok) await r.session.bye();
});

t.test('a call over TCP: responses on the connection of the INVITE, the BYE of the callee to the Contact of the caller (transport=tcp)', async (t) => {
  const listen = [{ transport: 'udp' as const, host: '127.0.0.1', port: 0 }, { transport: 'tcp' as const, host: '127.0.0.1', port: 0 }];
  const a = await mk({ listen });
  const b = await mk({ listen });
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  const bTcp = b.ua.transport.listener('tcp')!.port;
  let bs: Session | undefined;
  b.ua.on('invite', (inv) => {
    t.equal(inv.source.transport, 'tcp');
    bs = inv.accept({ body: SDP_B });
  });
  const r = await a.ua.invite(`sip:bob@127.0.0.1:${bTcp};transport=tcp`, { body: SDP_A }).result;
  if (!r.ok) return t.fail('no call over TCP');
  t.match(r.session.dialog.remoteTarget.toString(), /transport=tcp/, 'callee Contact says TCP');
  await until(() => bs?.state === 'confirmed', 'ACK over TCP');
  const inv = a.wire.sent.find((m) => m.isRequest && m.method === 'INVITE') as SipRequest;
  t.equal(inv.topVia?.transport, 'TCP');
  t.match(inv.get('Contact'), /transport=tcp/);
  const ended = next(r.session, 'terminated');
  t.equal((await bs!.bye())?.status, 200);
  t.same(await ended, ['remote-bye']);
});

t.test('§8.1.1.8: an INVITE without Contact is answered 400 before the application sees it', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let seen = 0;
  b.ua.on('invite', () => seen++);
  const { createRequest } = await import('../../../sip-stack/index.js');
  const req = createRequest({ method: 'INVITE', uri: b.uri, from: '<sip:x@127.0.0.1>', to: `<${b.uri}>`, via: a.ua.via('udp') });
  const res = await new Promise<{ status: number }>((resolve) => {
    void a.ua.startClientTransaction(req, undefined, { receiveResponse: (r) => { if (r.status >= 200) resolve(r); } });
  });
  t.equal(res.status, 400);
  t.equal(seen, 0);
});

t.test('close() settles what is in flight: a pending INVITE and a pending OPTIONS get a local 503', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => b.ua.close());
  b.ua.on('invite', () => {}); // never answered
  b.ua.on('request', () => {}); // never answered
  const call = a.ua.invite(b.uri);
  const opt = a.ua.sendRequest('OPTIONS', b.uri);
  await until(() => b.ua.counters.invitesReceived === 1 && a.wire.sent.some((m) => m.isRequest && m.method === 'OPTIONS'));
  await a.ua.close();
  const r = await call.result;
  t.equal(r.ok ? 0 : r.status, 503);
  t.equal((await opt).status, 503);
  t.throws(() => a.ua.invite(b.uri), { code: 'DPBX_ERR_UA_CLOSED' });
});

t.test('an unresolvable target fails the call with a local 503 instead of throwing', async (t) => {
  const a = await mk();
  t.teardown(() => a.ua.close());
  const r = await a.ua.invite('sip:bob@no-such-host.invalid').result;
  t.equal(r.ok ? 0 : r.status, 503);
  t.match(r.ok ? '' : r.reason, /DPBX_ERR_UA_TARGET/);
});

t.test('destination overrides the Request-URI host (a registered contact reached through its flow)', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let uri = '';
  b.ua.on('invite', (inv) => { uri = inv.request.uriText; inv.accept(); });
  const r = await a.ua.invite('sip:bob@198.51.100.7:5060', { destination: { transport: 'udp', address: '127.0.0.1', port: b.port } }).result;
  t.ok(r.ok, 'reached through the destination');
  t.equal(uri, 'sip:bob@198.51.100.7:5060', 'Request-URI unchanged');
  if (r.ok) {
    t.equal((await r.session.bye())?.status, 200, 'BYE answered');
  }
});

t.test('a terminated Session forgets its listeners (but for refreshed): the SIP objects outlive the call up to 64*T1', async (t) => {
  const a = await mk();
  const b = await mk();
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let bSession: Session | undefined;
  b.ua.on('invite', (inv) => {
    bSession = inv.accept({ body: SDP_B });
  });
  const r = await a.ua.invite(`${b.uri}`, { body: SDP_A }).result;
  t.ok(r.ok, 'answered');
  if (!r.ok) return;
  await until(() => bSession!.state === 'confirmed', 'ACK at the callee');
  const s = bSession!;
  const terminatedSeen: string[] = [];
  s.on('reinvite', () => {});
  s.on('info', () => {});
  s.on('refreshed', () => {});
  s.on('terminated', (cause) => terminatedSeen.push(cause));
  t.equal(s.listenerCount('reinvite'), 1, 'listening while the call lives');
  await r.session.bye();
  await until(() => s.state === 'terminated', 'BYE at the callee');
  t.same(terminatedSeen, ['remote-bye'], "'terminated' still reaches its listeners, once");
  t.equal(s.listenerCount('reinvite') + s.listenerCount('info') + s.listenerCount('terminated'), 0, 'listeners dropped after terminated');
  t.equal(s.listenerCount('refreshed'), 1, "'refreshed' kept (a refresh in flight may still report)");
});
