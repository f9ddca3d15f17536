// Mid-call requests with real peers (SPEC §6): the caller (sipp) holds the call with a re-INVITE a=sendonly and
// resumes it with a=sendrecv; each is answered by the PBX (recvonly / sendrecv, RFC 3264 §6.1) and relayed to
// the callee (sipp) as a re-INVITE whose direction reflects the hold. An INFO DTMF (application/dtmf-relay) from
// the caller reaches the callee with its body.
import t from 'tap';
import { skipUnlessCommand } from '../../helpers/env.js';
import { freeUdpPort, logged, loopTrunkConfig, sipp, startPbx, waitFor } from './peers-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');

t.test('hold/resume re-INVITEs and INFO DTMF are relayed to the other leg', { skip, timeout: 120000 }, async (t) => {
  const calleePort = await freeUdpPort();
  const events: string[] = [];
  const config = loopTrunkConfig({
    '*': {
      callHook: () => [{ verb: 'connect', dest: { type: 'sip', address: `sip:callee@127.0.0.1:${calleePort}` } }],
      statusHook: (body: { event: string }) => {
        events.push(body.event);
        return {};
      },
    },
  }, { codecs: ['PCMU'] });
  const { pbx, port } = await startPbx(t, config);
  const callee = sipp(t, { scenario: 'peer-uas-held.xml', port: calleePort, logs: true });
  await new Promise((r) => setTimeout(r, 200)); // sipp binds its port
  const caller = sipp(t, { scenario: 'peer-uac-hold.xml', port: await freeUdpPort(), remote: `127.0.0.1:${port}`, logs: true, args: ['-s', '2000'] });

  const [c, d] = await Promise.all([caller.done, callee.done]);
  sippPassed(t, c, 'the caller: call, hold, resume, INFO, BYE all answered');
  sippPassed(t, d, 'the callee: call, two relayed re-INVITEs, the relayed INFO, BYE');
  if (c.code || d.code) t.comment(c.out.slice(-1500), d.out.slice(-1500));

  const callerLog = caller.logs();
  t.same(logged(callerLog, 'HOLD-ANSWER'), ['a=recvonly'], 'the PBX answers the hold (sendonly) with recvonly');
  t.same(logged(callerLog, 'RESUME-ANSWER'), ['a=sendrecv'], 'and the resume with sendrecv');
  const calleeLog = callee.logs();
  t.same(logged(calleeLog, 'REINVITE'), ['a=sendonly', 'a=sendrecv'], 'the callee is put on hold (sendonly) and resumed (sendrecv)');
  // RFC 3264 §8: "the version number in the o= line MUST be incremented" with each modified offer (a phone that
  // sees the old version takes the re-INVITE for a refresh and does not go on hold).
  const origins = logged(calleeLog, 'ORIGIN').map((o) => o.split(/\s+/));
  t.equal(origins.length, 3, 'the o= line of the first offer and of both re-offers');
  t.equal(new Set(origins.map((o) => o[1])).size, 1, 'one session id');
  const versions = origins.map((o) => BigInt(o[2] ?? '0'));
  t.ok(versions[1]! > versions[0]! && versions[2]! > versions[1]!, `the version increases with each re-offer (${versions.join(', ')})`);
  t.same(logged(calleeLog, 'INFO'), ['application/dtmf-relay Signal=5'], 'the INFO DTMF reaches the callee with its type and body');

  await waitFor(() => events.includes('call:end'), 'call:end', 15000);
  t.equal(pbx.engine.activeCalls, 0, 'no call left behind');
});
