/**
 * Interop with sipp (Debian `sip-tester`): our UAS against sipp's built-in uac, our UAC against sipp's uas, lost
 * first INVITE / first 200 recovered by our retransmissions (RFC 3261 §17.1.1.2 Timer A, §13.3.1.4), 200 calls
 * under 10 % loss, CANCEL both ways (RFC 3261 §9, RFC 3326 Reason), sipp answering our digest challenge.
 * sipp runs on 127.0.0.1 with ports chosen at run time; every run is killed at teardown.
 */
import t, { type Test } from 'tap';
import { DigestServer, type SipRequest } from '../../../../sip-stack/index.js';
import type { Session, UasInvite } from '../../../../sip-stack/ua/index.js';
import { skipUnlessCommand } from '../../../helpers/env.js';
import { SDP_A, SDP_B, makeUa, until } from '../helpers.js';
import { startSipp, tail, type SippOptions, type SippRun } from './sipp.js';

const skip = skipUnlessCommand('sipp');

async function sipp(t: Test, o: SippOptions): Promise<SippRun> {
  const run = await startSipp(o);
  t.teardown(() => run.kill());
  return run;
}

/** sipp exited 0 ("all calls successful"); its screen goes to the log only when it did not. */
function passed(t: Test, r: { code: number | null; output: string; killed: boolean }, what: string): void {
  t.equal(r.code, 0, what);
  if (r.code !== 0) t.comment(`sipp exit ${String(r.code)}${r.killed ? ' (killed at the deadline)' : ''}:\n${tail(r.output, 40)}`);
}

/** Wait until sipp has bound its SIP port (a bind on it fails). */
async function sippListening(port: number): Promise<void> {
  const { createSocket } = await import('node:dgram');
  for (let i = 0; i < 200; i++) {
    const bound = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(true));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (bound) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`sipp never bound port ${port}`);
}

t.test('our UAS answers sipp\'s built-in uac (INVITE, 180, 200, ACK, BYE)', { skip }, async (t) => {
  const b = await makeUa();
  t.teardown(() => b.ua.close());
  const ends: string[] = [];
  b.ua.on('invite', (inv) => {
    void inv.progress(180);
    inv.accept({ body: SDP_B }).on('terminated', (c) => ends.push(c));
  });
  const run = await sipp(t, { scenario: { builtin: 'uac' }, remote: `127.0.0.1:${b.port}`, args: ['-s', 'bob', '-m', '1'] });
  const r = await run.done;
  passed(t, r, 'sipp uac succeeded');
  t.same(ends, ['remote-bye'], 'our session ended with sipp\'s BYE');
});

t.test('our UAC calls sipp\'s built-in uas and hangs up', { skip }, async (t) => {
  const a = await makeUa();
  t.teardown(() => a.ua.close());
  const run = await sipp(t, { scenario: { builtin: 'uas' }, args: ['-m', '1'] });
  await sippListening(run.port);
  const res = await a.ua.invite(`sip:service@127.0.0.1:${run.port}`, { body: SDP_A }).result;
  t.ok(res.ok, 'sipp answered');
  if (res.ok) t.equal((await res.session.bye())?.status, 200, 'BYE answered');
  const r = await run.done;
  passed(t, r, 'sipp uas succeeded');
});

t.test('sipp ignores our first INVITE: Timer A retransmits it and the call completes', { skip }, async (t) => {
  const a = await makeUa();
  t.teardown(() => a.ua.close());
  const run = await sipp(t, { scenario: { file: 'uas-ignore-first-invite.xml' }, args: ['-nr', '-m', '1'] });
  await sippListening(run.port);
  const call = a.ua.invite(`sip:service@127.0.0.1:${run.port}`, { body: SDP_A });
  const res = await call.result;
  t.ok(res.ok, 'answered after the retransmission');
  const invites = a.wire.sent.filter((m) => m.isRequest && m.method === 'INVITE') as SipRequest[];
  t.ok(invites.length >= 2, `INVITE sent ${invites.length} times`);
  t.equal(new Set(invites.map((i) => i.topVia?.branch)).size, 1, 'retransmissions are the same transaction (same branch)');
  if (res.ok) t.equal((await res.session.bye())?.status, 200);
  const r = await run.done;
  passed(t, r, 'sipp scenario passed');
});

t.test('sipp ignores our first 200 OK: the UAS core retransmits the 2xx until the ACK (§13.3.1.4)', { skip }, async (t) => {
  const b = await makeUa();
  t.teardown(() => b.ua.close());
  let session: Session | undefined;
  b.ua.on('invite', (inv) => (session = inv.accept({ body: SDP_B })));
  const run = await sipp(t, { scenario: { file: 'uac-ignore-first-200.xml' }, remote: `127.0.0.1:${b.port}`, args: ['-nr', '-m', '1', '-s', 'bob'] });
  const r = await run.done;
  passed(t, r, 'sipp scenario passed');
  const oks = b.wire.sent.filter((m) => !m.isRequest && m.status === 200 && m.cseq?.method === 'INVITE');
  t.ok(oks.length >= 2, `200 OK sent ${oks.length} times`);
  t.equal(session?.terminationCause, 'remote-bye', 'confirmed by the ACK, then ended by sipp\'s BYE');
});

t.test('200 calls from sipp with -lost 10 all complete', { skip }, async (t) => {
  const b = await makeUa();
  t.teardown(() => b.ua.close());
  let ended = 0;
  const causes: Record<string, number> = {};
  b.ua.on('invite', (inv) => {
    inv.accept({ body: SDP_B }).on('terminated', (c) => {
      causes[c] = (causes[c] ?? 0) + 1;
      if (c === 'remote-bye') ended++;
    });
  });
  const run = await sipp(t, {
    scenario: { file: 'uac-loss.xml' }, remote: `127.0.0.1:${b.port}`, deadlineMs: 50_000,
    args: ['-s', 'bob', '-m', '200', '-r', '40', '-l', '100', '-lost', '10'],
  });
  const r = await run.done;
  passed(t, r, 'sipp: all 200 calls successful');
  await until(() => ended >= 200, 'our side saw every BYE', 20000).catch(() => {});
  const byes = new Set(b.wire.sent.filter((m) => !m.isRequest && m.cseq?.method === 'BYE' && m.status === 200).map((m) => m.callId));
  t.equal(byes.size, 200, 'a 200 to the BYE of every call');
  t.equal(b.ua.usageCount, 0, 'no session left');
  t.equal(ended, 200, `our UAS saw 200 calls end with BYE (${JSON.stringify(causes)})`);
  t.equal(b.ua.counters.invitesReceived, 200, 'each call is one INVITE transaction (retransmissions absorbed)');
});

t.test('sipp CANCELs after 180: 200 to the CANCEL, 487 to the INVITE, our invite reports cancelled', { skip }, async (t) => {
  const b = await makeUa();
  t.teardown(() => b.ua.close());
  const cancels: SipRequest[] = [];
  b.ua.on('invite', (inv: UasInvite) => {
    void inv.progress(180);
    inv.on('cancelled', (req) => cancels.push(req));
  });
  const run = await sipp(t, { scenario: { file: 'uac-cancel.xml' }, remote: `127.0.0.1:${b.port}`, args: ['-m', '1', '-s', 'bob'] });
  const r = await run.done;
  passed(t, r, 'sipp scenario passed');
  t.equal(cancels.length, 1, 'cancelled once');
  t.equal(cancels[0]?.reasons[0]?.cause, 487, 'the CANCEL\'s Reason is readable');
  t.ok(b.wire.sent.some((m) => !m.isRequest && m.status === 487), '487 sent');
});

t.test('our UAC CANCELs towards sipp with an RFC 3326 Reason; the 487 is ACKed', { skip }, async (t) => {
  const a = await makeUa();
  t.teardown(() => a.ua.close());
  const run = await sipp(t, { scenario: { file: 'uas-cancel.xml' }, args: ['-m', '1'] });
  await sippListening(run.port);
  const call = a.ua.invite(`sip:service@127.0.0.1:${run.port}`, { body: SDP_A });
  call.on('progress', () => call.cancel('SIP;cause=487;text="interop test"'));
  const res = await call.result;
  t.equal(res.ok ? 200 : res.status, 487, '487 Request Terminated');
  const r = await run.done;
  passed(t, r, 'sipp saw CANCEL with Reason and the ACK for the 487');
});

t.test('sipp answers our 401 digest challenge (MD5, qop=auth) with [authentication]', { skip }, async (t) => {
  const b = await makeUa();
  t.teardown(() => b.ua.close());
  const digest = new DigestServer({ algorithms: ['MD5'] });
  const verdicts: string[] = [];
  b.ua.on('invite', (inv) => {
    const v = digest.verify(inv.request, (user) => (user === 'alice' ? { password: 's3cret' } : undefined));
    verdicts.push(v.ok ? `ok:${v.algorithm}` : v.reason);
    if (!v.ok) {
      inv.reject(401, { headers: digest.challenge('127.0.0.1').values.map((x) => ['WWW-Authenticate', x] as [string, string]) });
      return;
    }
    inv.accept({ body: SDP_B });
  });
  const run = await sipp(t, { scenario: { file: 'uac-auth.xml' }, remote: `127.0.0.1:${b.port}`, args: ['-m', '1', '-s', 'bob', '-au', 'alice', '-ap', 's3cret', '-auth_uri', `bob@127.0.0.1:${b.port}`] });
  const r = await run.done;
  passed(t, r, 'sipp scenario passed');
  t.same(verdicts, ['missing', 'ok:MD5'], 'challenged, then verified');
});

t.test('sipp cannot answer a SHA-256-only challenge (Debian sipp 3.6 computes MD5 only): the call fails, nothing crashes', { skip }, async (t) => {
  const b = await makeUa();
  t.teardown(() => b.ua.close());
  const digest = new DigestServer({ algorithms: ['SHA-256'] });
  let accepted = 0;
  b.ua.on('invite', (inv) => {
    const v = digest.verify(inv.request, () => ({ password: 's3cret' }));
    if (v.ok) { accepted++; inv.accept(); return; }
    inv.reject(401, { headers: digest.challenge('127.0.0.1').values.map((x) => ['WWW-Authenticate', x] as [string, string]) });
  });
  const run = await sipp(t, { scenario: { file: 'uac-auth.xml' }, remote: `127.0.0.1:${b.port}`, deadlineMs: 8000, args: ['-m', '1', '-s', 'bob', '-au', 'alice', '-ap', 's3cret', '-auth_uri', `bob@127.0.0.1:${b.port}`] });
  const r = await run.done;
  t.not(r.code, 0, 'sipp fails on SHA-256 (SHA-256 is covered by our own client in user-agent.test.ts)');
  t.notOk(r.output.includes('Successful call        |        0                  |        1'), 'no successful call');
  t.equal(accepted, 0);
});
