// Client → client through registrations (SPEC §2, §4): user 2000 is registered from two phones (maxContacts 2, two
// sipp instances), the client 1001 (digest-authenticated INVITE) dials 2000, the CallHook connects
// {type:'client', address:'2000'}: the call forks to both registered contacts, the first answers, the other
// gets CANCEL with an RFC 3326 Reason; the caller hangs up and everything is released.
import t from 'tap';
import { skipUnlessCommand } from '../../helpers/env.js';
import { freeUdpPort, logged, sipp, sippRegister, startPbx, waitFor } from './peers-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');

t.test('a client dest forks to every registered contact: one answers, the other gets CANCEL', { skip, timeout: 120000 }, async (t) => {
  const hookBodies: Record<string, unknown>[] = [];
  const events: string[] = [];
  const dialplan = {
    '2???': {
      callHook: (body: Record<string, unknown>) => {
        hookBodies.push(body);
        return [{ verb: 'connect', dest: { type: 'client', address: String(body.to) } }];
      },
      statusHook: (body: { event: string }) => {
        events.push(body.event);
        return {};
      },
    },
  };
  const config = {
    domains: {
      'pbx.test': {
        clients: [
          { id: 1, username: '1001', password: 'pw-1001-x', dialplan },
          { id: 2, username: '2000', password: 'pw-2000-y', maxContacts: 2, dialplan },
        ],
      },
    },
  };
  const { pbx, port } = await startPbx(t, config);
  const phoneA = await freeUdpPort();
  const phoneB = await freeUdpPort();
  const regs = await Promise.all([phoneA, phoneB].map((p) =>
    sippRegister(t, { pbxPort: port, port: p, domain: 'pbx.test', user: '2000', password: 'pw-2000-y' })));
  t.same(regs.map((r) => r.code), [0, 0], 'both phones registered 2000');
  const reg = await pbx.store.lookup({ domain: 'pbx.test', user: '2000' });
  t.equal(reg?.contacts.length, 2, 'two contacts bound for 2000 (maxContacts 2)');

  const answering = sipp(t, { scenario: 'peer-uas-answer.xml', port: phoneA, logs: true });
  const ringing = sipp(t, { scenario: 'peer-uas-cancelled.xml', port: phoneB, logs: true });
  await new Promise((r) => setTimeout(r, 200)); // both sipp UAS bind their ports
  const caller = sipp(t, {
    scenario: 'peer-uac-client.xml', port: await freeUdpPort(), remote: `127.0.0.1:${port}`,
    args: ['-s', '2000', '-key', 'domain', 'pbx.test', '-key', 'caller', '1001', '-au', '1001', '-ap', 'pw-1001-x', '-auth_uri', '2000@pbx.test', '-d', '500'],
  });
  const [c, a, b] = await Promise.all([caller.done, answering.done, ringing.done]);
  sippPassed(t, c, 'the caller: 401, authenticated INVITE, 200, ACK, BYE');
  sippPassed(t, a, 'phone A: INVITE, 180, 200, ACK, BYE');
  sippPassed(t, b, 'phone B: INVITE, 180, CANCEL → 200 + 487, ACK');
  if (c.code || a.code || b.code) t.comment(c.out.slice(-1200), a.out.slice(-1200), b.out.slice(-1200));

  t.equal(hookBodies.length, 1, 'one CallHook request');
  t.match(hookBodies[0], { source: 'client', from: '1001', to: '2000', domain: 'pbx.test', refer: false });
  t.match(logged(answering.logs(), 'RURI'), [new RegExp(`^INVITE sip:2000@127\\.0\\.0\\.1:${phoneA}`)], 'phone A called at its registered contact');
  t.match(logged(ringing.logs(), 'RURI'), [new RegExp(`^INVITE sip:2000@127\\.0\\.0\\.1:${phoneB}`)], 'phone B called at its registered contact');
  const reason = logged(ringing.logs(), 'REASON');
  t.equal(reason.length, 1, 'the CANCEL carried a Reason header');
  t.match(reason[0] ?? '', /^SIP\s*;\s*cause=200\s*;\s*text="Call completed elsewhere"/, 'RFC 3326 Reason: completed elsewhere');

  await waitFor(() => events.includes('call:end'), 'call:end', 15000);
  t.ok(events.includes('connect:answered'), `events: ${events.join(' ')}`);
  t.equal(events.filter((e) => e === 'connect:trying' || e === 'connect:ringing').length >= 2, true, 'both forks reported progress');
  t.equal(pbx.engine.activeCalls, 0, 'no call left behind');
});
