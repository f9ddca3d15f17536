// SPEC §4 retries through createPbx with real sipp peers: a script that ends without an answer while the caller
// is still there makes the PBX ask the CallHook again with count 1, 2, 3, and each time the NEW script runs
// (SPEC §8: the original re-ran the first one). Then the final code 480.
//   count 0: connect sip:first@busy   count 1: connect sip:second@busy
//   count 2: pause 0.2 s               count 3: connect sip:fourth@busy
// The busy callee (486 to everything) must see first, second, fourth — in that order, nothing else.
import t from 'tap';
import { skipUnlessCommand } from '../../helpers/env.js';
import { StatusLog, freeMediaPort, freeUdpPort, loopTrunkConfig, rtpSink, settled, sipMessages, sipp, startTestPbx, udpBound } from './calls-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');

t.test('retries: the CallHook is asked with count 0..3 and each new script runs, then 480', { skip, timeout: 90000 }, async (t) => {
  const busyPort = await freeUdpPort();
  const busy = (user: string) => ({ verb: 'connect', dest: { type: 'sip', address: `sip:${user}@127.0.0.1:${busyPort}` } });
  const scripts: unknown[][] = [[busy('first')], [busy('second')], [{ verb: 'pause', duration: 0.2 }], [busy('fourth')]];
  const asked: Array<{ count: unknown; to: unknown; callId: unknown }> = [];
  const status = new StatusLog();
  const config = loopTrunkConfig({
    '*': {
      callHook: (body: { count: number; to: string; callId: string }) => {
        asked.push({ count: body.count, to: body.to, callId: body.callId });
        return scripts[body.count] ?? [{ verb: 'response', code: 500 }];
      },
      statusHook: status.hook,
    },
  }, { codecs: ['PCMA'] });
  const tp = await startTestPbx(t, config);
  const sink = await rtpSink(t);
  const callee = sipp(t, { scenario: 'call-uas-busy.xml', port: busyPort, mediaPort: await freeMediaPort(), args: ['-m', '3'] });
  await udpBound(busyPort, callee);
  const caller = sipp(t, {
    scenario: 'call-uac-rejected.xml', port: await freeUdpPort(), mediaPort: await freeMediaPort(),
    target: `127.0.0.1:${tp.port}`, args: ['-s', '7000', '-key', 'rtp_port', String(sink.port)],
  });
  const [c, d] = await Promise.all([caller.done, callee.done]);
  sippPassed(t, c, 'caller completes');
  sippPassed(t, d, 'busy callee answered three INVITEs with 486');

  t.same(asked.map((a) => a.count), [0, 1, 2, 3], 'the CallHook was asked with count 0, 1, 2, 3 — and not again');
  t.ok(asked.every((a) => a.to === '7000' && a.callId === asked[0]!.callId), 'every request is for the same call');

  const invites = sipMessages(callee.messages())
    .filter((m) => m.dir === 'received' && m.startLine.startsWith('INVITE '))
    .map((m) => /^INVITE sip:([^@]+)@/.exec(m.startLine)?.[1]);
  t.same(invites, ['first', 'second', 'fourth'], 'the callee saw the dests of scripts 0, 1 and 3, in order');

  const final = sipMessages(caller.messages()).find((m) => m.dir === 'received' && /^SIP\/2\.0 [3-6]/.test(m.startLine));
  t.match(final?.startLine, /^SIP\/2\.0 480 /, `after the retries the caller gets 480: ${final?.startLine}`);

  await settled(tp);
  const connect = ['connect:start', 'connect:trying', 'connect:error', 'connect:complete'];
  t.same(status.names(), [...connect, ...connect, 'pause:start', 'pause:complete', ...connect, 'call:end'], 'events of the four scripts, in order');
  t.same(status.bodies.filter((b) => b.event === 'connect:error').map((b) => b.status), [486, 486, 486], 'each connect:error carries the 486');
  t.equal(status.bodies.at(-1)?.cause, 'unanswered', 'call:end cause unanswered');
});
