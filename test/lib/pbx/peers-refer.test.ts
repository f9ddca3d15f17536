// Blind transfer by REFER with real peers (SPEC §6, RFC 3515): the caller (sipp uac over a trunk) is connected to
// a callee (sipp) that sends REFER Refer-To <sip:3000@pbx.test> after answering. The PBX answers 202, reports
// progress in NOTIFYs with message/sipfrag, asks the CallHook again with refer: true and to = '3000', whose new
// script connects the caller to a third party (sipp uas); the referrer is released with BYE and the caller stays.
import t from 'tap';
import { skipUnlessCommand } from '../../helpers/env.js';
import { freeUdpPort, logged, loopTrunkConfig, sipp, startPbx, waitFor } from './peers-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');

t.test('REFER from the callee: 202, NOTIFY sipfrag, CallHook refer:true to=3000, third party connected, referrer released', { skip, timeout: 120000 }, async (t) => {
  const calleePort = await freeUdpPort();
  const thirdPort = await freeUdpPort();
  const hookBodies: Record<string, unknown>[] = [];
  const events: string[] = [];
  const config = loopTrunkConfig({
    '*': {
      callHook: (body: Record<string, unknown>) => {
        hookBodies.push(body);
        const target = body.refer ? `sip:${String(body.to)}@127.0.0.1:${thirdPort}` : `sip:callee@127.0.0.1:${calleePort}`;
        return [{ verb: 'connect', dest: { type: 'sip', address: target } }];
      },
      statusHook: (body: { event: string }) => {
        events.push(body.event);
        return {};
      },
    },
  }, { codecs: ['PCMU'] });
  const { pbx, port } = await startPbx(t, config);
  const callee = sipp(t, { scenario: 'peer-uas-refer.xml', port: calleePort, logs: true, args: ['-key', 'referto', '3000', '-key', 'domain', 'pbx.test', ...(process.env.KDEBUG ? ['-trace_msg', '-message_file', '/tmp/kwork/refer-msg.log', '-trace_err', '-error_file', '/tmp/kwork/refer-err.log'] : [])] });
  const third = sipp(t, { scenario: 'uas', port: thirdPort });
  await new Promise((r) => setTimeout(r, 200)); // the sipp UAS bind their ports
  const caller = sipp(t, { scenario: 'uac', port: await freeUdpPort(), remote: `127.0.0.1:${port}`, args: ['-s', '2000', '-d', '2500'] });

  const [c, r, x] = await Promise.all([caller.done, callee.done, third.done]);
  sippPassed(t, r, 'the referrer: 200, ACK, REFER → 202, NOTIFYs answered, released by BYE');
  sippPassed(t, x, "the third party: INVITE, 200, ACK, then the caller's BYE relayed");
  sippPassed(t, c, 'the caller stays up through the transfer (no BYE, no unexpected request) and hangs up itself');
  if (c.code || r.code || x.code) t.comment(c.out.slice(-1200), r.out.slice(-1200), x.out.slice(-1200));

  t.equal(hookBodies.length, 2, 'the CallHook was asked twice');
  t.match(hookBodies[0], { refer: false, to: '2000' }, 'first for the original call');
  t.match(hookBodies[1], { refer: true, to: '3000', domain: 'pbx.test', count: 0 }, 'then with refer: true and to = the Refer-To user');

  const notifies = logged(callee.logs(), 'NOTIFY').map((l) => l.split('|').map((s) => s.trim()));
  t.ok(notifies.length >= 2, `NOTIFYs received: ${JSON.stringify(notifies)}`);
  t.ok(notifies.every((n) => /^refer\b/i.test(n[2] ?? '')), 'Event: refer');
  t.match(notifies[0]?.[0], /^SIP\/2\.0 100 Trying/, 'progress starts with 100 Trying');
  t.match(notifies[0]?.[1], /^active/i, 'the subscription is active while the transfer runs');
  const last = notifies[notifies.length - 1];
  t.match(last?.[0], /^SIP\/2\.0 200 OK/, 'the last NOTIFY reports 200 OK of the new call');
  t.match(last?.[1], /^terminated/i, 'and terminates the implicit subscription (RFC 3515 §2.4.7)');

  await waitFor(() => events.includes('call:end'), 'call:end', 15000);
  const i = events.indexOf('transfer:requested');
  t.ok(i >= 0 && events.indexOf('transfer:complete') > i, `transfer:requested then transfer:complete (${events.join(' ')})`);
  t.equal(pbx.engine.activeCalls, 0, 'no call left behind');
});
