// Two real softphones (Debian's baresip, headless) talk through the PBX with no codec in common (SPEC §2, §4):
// the caller 1001 offers only PCMU, the callee 2002 only G.722. Both register as password clients of an
// in-process config; 1001 dials 2002, whose dialplan entry's CallHook connects {type:'client', address:'2002'}.
// Each plays a tone WAV (aufile source) and dumps what it decodes (sndfile): the callee must hear the caller's
// tone and the caller the callee's, so the relay transcodes PCMU ⇄ G.722 both ways.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTone, readWav, writeWav } from '../../../media/play/index.js';
import type { Pbx } from '../../../lib/index.js';
import { skipUnless, hasCommand } from '../../helpers/env.js';
import { freeUdpPort, startPbx, waitFor } from './peers-kit.js';

const skip = skipUnless(hasCommand('baresip') && hasCommand('sipp'), "commands 'baresip' and 'sipp'");

const CALLER_HZ = 700; // 8 kHz WAV through PCMU
const CALLEE_HZ = 1300; // 16 kHz WAV through G.722

/** Dominant frequency by a Goertzel scan (10 Hz steps from 100 Hz to just under Nyquist or 3.5 kHz). */
function dominantFrequency(x: Int16Array, rate: number): number {
  let best = 0;
  let bestPower = -1;
  for (let f = 100; f < Math.min(3500, rate / 2 - 100); f += 10) {
    const coeff = 2 * Math.cos((2 * Math.PI * f) / rate);
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < x.length; i++) {
      const s0 = x[i]! + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if (power > bestPower) {
      bestPower = power;
      best = f;
    }
  }
  return best;
}

/**
 * The audible part of a recording: from the first to the last sample above `threshold`, start-up trimmed. Its
 * last second is the far end's tone (at the caller, the ringback comes first).
 */
function loudPart(s: Int16Array, rate: number, threshold = 1500): Int16Array {
  const first = s.findIndex((x) => Math.abs(x) > threshold);
  if (first < 0) return new Int16Array(0);
  let last = s.length - 1;
  while (last > first && Math.abs(s[last]!) <= threshold) last--;
  const margin = Math.round(rate * 0.1);
  return first + margin < last - margin ? s.subarray(first + margin, last - margin) : new Int16Array(0);
}

/**
 * RTP packets the relay has sent to each leg of the call (a test-only look inside the PBX: its relay is not public
 * API). undefined when that look is no longer possible, and the caller then falls back to waiting.
 */
async function relayPacketsOut(pbx: Pbx, callId: string): Promise<Record<string, number> | undefined> {
  const relay = (pbx as unknown as { relay?: { getSession?(id: string): { stats(): Promise<{ legs: { id: string; packetsOut: number }[] }> } | undefined } }).relay;
  if (typeof relay?.getSession !== 'function') {
    await new Promise((r) => setTimeout(r, 6000));
    return undefined;
  }
  const session = relay.getSession(callId);
  if (!session) return {};
  const stats = await session.stats().catch(() => undefined);
  return Object.fromEntries((stats?.legs ?? []).map((l) => [l.id, l.packetsOut]));
}

interface Phone {
  dir: string;
  child: ChildProcess;
  exited: Promise<void>;
  log(): string;
  /** The WAV this phone decoded from the call (sndfile's `*-dec.wav`), or undefined. */
  decoded(): { samples: Int16Array; sampleRate: number } | undefined;
}

function baresip(
  t: { teardown(fn: () => unknown): void },
  o: { user: string; password: string; pbxPort: number; codec: 'PCMU' | 'G722'; tone: Int16Array; toneRate: number; answer: boolean; quitAfter: number; dial?: string },
  sipPort: number,
): Phone {
  const dir = mkdtempSync(join(tmpdir(), `dpbx-peer-${o.user}-`));
  writeFileSync(join(dir, 'tone.wav'), writeWav(o.tone, { sampleRate: o.toneRate }));
  writeFileSync(join(dir, 'config'), [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${sipPort}`,
    'net_interface 127.0.0.1', // media on loopback too (else c= is the default route's address)
    `audio_source aufile,${join(dir, 'tone.wav')}`,
    'audio_player alsa,null',
    'audio_alert alsa,null',
    'jitter_buffer_delay 2-10',
    `snd_path ${dir}`,
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module g722.so',
    'module aufile.so',
    'module alsa.so',
    'module sndfile.so',
    'module_tmp uuid.so',
    'module_tmp account.so',
    'module_app menu.so',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'accounts'),
    `<sip:${o.user}@pbx.test;transport=udp>;auth_pass=${o.password};outbound1="sip:127.0.0.1:${o.pbxPort};transport=udp";` +
    `regint=120;answermode=${o.answer ? 'auto' : 'manual'};audio_codecs=${o.codec === 'G722' ? 'G722/16000/1' : 'PCMU/8000/1'}\n`);
  const args = ['-f', dir, '-t', String(o.quitAfter), ...(o.dial ? ['-e', `/dial ${o.dial}`] : [])];
  const child = spawn('baresip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir, child, exited, log: () => log,
    decoded: () => {
      const f = readdirSync(dir).find((n) => /-dec\.wav$/.test(n));
      if (!f) return undefined;
      const w = readWav(readFileSync(join(dir, f)));
      return { samples: w.samples, sampleRate: w.sampleRate };
    },
  };
}

t.test('baresip PCMU-only caller ⇄ baresip G.722-only callee, both registered clients: tones heard both ways', { skip, timeout: 120000 }, async (t) => {
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
          { id: 1, username: '1001', password: 'pw-1001-b', codecs: ['PCMU'], dialplan },
          { id: 2, username: '2002', password: 'pw-2002-b', codecs: ['G722'], dialplan },
        ],
      },
    },
  };
  // Debian's baresip 1.0 (libre) gives up on a 401 that also carries a SHA-256 challenge ("Function not
  // implemented") instead of answering the MD5 one: challenge MD5 only (DIGEST_ALGORITHMS=MD5) for it.
  const { pbx, port } = await startPbx(t, config, { digestAlgorithms: ['MD5'] });

  const callee = baresip(t, {
    user: '2002', password: 'pw-2002-b', pbxPort: port, codec: 'G722', answer: true, quitAfter: 40,
    tone: generateTone({ frequencies: [CALLEE_HZ], cadence: [25] }, 16000), toneRate: 16000,
  }, await freeUdpPort());
  await waitFor(async () => (await pbx.store.lookup({ domain: 'pbx.test', user: '2002' }))?.contacts.length, 'the callee registered', 20000).catch((err: unknown) => {
    t.comment(callee.log().slice(-3000));
    throw err;
  });

  const caller = baresip(t, {
    user: '1001', password: 'pw-1001-b', pbxPort: port, codec: 'PCMU', answer: false, quitAfter: 30,
    tone: generateTone({ frequencies: [CALLER_HZ], cadence: [25] }, 8000), toneRate: 8000, dial: 'sip:2002@pbx.test',
  }, await freeUdpPort());
  const answered = await waitFor(() => events.includes('connect:answered'), 'the call answered', 30000).catch(() => false);
  t.ok(answered, 'the callee answered');
  const callerReg = await pbx.store.lookup({ domain: 'pbx.test', user: '1001' });
  t.equal(callerReg?.contacts.length, 1, 'the caller is registered too');

  // Let them talk until the relay has sent 3 s of audio (150 packets) to each leg past the ringback (the relay
  // loads its transcoder plugin on the first transcoded bridge, which under tsx on a busy machine takes seconds),
  // then the caller hangs up: baresip sends BYE when it stops on SIGTERM, and each writes its recording then.
  const callId = String(hookBodies[0]?.callId);
  await waitFor(async () => {
    const legs = await relayPacketsOut(pbx, callId);
    return legs === undefined || ((legs['A'] ?? 0) >= 200 && (legs['B1'] ?? 0) >= 150);
  }, 'audio relayed both ways', 25000, 250).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500));
  caller.child.kill('SIGTERM');
  await caller.exited;
  await waitFor(() => events.includes('call:end'), 'call:end', 15000).catch(() => undefined);
  callee.child.kill('SIGTERM');
  await callee.exited;

  t.equal(hookBodies.length, 1, 'one CallHook request');
  t.match(hookBodies[0], { source: 'client', from: '1001', to: '2002' });
  t.ok(events.includes('connect:answered'), `answered (${events.join(' ')})`);
  t.ok(events.includes('call:end'), 'call:end after the caller hung up');

  const atCallee = callee.decoded();
  t.ok(atCallee, 'the callee dumped the audio it decoded');
  if (atCallee) {
    t.equal(atCallee.sampleRate, 16000, 'the callee decoded G.722 (16 kHz)');
    const part = loudPart(atCallee.samples, atCallee.sampleRate);
    t.ok(part.length > atCallee.sampleRate, `over a second of tone at the callee (${(part.length / atCallee.sampleRate).toFixed(1)} s)`);
    const f = dominantFrequency(part.subarray(Math.max(0, part.length - atCallee.sampleRate)), atCallee.sampleRate);
    t.ok(Math.abs(f - CALLER_HZ) <= 20, `the callee hears the caller's ${CALLER_HZ} Hz: ${f} Hz`);
  }
  const atCaller = caller.decoded();
  t.ok(atCaller, 'the caller dumped the audio it decoded');
  if (atCaller) {
    t.equal(atCaller.sampleRate, 8000, 'the caller decoded PCMU (8 kHz)');
    const part = loudPart(atCaller.samples, atCaller.sampleRate);
    t.ok(part.length > atCaller.sampleRate, `over a second of audio at the caller (ringback, then the tone) (${(part.length / atCaller.sampleRate).toFixed(1)} s)`);
    const f = dominantFrequency(part.subarray(Math.max(0, part.length - atCaller.sampleRate)), atCaller.sampleRate);
    t.ok(Math.abs(f - CALLEE_HZ) <= 20, `the caller hears the callee's ${CALLEE_HZ} Hz: ${f} Hz`);
  }
  t.equal(pbx.engine.activeCalls, 0, 'no call left behind');
  if (!t.passing()) t.comment('caller:\n' + caller.log().slice(-2500) + '\ncallee:\n' + callee.log().slice(-2500));
});
