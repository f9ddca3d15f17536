/**
 * Interop with a real SRTP peer: Debian's ffmpeg (libavformat's srtp protocol), both directions, both SDES
 * suites. (a) ffmpeg encodes a 1 kHz sine to PCMU and sends SRTP (RTCP on the same port as SRTCP); we unprotect
 * every packet and check the µ-law audio is a 1 kHz tone. (b) we protect a PCMU 1 kHz stream and ffmpeg
 * receives it through an SDP file with a=crypto and writes a WAV, whose frequency we check.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessCommand } from '../../helpers/env.js';
import {
  SrtpContext,
  RtpPacket,
  generateSrtpKeySalt,
  isRtcpPacket,
  isSrtpFailure,
  parseRtcp,
  writeRtpHeader,
} from '../../../media/rtp/index.js';
import type { SrtpSuite } from '../../../media/rtp/index.js';

const skip = skipUnlessCommand('ffmpeg');
const SUITES: SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

/** G.711 µ-law → linear (ITU-T G.711), the tiny table the brief asks for. */
const ULAW = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  const u = ~i & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  ULAW[i] = u & 0x80 ? 0x84 - t : t - 0x84;
}
/** linear → µ-law (for our outgoing tone). */
function linearToUlaw(s: number): number {
  const sign = s < 0 ? 0x80 : 0;
  let m = Math.min(Math.abs(s), 32635) + 0x84;
  let exp = 7;
  for (let mask = 0x4000; (m & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (m >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

/** Frequency by counting sign changes (robust for a clean sine). */
function zeroCrossingFrequency(samples: Int16Array | number[], rate: number): number {
  let crossings = 0;
  let prev = samples[0]!;
  for (let i = 1; i < samples.length; i++) {
    const s = samples[i]!;
    if ((prev < 0 && s >= 0) || (prev >= 0 && s < 0)) crossings++;
    prev = s;
  }
  return crossings / 2 / (samples.length / rate);
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function bind(sock: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve(sock.address().port));
  });
}

for (const suite of SUITES) {
  t.test(`ffmpeg → us: ${suite} PCMU 1 kHz tone unprotects with 0 auth failures`, { skip }, async (t) => {
    const key = generateSrtpKeySalt();
    // ffmpeg deviates from RFC 4568 §6.2.1 and tags SRTCP with 32 bits under the _32 suite.
    const rx = SrtpContext.fromSdes(suite, key, suite === 'AES_CM_128_HMAC_SHA1_32' ? { srtcpTagLength: 4 } : {});
    const sock = createSocket('udp4');
    const port = await bind(sock);
    const samples: number[] = [];
    let rtpPackets = 0;
    let rtcpPackets = 0;
    let otherFailures = 0;
    sock.on('message', (msg: Buffer) => {
      if (isRtcpPacket(msg)) {
        const r = rx.unprotectRtcp(msg);
        if (isSrtpFailure(r)) otherFailures++;
        else if (parseRtcp(r).length > 0) rtcpPackets++;
        return;
      }
      const r = rx.unprotectRtp(msg);
      if (isSrtpFailure(r)) return;
      rtpPackets++;
      const p = RtpPacket.parse(r);
      if (p.payloadType !== 0) return;
      for (const b of p.payload) samples.push(ULAW[b]!);
    });
    const res = await run(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=8000', '-t', '1',
        '-c:a', 'pcm_mulaw', '-ar', '8000', '-ac', '1', '-f', 'rtp', '-srtp_out_suite', suite, '-srtp_out_params', key,
        `srtp://127.0.0.1:${port}?rtcpport=${port}&pkt_size=172`],
      20000,
    );
    await new Promise((r) => setTimeout(r, 100)); // let the last datagrams drain
    sock.close();
    t.equal(res.code, 0, `ffmpeg exit (${res.stderr.trim().slice(0, 200)})`);
    t.equal(rx.counters.authFailures, 0, '0 authentication failures');
    t.equal(rx.counters.replays, 0);
    t.equal(otherFailures, 0, 'SRTCP from ffmpeg unprotects too');
    t.ok(rtpPackets >= 40, `received ${rtpPackets} SRTP packets`);
    t.ok(samples.length >= 6000, `${samples.length} samples`);
    const f = zeroCrossingFrequency(samples.slice(400), 8000);
    t.ok(Math.abs(f - 1000) < 15, `tone is 1 kHz (measured ${f.toFixed(1)} Hz)`);
    t.ok(rtcpPackets >= 1, `SRTCP sender report(s) from ffmpeg: ${rtcpPackets}`);
  });

  t.test(`us → ffmpeg: ${suite} PCMU 1 kHz tone decodes from an SDP with a=crypto`, { skip }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'dpbx-srtp-'));
    const sender = createSocket('udp4');
    try {
      await bind(sender);
      // A free port for ffmpeg: bind, read, release (ffmpeg binds it a moment later).
      const probe = createSocket('udp4');
      const port = await bind(probe);
      await new Promise<void>((r) => probe.close(() => r()));
      const key = generateSrtpKeySalt();
      const sdp = [
        'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
        `m=audio ${port} RTP/SAVP 0`, 'a=rtpmap:0 PCMU/8000', `a=crypto:1 ${suite} inline:${key}`, '',
      ].join('\r\n');
      writeFileSync(join(dir, 'in.sdp'), sdp);
      const wav = join(dir, 'out.wav');
      const ff = run(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'file,udp,rtp,srtp', '-i', join(dir, 'in.sdp'),
          '-t', '1', '-y', wav],
        20000,
      );
      // Wait until ffmpeg has bound its port (a loaded machine may take seconds to start it): packets sent before
      // would be lost, and losing the ones before the sequence wrap would leave ffmpeg with the wrong ROC.
      for (let i = 0; i < 500; i++) {
        const p2 = createSocket('udp4');
        const busy = await new Promise<boolean>((resolve) => {
          p2.once('error', () => resolve(true));
          p2.bind(port, '127.0.0.1', () => resolve(false));
        });
        await new Promise<void>((r) => p2.close(() => r()));
        if (busy) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const tx = SrtpContext.fromSdes(suite, key);
      const pkt = Buffer.alloc(12 + 160);
      const out = Buffer.alloc(1500);
      let seq = 65500; // crosses the 16-bit wrap: ffmpeg must follow our ROC
      let phase = 0;
      let done = false;
      void ff.then(() => (done = true));
      const ssrc = 0x5eed1234;
      // Paced at 20 ms until ffmpeg has its second of audio (bounded to 15 s).
      for (let i = 0; !done && i < 750; i++) {
        writeRtpHeader(pkt, 0, seq & 0xffff, (i * 160) >>> 0, ssrc, i === 0);
        for (let s = 0; s < 160; s++, phase++) pkt[12 + s] = linearToUlaw(Math.round(12000 * Math.sin((2 * Math.PI * 1000 * phase) / 8000)));
        seq++;
        const srtp = tx.protectRtp(pkt, pkt.length, out);
        if (isSrtpFailure(srtp)) throw new Error(srtp);
        sender.send(srtp, port, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 20));
      }
      const res = await ff;
      t.equal(res.code, 0, `ffmpeg exit (${res.stderr.trim().slice(0, 300)})`);
      const data = readFileSync(wav);
      // Find the "data" chunk of the RIFF file ffmpeg wrote (16-bit PCM mono 8 kHz).
      let off = 12;
      while (off + 8 <= data.length && data.toString('ascii', off, off + 4) !== 'data') off += 8 + data.readUInt32LE(off + 4);
      t.ok(off + 8 < data.length, 'WAV has a data chunk');
      const pcm = new Int16Array(data.buffer.slice(data.byteOffset + off + 8, data.byteOffset + data.length - ((data.length - off - 8) % 2)));
      t.ok(pcm.length >= 7000, `${pcm.length} samples decoded by ffmpeg`);
      const f = zeroCrossingFrequency(pcm.subarray(400), 8000);
      t.ok(Math.abs(f - 1000) < 15, `ffmpeg heard 1 kHz (measured ${f.toFixed(1)} Hz)`);
    } finally {
      sender.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
