/**
 * Forked responses to one INVITE (RFC 3261 §12.1.2, §13.2.2.4): a raw UDP peer plays a forking proxy that
 * answers with two To tags. Each tag is its own early dialog; the first 2xx wins; the other fork's 2xx is ACKed
 * and ended with BYE; retransmitted 2xx get the same ACK again (no second BYE).
 */
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { VirtualClock, type SipRequest, createResponse, parseMessage } from '../../../sip-stack/index.js';
import type { UserAgentOptions } from '../../../sip-stack/ua/index.js';
import type { Dialog } from '../../../sip-stack/index.js';
import { SDP_A, SDP_B, makeUa, next, until } from './helpers.js';

/**
 * RFC timers stay still in these tests (a VirtualClock nobody advances): counts of messages on the wire do not
 * depend on how fast the machine is. Timer behaviour is tested in timers.test.ts.
 */
const mk = (o: UserAgentOptions = {}) => makeUa({ clock: new VirtualClock(), ...o });

async function rawPeer(): Promise<{ sock: Socket; port: number; got: SipRequest[]; last: { address: string; port: number } }> {
  const sock = createSocket('udp4');
  const got: SipRequest[] = [];
  const peer = { sock, port: 0, got, last: { address: '', port: 0 } };
  sock.on('message', (buf, rinfo) => {
    const m = parseMessage(buf);
    if (m.isRequest) {
      got.push(m);
      peer.last = { address: rinfo.address, port: rinfo.port };
    }
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  peer.port = sock.address().port;
  return peer;
}

t.test('two forks: early dialogs per To tag, first 2xx wins, the late fork is ACKed and BYEd once', async (t) => {
  const a = await mk();
  const p = await rawPeer();
  t.teardown(async () => { p.sock.close(); await a.ua.close(); });
  const call = a.ua.invite(`sip:bob@127.0.0.1:${p.port}`, { body: SDP_A });
  const early: Dialog[] = [];
  call.on('progress', (_res, d) => { if (d) early.push(d); });
  await until(() => p.got.length === 1, 'INVITE at the peer');
  const invite = p.got[0]!;
  const send = (status: number, tag: string, body?: string): void => {
    const res = createResponse(invite, status, undefined, { toTag: tag });
    res.set('Contact', `<sip:${tag}@127.0.0.1:${p.port}>`);
    if (body !== undefined) { res.body = body; res.set('Content-Type', 'application/sdp'); }
    p.sock.send(res.toBuffer(), p.last.port, p.last.address);
  };
  send(180, 'fork1');
  send(180, 'fork2');
  await until(() => early.length === 2, 'two early dialogs');
  t.same(early.map((d) => d.remoteTag), ['fork1', 'fork2'], 'one early dialog per To tag');
  t.equal(a.ua.dialogs.size, 2);
  const forkAnswered = next(call, 'forkAnswered');
  send(200, 'fork2', SDP_B);
  const r = await call.result;
  if (!r.ok) return t.fail('not answered');
  t.equal(r.session.dialog.remoteTag, 'fork2', 'the first 2xx wins');
  send(200, 'fork1', SDP_B);
  await forkAnswered;
  await until(() => p.got.filter((m) => m.method === 'BYE').length === 1, 'BYE to the late fork');
  const acks = () => p.got.filter((m) => m.method === 'ACK');
  await until(() => acks().length === 2, 'two ACKs');
  t.same(acks().map((m) => m.to?.tag).sort(), ['fork1', 'fork2'], 'each 2xx ACKed in its own dialog');
  const bye = p.got.find((m) => m.method === 'BYE')!;
  t.equal(bye.to?.tag, 'fork1', 'BYE only to the late fork');
  t.equal(bye.uri.user, 'fork1', 'BYE to the late fork\'s Contact');
  // Retransmissions of both 2xx: the same ACK again, never a second BYE.
  send(200, 'fork1', SDP_B);
  send(200, 'fork2', SDP_B);
  await until(() => acks().length === 4, 'ACKs re-sent');
  const ackOf = (tag: string) => acks().filter((m) => m.to?.tag === tag).map((m) => m.toString());
  t.equal(new Set(ackOf('fork1')).size, 1, 'identical ACK for fork1');
  t.equal(new Set(ackOf('fork2')).size, 1, 'identical ACK for fork2');
  t.equal(p.got.filter((m) => m.method === 'BYE').length, 1, 'still one BYE');
  t.equal(r.session.state, 'confirmed', 'the winning session is up');
  void r.session.bye();
  await until(() => p.got.filter((m) => m.method === 'BYE').length === 2, 'BYE of the winner');
  t.equal(p.got.filter((m) => m.method === 'BYE')[1]!.to?.tag, 'fork2');
});

t.test('§12.3: a final non-2xx ends every early dialog of the INVITE', async (t) => {
  const a = await mk();
  const p = await rawPeer();
  t.teardown(async () => { p.sock.close(); await a.ua.close(); });
  const call = a.ua.invite(`sip:bob@127.0.0.1:${p.port}`);
  await until(() => p.got.length === 1);
  const invite = p.got[0]!;
  for (const tag of ['x1', 'x2']) {
    const res = createResponse(invite, 183, undefined, { toTag: tag });
    res.set('Contact', `<sip:${tag}@127.0.0.1:${p.port}>`);
    p.sock.send(res.toBuffer(), p.last.port, p.last.address);
  }
  await until(() => a.ua.dialogs.size === 2, 'two early dialogs');
  p.sock.send(createResponse(invite, 603, undefined, { toTag: 'x1' }).toBuffer(), p.last.port, p.last.address);
  const r = await call.result;
  t.equal(r.ok ? 0 : r.status, 603);
  t.equal(a.ua.dialogs.size, 0, 'no early dialog left');
  t.equal(a.ua.usageCount, 0);
});

t.test('§9.1 race: a 2xx that crosses our CANCEL is ACKed and ended with BYE; the result is cancelled', async (t) => {
  const a = await mk();
  const p = await rawPeer();
  t.teardown(async () => { p.sock.close(); await a.ua.close(); });
  const call = a.ua.invite(`sip:bob@127.0.0.1:${p.port}`, { body: SDP_A });
  await until(() => p.got.length === 1);
  const invite = p.got[0]!;
  const reply = (req: SipRequest, status: number, body?: string): void => {
    const res = createResponse(req, status, undefined, { toTag: 'late' });
    res.set('Contact', `<sip:late@127.0.0.1:${p.port}>`);
    if (body !== undefined) { res.body = body; res.set('Content-Type', 'application/sdp'); }
    p.sock.send(res.toBuffer(), p.last.port, p.last.address);
  };
  reply(invite, 180);
  call.on('progress', () => call.cancel('SIP;cause=200;text="Call completed elsewhere"'));
  await until(() => p.got.some((m) => m.method === 'CANCEL'), 'CANCEL');
  const cancel = p.got.find((m) => m.method === 'CANCEL')!;
  t.equal(cancel.get('Reason'), 'SIP;cause=200;text="Call completed elsewhere"');
  t.equal(cancel.topVia?.branch, invite.topVia?.branch, '§9.1: CANCEL has the INVITE\'s branch');
  reply(cancel, 200);
  reply(invite, 200, SDP_B); // the callee answered before it saw the CANCEL
  const r = await call.result;
  t.notOk(r.ok);
  if (!r.ok) {
    t.equal(r.status, 487);
    t.ok(r.cancelled);
  }
  await until(() => p.got.some((m) => m.method === 'BYE'), 'BYE');
  t.ok(p.got.some((m) => m.method === 'ACK' && m.to?.tag === 'late'), 'the 2xx was ACKed');
  t.equal(a.ua.usageCount, 0, 'no session left');
});
