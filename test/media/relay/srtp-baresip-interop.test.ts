/**
 * SRTP interop with a real softphone, both directions, through the relay: Debian's baresip (module srtp.so,
 * `mediaenc=srtp-mand` → RTP/SAVP with an SDES a=crypto line) calls a minimal SIP UAS in this test on 127.0.0.1.
 * The UAS answers with media/sdp (our a=crypto key), the relay bridges baresip's SRTP leg to a plain-RTP leg
 * that this test drives:
 *   - baresip plays a 600 Hz WAV (aufile) → SRTP → relay unprotects → the plain peer hears 600 Hz (we decrypt theirs);
 *   - the plain peer sends a 1 kHz µ-law tone → relay protects → baresip decodes it and its sndfile module dumps
 *     the decoded audio to a WAV, which must hold 1 kHz (they decrypt ours).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessCommand, freeUdpPort } from '../../helpers/env.js';
import { createRelay } from '../../../media/relay/index.js';
import { parseSdp, serializeSdp, SdpLocalSession } from '../../../media/sdp/index.js';
import { generateSrtpKeySalt } from '../../../media/rtp/index.js';
import { ULAW_DECODE, encodeG711, readWav, writeWav, generateTone } from '../../../media/play/index.js';
import { Peer, rtp, randomRange, PCMU, te } from './helpers.js';

const skip = skipUnlessCommand('baresip');

function zeroCrossingFrequency(s: Int16Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < s.length; i++) if ((s[i - 1]! < 0) !== (s[i]! < 0)) crossings++;
  return crossings / 2 / (s.length / rate);
}

/** The part of a recording that is not silence (the tone), so leading/trailing quiet does not skew the count. */
function loudPart(s: Int16Array, threshold = 2000): Int16Array {
  let first = s.findIndex((x) => Math.abs(x) > threshold);
  let last = s.length - 1;
  while (last > 0 && Math.abs(s[last]!) <= threshold) last--;
  if (first < 0) return new Int16Array(0);
  first += 400; // skip the jitter buffer's start-up
  last -= 400;
  return first < last ? s.subarray(first, last) : new Int16Array(0);
}

/** Just enough of a SIP UAS (RFC 3261 §8.2) to answer one INVITE with our SDP and accept ACK/BYE. */
class MiniUas {
  readonly sock: Socket;
  invite: { headers: Record<string, string[]>; body: string; from: { port: number; address: string } } | null = null;
  byes = 0;
  onInvite: ((sdp: string) => Promise<string>) | null = null;
  constructor() {
    this.sock = createSocket('udp4');
    this.sock.on('message', (m, r) => void this.onMessage(m.toString('utf8'), r.port, r.address));
  }
  open(): Promise<number> {
    return new Promise((resolve) => this.sock.bind(0, '127.0.0.1', () => resolve(this.sock.address().port)));
  }
  private async onMessage(text: string, port: number, address: string): Promise<void> {
    const [head, body = ''] = text.split('\r\n\r\n');
    const lines = head!.split('\r\n');
    const method = lines[0]!.split(' ')[0]!;
    if (method === 'SIP/2.0') return;
    const headers: Record<string, string[]> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) (headers[l.slice(0, i).trim().toLowerCase()] ??= []).push(l.slice(i + 1).trim());
    }
    if (method === 'ACK') return;
    let sdp = '';
    if (method === 'INVITE') {
      if (this.invite) return; // retransmission
      this.invite = { headers, body, from: { port, address } };
      sdp = await this.onInvite!(body);
    } else if (method === 'BYE') this.byes++;
    const h = (n: string) => headers[n] ?? [];
    const to = h('to')[0]! + (method === 'INVITE' || !/;tag=/.test(h('to')[0]!) ? ';tag=dpbx1' : '');
    const resp = [
      'SIP/2.0 200 OK',
      ...h('via').map((v) => `Via: ${v}`),
      `From: ${h('from')[0]}`,
      `To: ${method === 'BYE' ? h('to')[0] : to}`,
      `Call-ID: ${h('call-id')[0]}`,
      `CSeq: ${h('cseq')[0]}`,
      `Contact: <sip:dpbx@127.0.0.1:${this.sock.address().port}>`,
      ...(sdp ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(sdp)}`,
      '',
      sdp,
    ].join('\r\n');
    this.sock.send(resp, port, address);
  }
  close(): void {
    this.sock.close();
  }
}

t.test('baresip ⇄ relay: SRTP (AES_CM_128_HMAC_SHA1_80) both directions, tones verified on each side', { skip, timeout: 60000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-baresip-'));
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 1 });
  const uas = new MiniUas();
  const plain = await Peer.open();
  t.teardown(async () => {
    uas.close();
    plain.close();
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const uasPort = await uas.open();
  const sipPort = await freeUdpPort();

  // baresip: aufile source (600 Hz, 8 kHz mono), decoded audio dumped by sndfile, no sound card
  const theirTone = generateTone({ frequencies: [600], cadence: [6] }, 8000);
  writeFileSync(join(dir, 'tone.wav'), writeWav(theirTone, { sampleRate: 8000 }));
  writeFileSync(join(dir, 'config'), [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${sipPort}`,
    `audio_source aufile,${join(dir, 'tone.wav')}`,
    'audio_player alsa,null',
    'audio_alert alsa,null',
    'rtcp_mux no',
    'jitter_buffer_delay 2-10',
    `snd_path ${dir}`,
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module aufile.so',
    'module alsa.so',
    'module sndfile.so',
    'module srtp.so',
    'module_tmp uuid.so',
    'module_tmp account.so',
    'module_app menu.so',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'accounts'), '<sip:bs@127.0.0.1>;regint=0;mediaenc=srtp-mand;audio_codecs=PCMU\n');

  const s = await relay.createSession();
  const A = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: plain.port }, codecs: [PCMU, te(101)] });
  const B = await s.addLeg({ id: 'B', codecs: [PCMU, te(101)] });
  const local = new SdpLocalSession({ address: '127.0.0.1' });
  let offeredCrypto = '';
  uas.onInvite = async (body) => {
    const offer = parseSdp(body);
    offeredCrypto = body.match(/a=crypto:\S+ (\S+)/)?.[1] ?? '';
    const ourKey = generateSrtpKeySalt();
    const { answer, audio } = local.createAnswer(offer, {
      port: B.localPort, codecs: [{ name: 'PCMU', clockRate: 8000 }], rtcpMux: false,
      srtp: { suites: ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'], keyFor: () => ourKey },
    });
    // baresip writes its default-route address into c=; it is on loopback here, and latching learns the
    // real source from its first packet in any case
    await s.updateLeg('B', {
      remote: { address: '127.0.0.1', port: audio!.remotePort, rtcpPort: audio!.remoteRtcpPort },
      srtp: { suite: audio!.srtp!.suite, localKey: audio!.srtp!.localKeySalt, remoteKey: audio!.srtp!.remoteKeySalt },
    });
    await s.bridge('A', 'B');
    return serializeSdp(answer);
  };

  const bs = spawn('baresip', ['-f', dir, '-e', `/dial sip:pbx@127.0.0.1:${uasPort}`, '-t', '7'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  bs.stdout.on('data', (d) => (log += d));
  bs.stderr.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => bs.once('exit', () => resolve()));
  t.teardown(() => { if (bs.exitCode === null) bs.kill('SIGKILL'); });

  // our side: a paced 1 kHz µ-law tone from the plain leg for 4 s, starting once the call is up
  const ourTone = generateTone({ frequencies: [1000], cadence: [4] }, 8000);
  const deadline = Date.now() + 10000;
  while (!uas.invite && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.ok(uas.invite, 'baresip sent an INVITE');
  t.match(offeredCrypto, /^AES_CM_128_HMAC_SHA1_(80|32)$/, 'its offer carries an SDES a=crypto line (RTP/SAVP)');
  await new Promise<void>((resolve) => {
    let i = 0;
    const frames = ourTone.length / 160;
    const timer = setInterval(() => {
      const payload = Buffer.alloc(160);
      encodeG711('PCMU', ourTone.subarray(i * 160, i * 160 + 160), payload);
      void plain.send(rtp(0, 1000 + i, i * 160, 0x1234, payload, i === 0), A.localPort);
      if (++i >= frames) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
  await exited;

  // (1) we decrypted theirs: the plain peer received baresip's 600 Hz tone
  const received = plain.rx.filter((r) => r.buf.length === 172 && (r.buf[1]! & 0x7f) === 0);
  t.ok(received.length >= 100, `plain leg received ${received.length} RTP packets from baresip`);
  const pcm = new Int16Array(received.length * 160);
  received.forEach((r, n) => { for (let k = 0; k < 160; k++) pcm[n * 160 + k] = ULAW_DECODE[r.buf[12 + k]!]!; });
  const f1 = zeroCrossingFrequency(loudPart(pcm), 8000);
  t.ok(Math.abs(f1 - 600) < 15, `baresip's tone decrypted by the relay: ${f1.toFixed(1)} Hz`);

  // (2) they decrypted ours: baresip's decoder output (sndfile dump) holds our 1 kHz tone
  const dumps = readdirSync(dir).filter((f) => /-dec\.wav$/.test(f));
  t.equal(dumps.length, 1, `baresip dumped its decoded audio (${readdirSync(dir).join(' ')})`);
  if (dumps.length === 1) {
    const wav = readWav(readFileSync(join(dir, dumps[0]!)));
    const f2 = zeroCrossingFrequency(loudPart(wav.samples), wav.sampleRate);
    t.ok(Math.abs(f2 - 1000) < 20, `our tone decrypted by baresip: ${f2.toFixed(1)} Hz over ${wav.durationMs} ms`);
  }
  const B2 = (await s.stats()).legs.find((l) => l.id === 'B')!;
  t.equal(received.length, B2.packetsIn, 'every SRTP packet baresip sent authenticated and reached the plain leg');
  t.ok(B2.srtp!.unprotected > B2.packetsIn, `SRTCP from baresip unprotected too (${B2.srtp!.unprotected - B2.packetsIn} packets)`);
  t.ok(B2.srtp!.protected >= 150, `we protected ${B2.srtp!.protected} packets for baresip`);
  // baresip 1.0 sends an RTCP APP "PING" before its SRTP context is up and its final RTCP BYE after tearing it
  // down, both unprotected: RFC 3711 §3.4 requires SRTCP authentication, so those (≤ 2) are counted and dropped
  t.ok(B2.drops.srtp <= 2 && B2.drops.srtp <= B2.rtcpIn - (B2.srtp!.unprotected - B2.packetsIn), `SRTP drops only for baresip's unprotected RTCP (${B2.drops.srtp})`);
  if (!t.passing()) t.comment(log.slice(-3000));
});
