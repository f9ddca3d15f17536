// SPEC §5 through createPbx with real sipp peers: the StatusHook receives the exact event sequence of an
// answered call hung up by the caller, and of one hung up by the callee (names exactly, no trailing spaces —
// SPEC §8), with the data fields SPEC §5 gives each event, the verb's statusLabel as `label`, the SIP Call-ID.
import t from 'tap';
import { skipUnlessCommand } from '../../helpers/env.js';
import {
  StatusLog,
  freeMediaPort,
  freeUdpPort,
  loopTrunkConfig,
  rtpSink,
  settled,
  sipMessages,
  sipp,
  startTestPbx,
  udpBound,
} from './calls-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');

t.test('StatusHook event sequences of answered calls', { skip, timeout: 90000 }, async (t) => {
  const calleePort = await freeUdpPort();
  const status = new StatusLog();
  const dest = { type: 'sip', address: `sip:agent@127.0.0.1:${calleePort}` };
  const config = loopTrunkConfig({
    '*': {
      callHook: () => [{ verb: 'connect', statusLabel: 'sales', dest: { ...dest, headers: { 'X-Queue': 'sales' } } }],
      statusHook: status.hook,
    },
  }, { codecs: ['PCMA'] });
  const tp = await startTestPbx(t, config);

  const expected = (endedBy: 'caller' | 'callee') => [
    ['connect:start', {}],
    ['connect:trying', { dest, index: 0 }],
    ['connect:ringing', { dest, index: 0 }],
    ['connect:answered', { dest, index: 0 }],
    ['connect:hangup', { endedBy }],
    ['connect:complete', {}],
  ];

  for (const endedBy of ['caller', 'callee'] as const) {
    t.test(`answered, then the ${endedBy} hangs up`, async (t) => {
      status.bodies.length = 0;
      const sink = await rtpSink(t);
      const callee = sipp(t, {
        scenario: endedBy === 'caller' ? 'call-uas-answer.xml' : 'call-uas-answer-hangup.xml',
        port: calleePort, mediaPort: await freeMediaPort(), args: ['-d', '300'],
      });
      await udpBound(calleePort, callee);
      const caller = sipp(t, {
        scenario: endedBy === 'caller' ? 'call-uac-answered.xml' : 'call-uac-answered-bye-in.xml',
        port: await freeUdpPort(), mediaPort: await freeMediaPort(), target: `127.0.0.1:${tp.port}`,
        args: ['-s', '5550123', '-key', 'rtp_port', String(sink.port), '-d', '300'],
      });
      const [c, d] = await Promise.all([caller.done, callee.done]);
      sippPassed(t, c, 'caller completes');
      sippPassed(t, d, 'callee completes');
      await settled(tp);

      const callId = sipMessages(caller.messages()).find((m) => m.dir === 'sent' && m.startLine.startsWith('INVITE '))?.header('Call-ID');
      t.ok(callId, 'the caller sent an INVITE with a Call-ID');
      const bodies = status.bodies;
      t.same(bodies.map((b) => b.event), [...expected(endedBy).map(([e]) => e), 'call:end'], 'exact event names, in order');
      for (const b of bodies) {
        t.equal(b.callId, callId, `${b.event}: callId is the caller's SIP Call-ID`);
        t.ok(typeof b.timestamp === 'string' || typeof b.timestamp === 'number', `${b.event}: timestamp`);
      }
      expected(endedBy).forEach(([name, data], i) => {
        const b = bodies[i];
        if (!b) return;
        const { callId: _c, event: _e, timestamp: _ts, label, ...rest } = b;
        t.same(rest, data, `${name}: data ${JSON.stringify(data)}`);
        t.equal(label, 'sales', `${name}: label from statusLabel`);
      });
      const end = bodies.at(-1)!;
      t.equal(end.label, undefined, 'call:end is a call event: never labelled');
      t.equal(end.cause, `${endedBy}-hangup`, 'call:end cause');
      t.ok(typeof end.durationMs === 'number' && end.durationMs > 0, 'call:end durationMs');

      const invite = sipMessages(callee.messages()).find((m) => m.dir === 'received' && m.startLine.startsWith('INVITE '));
      t.equal(invite?.header('X-Queue'), 'sales', "the Dest's extra header reaches the callee");
    });
  }
});
