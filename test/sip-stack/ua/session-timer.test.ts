/**
 * RFC 4028 session timers driven by the UA (virtual time, loopback UDP): negotiation in the INVITE/2xx, refresh
 * by the refresher at half the interval, BYE when no refresh arrives, 422 retried with the UAS's Min-SE.
 */
import t from 'tap';
import { VirtualClock, type SipRequest } from '../../../sip-stack/index.js';
import type { Session } from '../../../sip-stack/ua/index.js';
import { SDP_A, SDP_B, makeUa, next, until } from './helpers.js';

const reinvites = (w: { sent: { isRequest: boolean }[] }) =>
  w.sent.filter((m) => (m as SipRequest).isRequest && (m as SipRequest).method === 'INVITE' && (m as SipRequest).to?.tag !== undefined) as SipRequest[];

t.test('§9/§10: the UAS refreshes (re-INVITE) at half of the negotiated interval, refresher stays with it', async (t) => {
  const clock = new VirtualClock();
  const policy = { sessionExpires: 120, minSE: 90 };
  const a = await makeUa({ clock, sessionTimers: policy });
  const b = await makeUa({ clock, sessionTimers: policy });
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  let bs: Session | undefined;
  b.ua.on('invite', (inv) => (bs = inv.accept({ body: SDP_B })));
  const call = a.ua.invite(b.uri, { body: SDP_A });
  const r = await call.result;
  if (!r.ok) return t.fail('no call');
  await until(() => bs?.state === 'confirmed');
  t.match(call.request.get('Supported'), /timer/, 'INVITE: Supported: timer');
  t.equal(call.request.get('Session-Expires'), '120', 'INVITE: Session-Expires without refresher (the UAS chooses)');
  t.equal(r.response.get('Session-Expires'), '120;refresher=uas', '2xx: the UAS refreshes');
  t.same(r.session.sessionTimer, { interval: 120, refresher: 'remote' });
  t.same(bs!.sessionTimer, { interval: 120, refresher: 'local' });
  const refreshed = next<[boolean]>(bs!, 'refreshed');
  clock.advance(59_999);
  t.equal(reinvites(b.wire).length, 0, 'nothing before half the interval');
  clock.advance(1);
  await until(() => reinvites(b.wire).length === 1, 're-INVITE at 60 s');
  t.same(await refreshed, [true], 'refresh answered 2xx');
  // Let the ACK of the refresh arrive before virtual time moves on (else the 2xx would time out in virtual time).
  await until(() => b.wire.sent.some((m) => m.isRequest && m.method === 'ACK') && !r.session.dialog.ackPending, 'ACK of the refresh');
  const re = reinvites(b.wire)[0]!;
  t.equal(re.get('Session-Expires'), '120;refresher=uac', 'the refresher names itself (uac of the refresh)');
  t.equal(re.body.toString(), SDP_B, 'refresh carries the current SDP');
  t.same(bs!.sessionTimer, { interval: 120, refresher: 'local' }, 'still the refresher');
  t.same(r.session.sessionTimer, { interval: 120, refresher: 'remote' });
  clock.advance(60_000);
  await until(() => reinvites(b.wire).length === 2, 'second refresh');
  t.equal(r.session.state, 'confirmed', 'never expired: refreshes keep the session');
  await r.session.bye();
});

t.test('§10: when no refresh arrives the other side sends BYE before the interval ends', async (t) => {
  const clock = new VirtualClock();
  const policy = { sessionExpires: 120, minSE: 90 };
  const a = await makeUa({ clock, sessionTimers: policy });
  const b = await makeUa({ clock, sessionTimers: policy });
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  b.wire.drop = (m) => m.isRequest && m.method === 'INVITE'; // B's refreshes never leave
  let bs: Session | undefined;
  b.ua.on('invite', (inv) => (bs = inv.accept({ body: SDP_B })));
  const r = await a.ua.invite(b.uri, { body: SDP_A }).result;
  if (!r.ok) return t.fail('no call');
  await until(() => bs?.state === 'confirmed');
  const ended = next<[string]>(r.session, 'terminated');
  clock.advance(87_999);
  t.equal(r.session.state, 'confirmed', 'still up just before 120 - min(32, 40) s');
  clock.advance(1);
  t.same(await ended, ['session-expired']);
  const bye = a.wire.sent.find((m) => m.isRequest && m.method === 'BYE') as SipRequest | undefined;
  t.ok(bye, 'BYE sent');
  t.match(bye?.get('Reason'), /Session timer expired/);
});

t.test('§7.4: a 422 is retried with Session-Expires and Min-SE raised to the UAS\'s Min-SE', async (t) => {
  const a = await makeUa({ sessionTimers: { sessionExpires: 120, minSE: 90 } });
  const b = await makeUa({ sessionTimers: { sessionExpires: 1800, minSE: 300 } });
  t.teardown(() => Promise.all([a.ua.close(), b.ua.close()]));
  const seen: SipRequest[] = [];
  b.ua.on('invite', (inv) => { seen.push(inv.request); inv.accept({ body: SDP_B }); });
  const call = a.ua.invite(b.uri, { body: SDP_A });
  const r = await call.result;
  t.ok(r.ok, 'answered after the retry');
  const invites = a.wire.sent.filter((m) => m.isRequest && m.method === 'INVITE') as SipRequest[];
  t.equal(invites.length, 2, 'INVITE, 422, INVITE');
  t.ok(b.wire.sent.some((m) => !m.isRequest && m.status === 422 && m.get('Min-SE') === '300'), '422 with Min-SE: 300');
  t.equal(invites[1]!.get('Session-Expires'), '300');
  t.equal(invites[1]!.get('Min-SE'), '300');
  t.equal(invites[1]!.cseq!.seq, invites[0]!.cseq!.seq + 1, 'CSeq + 1');
  t.equal(seen.length, 1, 'the application saw only the acceptable INVITE');
  if (r.ok) {
    t.same(r.session.sessionTimer?.interval, 300);
    await r.session.bye();
  }
});
