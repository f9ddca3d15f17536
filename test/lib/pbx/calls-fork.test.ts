// SPEC §4 connect with two dests, through createPbx with real sipp peers: sipp uac → trunk → CallHook connect →
// two sipp uas ringing in parallel. One answers after 2 s, the other gets a CANCEL with the RFC 3326 Reason
// "Call completed elsewhere"; the winner's RTP (sipp's bundled g711a.pcap) reaches the caller's RTP port.
import t from 'tap';
import { existsSync } from 'node:fs';
import { skipUnless, skipUnlessCommand } from '../../helpers/env.js';
import {
  G711A_PCAP,
  StatusLog,
  freeMediaPort,
  freeUdpPort,
  loopTrunkConfig,
  pcapRtpPayloads,
  rtpSink,
  settled,
  sipMessages,
  sipp,
  startTestPbx,
  udpBound,
} from './calls-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp') || skipUnless(existsSync(G711A_PCAP), `sipp's ${G711A_PCAP}`);

t.test('connect forks to two callees: the 2xx wins, the other fork is CANCELled, the winner is heard', { skip, timeout: 90000 }, async (t) => {
  const [winPort, losePort, uacPort] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
  const status = new StatusLog();
  const config = loopTrunkConfig({
    '*': {
      callHook: () => [{
        verb: 'connect',
        dest: [
          { type: 'sip', address: `sip:lose@127.0.0.1:${losePort}` },
          { type: 'sip', address: `sip:win@127.0.0.1:${winPort}` },
        ],
      }],
      statusHook: status.hook,
    },
  }, { codecs: ['PCMA', 'PCMU'] });
  const tp = await startTestPbx(t, config);
  const sink = await rtpSink(t);

  const winner = sipp(t, { scenario: 'call-uas-answer-late.xml', port: winPort, mediaPort: await freeMediaPort() });
  const loser = sipp(t, { scenario: 'call-uas-cancelled.xml', port: losePort, mediaPort: await freeMediaPort() });
  await Promise.all([udpBound(winPort, winner), udpBound(losePort, loser)]);
  const caller = sipp(t, {
    scenario: 'call-uac-answered.xml', port: uacPort, mediaPort: await freeMediaPort(), target: `127.0.0.1:${tp.port}`,
    args: ['-s', '5550100', '-key', 'rtp_port', String(sink.port), '-d', '2500'],
  });

  const [w, l, c] = await Promise.all([winner.done, loser.done, caller.done]);
  sippPassed(t, c, 'caller: INVITE … 200, ACK, BYE, 200');
  sippPassed(t, w, 'winner: INVITE, 100, 180, (2 s) 200, ACK, BYE');
  sippPassed(t, l, 'loser: INVITE, 100, 180, CANCEL, 200, 487, ACK');

  const cancel = sipMessages(loser.messages()).find((m) => m.dir === 'received' && m.startLine.startsWith('CANCEL '));
  t.ok(cancel, 'the losing fork received a CANCEL');
  t.equal(cancel?.header('Reason'), 'SIP;cause=200;text="Call completed elsewhere"', 'RFC 3326 Reason of the CANCEL');
  const wonInvite = sipMessages(winner.messages()).find((m) => m.dir === 'received' && m.startLine.startsWith('INVITE '));
  t.match(wonInvite?.startLine, /^INVITE sip:win@/, 'the winner was dialled at its own URI');

  // The winner's PCMA frames arrive at the caller unchanged (same codec on both legs: no transcoding). Frames of
  // one repeated byte (digital silence) are left out: the ringback tone's pauses encode the same way.
  const pcap = pcapRtpPayloads(G711A_PCAP);
  const heard = new Set(
    sink.packets
      .filter((p) => p.pt === 8 && !p.payload.every((b) => b === p.payload[0]))
      .map((p) => p.payload.toString('hex'))
      .filter((h) => pcap.has(h)),
  );
  t.ok(heard.size >= 25, `distinct pcap frames of the winner heard by the caller: ${heard.size} (of ${sink.packets.length} packets)`);

  await settled(tp);
  const events = status.names();
  t.equal(events.filter((e) => e === 'connect:trying').length, 2, 'both forks tried');
  t.equal(events.filter((e) => e === 'connect:ringing').length, 2, 'both forks rang');
  const answered = status.bodies.find((b) => b.event === 'connect:answered');
  t.same(answered?.dest, { type: 'sip', address: `sip:win@127.0.0.1:${winPort}` }, 'connect:answered names the winner');
  t.equal(answered?.index, 1, 'connect:answered carries the index of the winning dest');
  t.same(status.bodies.find((b) => b.event === 'connect:hangup')?.endedBy, 'caller', 'the caller hung up');
  t.equal(events.filter((e) => e === 'call:end').length, 1, 'one call:end');
});
