// SPEC §4 verbs through createPbx with real sipp peers (sipp uac → trunk → in-process CallHook):
//   - announce then connect: 183 with SDP, the announcement's frames reach the caller, then the callee answers;
//   - response 486 reaches the caller as 486;
//   - pause: the caller's CANCEL ends it at once (200 + 487, call over long before the pause would end);
//   - ringback heard as early media: 183 + RTP at the caller's port while the callee only rings.
import t from 'tap';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEncoder } from '../../../codecs/index.js';
import { repoRoot, skipUnlessCommand } from '../../helpers/env.js';
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
  type TestPbx,
} from './calls-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');

/** 16-bit mono PCM WAV of a 1 kHz sine at 8 kHz: every 20 ms frame holds whole periods, so all frames match. */
function toneWav(seconds: number): { wav: Buffer; frame: Int16Array } {
  const n = Math.round(8000 * seconds);
  const pcm = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + pcm.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(pcm.length, 40);
  const frame = new Int16Array(160);
  for (let i = 0; i < 160; i++) frame[i] = pcm.readInt16LE(i * 2);
  return { wav: Buffer.concat([h, pcm]), frame };
}

t.test('CallScript verbs with real SIP peers', { skip, timeout: 90000 }, async (t) => {
  const mediaDir = mkdtempSync(join(tmpdir(), 'dpbx-calls-verbs-'));
  t.teardown(() => rmSync(mediaDir, { recursive: true, force: true }));
  const tone = toneWav(0.8);
  writeFileSync(join(mediaDir, 'tone.wav'), tone.wav);
  copyFileSync(join(repoRoot, 'media', 'sounds', 'uk.wav'), join(mediaDir, 'uk.wav'));

  const calleePort = await freeUdpPort();
  const status = new StatusLog();
  const scripts: Record<string, unknown[]> = {
    '100': [
      { verb: 'announce', url: 'file:/tone.wav' },
      { verb: 'connect', dest: { type: 'sip', address: `sip:callee@127.0.0.1:${calleePort}` } },
    ],
    '486': [{ verb: 'response', code: 486 }],
    '200': [{ verb: 'pause', duration: 20 }, { verb: 'response', code: 404 }],
    '300': [{ verb: 'connect', dest: { type: 'sip', address: `sip:callee@127.0.0.1:${calleePort}` } }],
  };
  const callIds: Record<string, string> = {};
  const config = loopTrunkConfig({
    '*': {
      callHook: (body: { to: string; callId: string; count: number }) => {
        callIds[body.to] = body.callId;
        return body.count === 0 ? scripts[body.to] ?? [{ verb: 'response', code: 404 }] : [{ verb: 'response', code: 500 }];
      },
      statusHook: status.hook,
    },
  }, { codecs: ['PCMA'] });
  const tp: TestPbx = await startTestPbx(t, config, { mediaPath: mediaDir });
  const events = (to: string) => status.forCall(callIds[to] ?? '-').map((b) => b.event);

  t.test('announce then connect: early media (183) with the announcement, then the callee answers', async (t) => {
    const sink = await rtpSink(t);
    const callee = sipp(t, { scenario: 'call-uas-answer.xml', port: calleePort, mediaPort: await freeMediaPort() });
    await udpBound(calleePort, callee);
    const caller = sipp(t, {
      scenario: 'call-uac-answered.xml', port: await freeUdpPort(), mediaPort: await freeMediaPort(),
      target: `127.0.0.1:${tp.port}`, args: ['-s', '100', '-key', 'rtp_port', String(sink.port), '-d', '500'],
    });
    const [c, d] = await Promise.all([caller.done, callee.done]);
    sippPassed(t, c, 'caller completes');
    sippPassed(t, d, 'callee completes');

    const got = sipMessages(caller.messages()).filter((m) => m.dir === 'received');
    const i183 = got.findIndex((m) => m.startLine.startsWith('SIP/2.0 183'));
    const i200 = got.findIndex((m) => m.startLine.startsWith('SIP/2.0 200'));
    t.ok(i183 >= 0 && i200 > i183, `183 before 200 (${got.map((m) => m.startLine.slice(8, 11)).join(' ')})`);
    t.match(got[i183]?.body, /m=audio \d+ RTP\/AVP 8/, 'the 183 carries the relay SDP (PCMA)');

    const expected = createEncoder('PCMA').encode(tone.frame);
    const toneFrames = sink.packets.filter((p) => p.pt === 8 && p.payload.equals(expected));
    t.ok(toneFrames.length >= 30, `announcement frames at the caller: ${toneFrames.length} (0.8 s = 40)`);

    await settled(tp);
    const ev = events('100');
    const order = ['playback:start', 'playback:complete', 'connect:start', 'connect:answered', 'connect:complete', 'call:end'];
    t.same(ev.filter((e) => order.includes(e)), order, `announce runs before connect: ${ev.join(' ')}`);
    const done = status.forCall(callIds['100']!).find((b) => b.event === 'playback:complete');
    t.ok(typeof done?.durationMs === 'number' && done.durationMs > 0, 'playback:complete carries durationMs');
  });

  t.test('response 486 reaches the caller as 486', async (t) => {
    const sink = await rtpSink(t);
    const caller = sipp(t, {
      scenario: 'call-uac-rejected.xml', port: await freeUdpPort(), mediaPort: await freeMediaPort(),
      target: `127.0.0.1:${tp.port}`, args: ['-s', '486', '-key', 'rtp_port', String(sink.port)],
    });
    const c = await caller.done;
    sippPassed(t, c, 'caller completes');
    const finals = sipMessages(caller.messages()).filter((m) => m.dir === 'received' && /^SIP\/2\.0 [3-6]/.test(m.startLine));
    t.equal(finals[0]?.startLine, 'SIP/2.0 486 Busy Here', 'final response 486 with its standard phrase');
    await settled(tp);
    t.same(events('486'), ['response:sent', 'call:end'], 'response:sent then call:end');
    t.equal(status.forCall(callIds['486']!).find((b) => b.event === 'response:sent')?.code, 486, 'response:sent {code: 486}');
    t.equal(status.forCall(callIds['486']!).find((b) => b.event === 'call:end')?.cause, 'response', 'call:end cause');
  });

  t.test('pause: the caller CANCEL ends it at once (200, 487)', async (t) => {
    const sink = await rtpSink(t);
    const caller = sipp(t, {
      scenario: 'call-uac-cancel-after-100.xml', port: await freeUdpPort(), mediaPort: await freeMediaPort(),
      target: `127.0.0.1:${tp.port}`, args: ['-s', '200', '-key', 'rtp_port', String(sink.port), '-d', '300'],
      // The pause is 20 s; a caller still waiting for its 487 after 15 s means the CANCEL did not end it.
      killAfterMs: 15000,
    });
    const c = await caller.done;
    sippPassed(t, c, 'caller: INVITE, 100, CANCEL, 200, 487, ACK');
    await settled(tp);
    const ev = events('200');
    t.same(ev, ['pause:start', 'pause:complete', 'call:end'], `the pause is closed and the script goes no further (no response:sent): ${ev.join(' ')}`);
    const end = status.forCall(callIds['200']!).find((b) => b.event === 'call:end');
    t.equal(end?.cause, 'caller-cancel', 'call:end cause');
    t.ok(typeof end?.durationMs === 'number' && end.durationMs < 20000, `the call ended before the 20 s pause could have (${end?.durationMs} ms)`);
  });

  t.test('ringback is heard as early media while the callee rings', async (t) => {
    const sink = await rtpSink(t);
    const callee = sipp(t, { scenario: 'call-uas-cancelled.xml', port: calleePort, mediaPort: await freeMediaPort() });
    await udpBound(calleePort, callee);
    const caller = sipp(t, {
      scenario: 'call-uac-cancel-after-183.xml', port: await freeUdpPort(), mediaPort: await freeMediaPort(),
      target: `127.0.0.1:${tp.port}`, args: ['-s', '300', '-key', 'rtp_port', String(sink.port), '-d', '1500'],
    });
    const [c, d] = await Promise.all([caller.done, callee.done]);
    sippPassed(t, c, 'caller: INVITE, 183 with SDP, CANCEL, 200, 487, ACK');
    sippPassed(t, d, 'callee: INVITE, 100, 180, CANCEL, 200, 487, ACK');
    const early = sipMessages(caller.messages()).find((m) => m.dir === 'received' && m.startLine.startsWith('SIP/2.0 183'));
    t.match(early?.body, /m=audio \d+ RTP\/AVP 8/, 'the 183 carries the relay SDP (PCMA)');
    // The callee sends no media at all: every packet at the caller is the PBX's ringback (uk.wav, PCMA).
    const pcma = sink.packets.filter((p) => p.pt === 8);
    const sounding = pcma.filter((p) => !p.payload.every((b) => b === p.payload[0]));
    t.ok(pcma.length >= 40, `ringback packets at the caller: ${pcma.length}`);
    t.ok(sounding.length >= 20, `ringback frames that are not silence: ${sounding.length}`);
    await settled(tp);
    const ev = events('300');
    t.same(ev, ['connect:start', 'connect:trying', 'connect:ringing', 'connect:cancel', 'connect:complete', 'call:end'], `events: ${ev.join(' ')}`);
  });
});
