import t from 'tap';
import { createRequest, createResponse, type SipRequest } from '../../../sip-stack/message/index.js';
import { VirtualClock } from '../../../sip-stack/transaction/index.js';
import { SessionTimer, SessionTimerState, parseSessionExpires, parseMinSE, negotiateAsUas, negotiateAsUac,
  uacSessionTimerHeaders, retryAfter422, refreshDelayMs, expiryDelayMs, DialogError } from '../../../sip-stack/dialog/index.js';

function inv(headers: Array<[string, string | number]>): SipRequest {
  return createRequest({ method: 'INVITE', uri: 'sip:bob@biloxi.example', from: '<sip:alice@atlanta.example>',
    to: '<sip:bob@biloxi.example>', callId: 'st-1', via: 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKst', headers });
}
function hdr(list: Array<[string, unknown]>, name: string): string | undefined {
  const h = list.find(([k]) => k === name);
  return h === undefined ? undefined : String(h[1]);
}

t.test('RFC 4028 §4/§5: Session-Expires and Min-SE parsing (compact form x, refresher, bad values)', async (t) => {
  t.same(parseSessionExpires('1800;refresher=uac'), { interval: 1800, refresher: 'uac' });
  t.same(parseSessionExpires(' 90 ; foo=bar ;REFRESHER=UAS'), { interval: 90, refresher: 'uas' });
  t.same(parseSessionExpires('4000'), { interval: 4000, refresher: undefined });
  t.throws(() => parseSessionExpires('abc'), { code: 'DPBX_ERR_SIP_BAD_HEADER', status: 400 });
  t.throws(() => parseSessionExpires('100;refresher=me'), { code: 'DPBX_ERR_SIP_BAD_HEADER' });
  t.equal(parseMinSE('120;x=1'), 120);
  t.throws(() => parseMinSE('-5'));
  const r = inv([['x', '600;refresher=uac'], ['Supported', 'timer']]);
  const out = negotiateAsUas(r);
  t.equal(out.action, 'accept');
  if (out.action === 'accept') t.same(out.agreement, { interval: 600, refresher: 'uac' }, 'compact header x read');
});

t.test('RFC 4028 §9: Session-Expires below the UAS Min-SE → 422 with Min-SE', async (t) => {
  const out = negotiateAsUas(inv([['Session-Expires', 60], ['Supported', 'timer']]), { minSE: 120 });
  t.same(out, { action: 'reject', status: 422, reason: 'Session Interval Too Small', headers: [['Min-SE', 120]] });
  const bad = negotiateAsUas(inv([['Session-Expires', 'soon']]));
  t.equal(bad.action === 'reject' ? bad.status : 0, 400, 'malformed header → 400');
});

t.test('RFC 4028 §9: the UAS keeps the UAC refresher choice and adds Require: timer when the UAC refreshes', async (t) => {
  const out = negotiateAsUas(inv([['Session-Expires', '1800;refresher=uac'], ['Supported', 'timer']]));
  if (out.action !== 'accept') throw new Error('rejected');
  t.same(out.agreement, { interval: 1800, refresher: 'uac' });
  t.equal(hdr(out.headers, 'Session-Expires'), '1800;refresher=uac');
  t.equal(hdr(out.headers, 'Require'), 'timer');
});

t.test('RFC 4028 §9: without a refresher in the request the UAS chooses; a UAC without timer support → refresher=uas, no Require', async (t) => {
  const a = negotiateAsUas(inv([['Session-Expires', 1800], ['Supported', 'timer']]), { preferredRefresher: 'uac' });
  if (a.action !== 'accept') throw new Error('rejected');
  t.equal(a.agreement!.refresher, 'uac');
  const b = negotiateAsUas(inv([['Session-Expires', 1800]]), { preferredRefresher: 'uac' });
  if (b.action !== 'accept') throw new Error('rejected');
  t.equal(b.agreement!.refresher, 'uas', 'a proxy-inserted Session-Expires for a UAC without support');
  t.equal(hdr(b.headers, 'Require'), undefined);
  const c = negotiateAsUas(inv([['Session-Expires', '1800;refresher=uac']]));
  if (c.action !== 'accept') throw new Error('rejected');
  t.equal(c.agreement!.refresher, 'uas', 'refresher=uac impossible when the UAC does not support timers');
});

t.test('RFC 4028 §9: the UAS may lower the interval, never below the request Min-SE', async (t) => {
  const a = negotiateAsUas(inv([['Session-Expires', 7200], ['Min-SE', 3600], ['Supported', 'timer']]), { sessionExpires: 1800 });
  if (a.action !== 'accept') throw new Error('rejected');
  t.equal(a.agreement!.interval, 3600);
  const b = negotiateAsUas(inv([['Session-Expires', 7200], ['Supported', 'timer']]), { sessionExpires: 1800 });
  if (b.action !== 'accept') throw new Error('rejected');
  t.equal(b.agreement!.interval, 1800);
  const c = negotiateAsUas(inv([['Supported', 'timer']]), { sessionExpires: 900 });
  if (c.action !== 'accept') throw new Error('rejected');
  t.same(c.agreement, { interval: 900, refresher: 'uas' }, 'no Session-Expires in the request: the UAS may ask for one');
  const d = negotiateAsUas(inv([]), { enabled: false });
  t.same(d, { action: 'accept', agreement: undefined, headers: [] });
  t.throws(() => negotiateAsUas(inv([]), { minSE: 30 }), DialogError, 'Min-SE below 90 is refused');
});

t.test('RFC 4028 §7: UAC headers, 422 retry with the larger Min-SE, and the 2xx agreement', async (t) => {
  t.same(uacSessionTimerHeaders({ sessionExpires: 1800 }), [['Supported', 'timer'], ['Session-Expires', 1800], ['Min-SE', 90]]);
  const r = inv([]);
  const res422 = createResponse(r, 422);
  res422.set('Min-SE', 600);
  t.same(retryAfter422(res422), [['Supported', 'timer'], ['Session-Expires', 600], ['Min-SE', 600]]);
  const no = createResponse(r, 422);
  t.equal(retryAfter422(no), undefined, '422 without Min-SE');
  const ok = createResponse(r, 200, undefined, { toTag: 'x' });
  t.equal(negotiateAsUac(ok), undefined, '"If the 2xx response did not contain a Session-Expires header field, there is no session expiration"');
  ok.set('Session-Expires', '1200;refresher=uas');
  t.same(negotiateAsUac(ok), { interval: 1200, refresher: 'uas' });
  ok.set('Session-Expires', '1200');
  t.same(negotiateAsUac(ok), { interval: 1200, refresher: 'uac' }, 'no refresher parameter → the UAC refreshes');
  ok.set('Session-Expires', 'x');
  t.equal(negotiateAsUac(ok), undefined);
});

t.test('RFC 4028 §10: the refresher refreshes at half the interval; a refresh restarts the timer', async (t) => {
  const clock = new VirtualClock();
  const refreshes: number[] = [];
  const st = new SessionTimer({ clock, onRefresh: () => refreshes.push(clock.now()), onExpire: () => t.fail('expired') });
  st.update({ interval: 1800, refresher: 'uac' }, 'uac');
  t.equal(st.isRefresher, true);
  clock.advance(899_999);
  t.same(refreshes, []);
  clock.advance(1);
  t.same(refreshes, [900_000]);
  st.update({ interval: 1800, refresher: 'uac' }, 'uac'); // the refresh succeeded
  clock.advance(900_000);
  t.same(refreshes, [900_000, 1_800_000]);
  st.stop();
  t.equal(clock.pending, 0);
  t.equal(refreshDelayMs(90), 45_000);
});

t.test('RFC 4028 §10: without a refresh the session expires at interval - min(32, interval/3) and BYE is asked for', async (t) => {
  const clock = new VirtualClock();
  let expiredAt = -1;
  const st = new SessionTimer({ clock, onRefresh: () => t.fail('not the refresher'), onExpire: () => { expiredAt = clock.now(); } });
  // We were the UAS of the transaction and the UAC refreshes.
  st.update({ interval: 1800, refresher: 'uac' }, 'uas');
  t.equal(st.isRefresher, false);
  clock.advance(1800_000);
  t.equal(expiredAt, 1_768_000, '1800 - 32 s');
  t.equal(st.state, SessionTimerState.Expired);
  t.equal(expiryDelayMs(90), 60_000, '90 - 30 s (one third is smaller than 32)');
  st.update({ interval: 1800, refresher: 'uac' }, 'uas');
  t.equal(st.state, SessionTimerState.Expired, 'no restart after expiry');
});

t.test('RFC 4028 §7.2: a refresh answered without Session-Expires ends the session timer', async (t) => {
  const clock = new VirtualClock();
  const st = new SessionTimer({ clock, onRefresh: () => {}, onExpire: () => t.fail('expired') });
  st.update({ interval: 90, refresher: 'uas' }, 'uas');
  st.update(undefined, 'uac');
  t.equal(st.state, SessionTimerState.Stopped);
  clock.advance(1_000_000);
  t.equal(clock.pending, 0);
});
