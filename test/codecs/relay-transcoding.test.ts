/**
 * Transcoding THROUGH THE RELAY (media/relay with codecs/relay-transcoder.ts as its plugin), over real UDP on
 * 127.0.0.1: a PCMU leg bridged to a G.722 / opus / GSM / AMR / AMR-WB leg. What the far side receives is
 * decoded and listened to (frequency of the tone), in both directions; RFC 4733 telephone-events cross the
 * transcoded direction; RTP numbering and marker bits are checked; malformed payloads are counted drops.
 */
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { createRelay } from '../../media/index.js';
import { codecStatus, createDecoder, createEncoder, findCodec, parseFmtp } from '../../codecs/index.js';
import { concat, estimateFreq, snrDb, tone } from './audio.js';

const available = new Set(codecStatus().filter((s) => s.available).map((s) => s.name));
const pluginUrl = new URL(`../../codecs/relay-transcoder${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

interface Pkt {
  marker: boolean;
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Buffer;
}

class Peer {
  readonly rx: Pkt[] = [];
  private waiter: { n: number; done: () => void } | null = null;
  private constructor(readonly sock: Socket) {
    sock.on('message', (b: Buffer) => {
      if (b.length < 12) return;
      this.rx.push({
        marker: (b[1]! & 0x80) !== 0, pt: b[1]! & 0x7f, seq: b.readUInt16BE(2), ts: b.readUInt32BE(4), ssrc: b.readUInt32BE(8),
        payload: Buffer.from(b.subarray(12)),
      });
      if (this.waiter && this.rx.length >= this.waiter.n) this.waiter.done();
    });
  }
  static async open(): Promise<Peer> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new Peer(s);
  }
  get port(): number {
    return this.sock.address().port;
  }
  send(pt: number, seq: number, ts: number, payload: Uint8Array, to: number, marker = false, ssrc = 0x1234): Promise<void> {
    const b = Buffer.alloc(12 + payload.length);
    b[0] = 0x80;
    b[1] = (marker ? 0x80 : 0) | pt;
    b.writeUInt16BE(seq & 0xffff, 2);
    b.writeUInt32BE(ts >>> 0, 4);
    b.writeUInt32BE(ssrc, 8);
    b.set(payload, 12);
    return new Promise((res, rej) => this.sock.send(b, to, '127.0.0.1', (e) => (e ? rej(e) : res())));
  }
  /** Resolves when `n` packets arrived in total, or after `ms` (assertions then fail on the count). */
  waitFor(n: number, ms = 10000): Promise<void> {
    if (this.rx.length >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiter = { n, done: () => { clearTimeout(timer); this.waiter = null; resolve(); } };
    });
  }
  close(): void {
    this.sock.close();
  }
}

function portRange(): { rtpPortMin: number; rtpPortMax: number } {
  const min = 20000 + 2 * Math.floor(Math.random() * 20000);
  return { rtpPortMin: min, rtpPortMax: min + 31 };
}

/** The far leg of each case: its SDP formats (audio + telephone-event) as the relay gets them. */
const MIDS = [
  { name: 'G722', audio: { pt: 9, name: 'G722', rate: 8000 }, te: { pt: 101, name: 'telephone-event', rate: 8000 } },
  {
    name: 'opus', audio: { pt: 111, name: 'opus', rate: 48000, channels: 2, fmtp: 'useinbandfec=1; maxaveragebitrate=24000' },
    te: { pt: 110, name: 'telephone-event', rate: 48000 },
  },
  { name: 'GSM', audio: { pt: 3, name: 'GSM', rate: 8000 }, te: { pt: 101, name: 'telephone-event', rate: 8000 } },
  { name: 'AMR', audio: { pt: 96, name: 'AMR', rate: 8000, fmtp: 'octet-align=1' }, te: { pt: 101, name: 'telephone-event', rate: 8000 } },
  // no octet-align in the fmtp: RFC 4867 bandwidth-efficient payloads
  { name: 'AMR-WB', audio: { pt: 97, name: 'AMR-WB', rate: 16000, fmtp: 'mode-set=0,1,2' }, te: { pt: 101, name: 'telephone-event', rate: 16000 } },
] as const;

/** Garbage the far leg's decoder must reject (each a counted drop in the relay). */
const GARBAGE: Record<string, Buffer[]> = {
  G722: [Buffer.alloc(0)],
  opus: [Buffer.alloc(0), Buffer.from([0x03, 0xff])],
  GSM: [Buffer.alloc(0), Buffer.alloc(10, 0xd0), Buffer.alloc(33, 0x00)],
  AMR: [Buffer.alloc(0), Buffer.from([0xf0]), Buffer.alloc(40, 0xff)],
  'AMR-WB': [Buffer.alloc(0), Buffer.from([0xf0, 0x44, 1])],
};

for (const mid of MIDS) {
  t.test(`relay: PCMU leg ⇄ ${mid.name} leg, both directions decode back to their tones; DTMF, numbering, garbage`, {
    skip: available.has(mid.name) ? false : `${mid.name} unavailable`,
  }, async (t) => {
    const relay = await createRelay({ ...portRange(), bindAddress: '127.0.0.1', workers: 0, transcoder: pluginUrl });
    const a = await Peer.open();
    const b = await Peer.open();
    t.teardown(async () => {
      a.close();
      b.close();
      await relay.close();
    });
    const s = await relay.createSession();
    const te8 = { pt: 101, name: 'telephone-event', rate: 8000 };
    const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }, te8] });
    const lb = await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [mid.audio, mid.te] });
    await s.bridge('A', 'B');
    const info = findCodec(mid.name)!;
    const frameTicks = info.clockRate / 50;

    // ---- A → B: 1.2 s of a 1 kHz PCMU tone, 20 ms packets, marker on the first ----
    const pcmu = createEncoder('PCMU');
    const x = tone(1000, 8000, 8000 * 1.2, 10000);
    const N = x.length / 160;
    const LOST = 30; // this packet never reaches the relay: its 20 ms are concealed (PLC), not skipped
    for (let i = 0; i < N; i++) if (i !== LOST) await a.send(0, 40000 + i, 777 + 160 * i, pcmu.encode(x.subarray(i * 160, i * 160 + 160)), la.localPort, i === 0);
    await b.waitFor(N);
    t.equal(b.rx.length, N, `${N - 1} packets in (one lost) → ${N} packets of 20 ms out (one concealed)`);
    t.ok(b.rx.every((p) => p.pt === mid.audio.pt), `payload type ${mid.audio.pt} on the ${mid.name} leg`);
    t.equal(b.rx.filter((p) => p.marker).length, 1, 'one marker bit');
    t.ok(b.rx[0]!.marker, '... on the first packet (talk-spurt start)');
    let numbering = true;
    for (let i = 1; i < b.rx.length; i++) {
      const p = b.rx[i]!, q = b.rx[i - 1]!;
      if (p.seq !== ((q.seq + 1) & 0xffff) || p.ts !== ((q.ts + frameTicks) >>> 0) || p.ssrc !== q.ssrc) numbering = false;
    }
    t.ok(numbering, `sequence +1, timestamp +${frameTicks} (${mid.name} RTP clock ${info.clockRate}), one SSRC`);
    const fmtp = 'fmtp' in mid.audio ? parseFmtp(mid.audio.fmtp) : {};
    const dec = createDecoder(mid.name, { ...fmtp, channels: 1 });
    const y = concat(b.rx.map((p) => dec.decode(p.payload).slice())).subarray(dec.sampleRate / 5);
    const f = estimateFreq(y, dec.sampleRate);
    t.ok(Math.abs(f - 1000) < 10, `far side hears ${f.toFixed(1)} Hz (1000 ± 10)`);
    const snr = snrDb(y, 1000, dec.sampleRate);
    t.ok(snr > 15, `SNR ${snr.toFixed(1)} dB > 15 on the far side`);
    if (mid.name === 'AMR-WB') t.ok(b.rx.every((p) => ((((p.payload[0]! & 15) << 8) | p.payload[1]!) >> 7 & 15) === 2), 'bandwidth-efficient TOC, mode-set 0,1,2 → mode 2');
    if (mid.name === 'AMR') t.ok(b.rx.every((p) => p.payload[0] === 0xf0 && (p.payload[1]! >> 3 & 15) === 7), 'octet-aligned CMR byte + TOC (mode 7)');
    if (mid.name === 'opus') {
      const bytes = b.rx.reduce((n, p) => n + p.payload.length, 0);
      t.ok((bytes * 8) / (b.rx.length * 0.02) < 30000, `maxaveragebitrate=24000 honoured (${Math.round((bytes * 8) / (b.rx.length * 0.02))} bit/s)`);
    }

    // ---- RFC 4733 event A → B inside the transcoded direction: PT mapped, ts in B's stream, payload kept ----
    const lastAudio = b.rx[b.rx.length - 1]!;
    const evTs = 777 + 160 * N;
    const ev = (dur: number, end: boolean) => Buffer.from([5, (end ? 0x80 : 0) | 10, dur >> 8, dur & 255]);
    await a.send(101, 40000 + N, evTs, ev(160, false), la.localPort, true);
    await a.send(101, 40000 + N + 1, evTs, ev(320, false), la.localPort);
    await a.send(101, 40000 + N + 2, evTs, ev(480, true), la.localPort);
    await b.waitFor(N + 3);
    const evs = b.rx.slice(N);
    t.equal(evs.length, 3, 'three event packets relayed');
    t.ok(evs.every((p) => p.pt === mid.te.pt), `telephone-event PT ${mid.te.pt} on the ${mid.name} leg`);
    t.ok(evs.every((p) => p.payload[0] === 5), 'event code 5 preserved');
    t.ok((evs[2]!.payload[1]! & 0x80) !== 0, 'end bit preserved');
    t.ok(evs.every((p) => p.ts === evs[0]!.ts), 'RFC 4733 §2.5.1.2: all packets of one event share its timestamp');
    t.equal(evs[0]!.ts, (lastAudio.ts + frameTicks) >>> 0, 'the event starts where the audio stream is');
    t.ok(evs.every((p, i) => p.seq === ((lastAudio.seq + 1 + i) & 0xffff)), 'events numbered in the same stream');
    t.equal(evs[2]!.payload.readUInt16BE(2), (480 * mid.te.rate) / 8000, `duration in the ${mid.te.rate} Hz event clock`);

    // ---- B → A: a 700 Hz tone encoded in the far codec, decoded to PCMU at A ----
    const enc = createEncoder(mid.name, { ...fmtp, channels: mid.name === 'opus' ? 2 : 1 });
    const mono = tone(700, enc.sampleRate, enc.sampleRate * 1.2, 10000);
    const z = enc.channels === 2 ? Int16Array.from({ length: mono.length * 2 }, (_, i) => mono[i >> 1]!) : mono;
    const S = enc.frameSamples * enc.channels;
    const M = z.length / S;
    for (let i = 0; i < M; i++) await b.send(mid.audio.pt, 100 + i, 5000 + frameTicks * i, Buffer.from(enc.encode(z.subarray(i * S, i * S + S))), lb.localPort, i === 0, 0xb0b);
    await a.waitFor(M);
    t.equal(a.rx.length, M, `${M} ${mid.name} packets → ${M} PCMU packets`);
    t.ok(a.rx.every((p) => p.pt === 0 && p.payload.length === 160), 'PCMU, 160 bytes each');
    t.ok(a.rx.every((p, i) => i === 0 || p.ts === ((a.rx[i - 1]!.ts + 160) >>> 0)), 'timestamp +160 per packet');
    const ulaw = createDecoder('PCMU');
    const w = concat(a.rx.map((p) => ulaw.decode(p.payload).slice())).subarray(1600);
    const f2 = estimateFreq(w, 8000);
    t.ok(Math.abs(f2 - 700) < 10, `PCMU side hears ${f2.toFixed(1)} Hz (700 ± 10)`);

    // ---- malformed payloads from B: counted as transcode errors, nothing sent, nothing thrown; stream goes on ----
    const garbage = GARBAGE[mid.name]!;
    for (const [i, g] of garbage.entries()) await b.send(mid.audio.pt, 100 + M + i, 5000 + frameTicks * (M + i), g, lb.localPort, false, 0xb0b);
    const after = M + garbage.length;
    await b.send(mid.audio.pt, 100 + after, 5000 + frameTicks * after, Buffer.from(enc.encode(z.subarray(0, S))), lb.localPort, false, 0xb0b);
    await a.waitFor(M + 1);
    t.equal(a.rx.length, M + 1, 'only the good packet after the garbage came through');
    const st = await s.stats();
    const legB = st.legs.find((l) => l.id === 'B')!;
    t.equal(legB.drops.transcodeError, garbage.length, `${garbage.length} malformed ${mid.name} payloads counted (drops.transcodeError)`);
    const gapPkt = a.rx[M]!;
    t.equal(gapPkt.ts, (a.rx[M - 1]!.ts + 160 * (1 + garbage.length)) >>> 0, "the dropped packets' time passes in the timestamp");
  });
}

t.test('relay: a PCMU talk-spurt after silence suppression keeps its timing on a G.722 30 ms leg (worker thread)', async (t) => {
  const relay = await createRelay({ ...portRange(), bindAddress: '127.0.0.1', workers: 1, transcoder: pluginUrl });
  const a = await Peer.open();
  const b = await Peer.open();
  t.teardown(async () => {
    a.close();
    b.close();
    await relay.close();
  });
  const s = await relay.createSession();
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] });
  await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [{ pt: 9, name: 'G722', rate: 8000, ptime: 30 }] });
  await s.link('A', 'B');
  const pcmu = createEncoder('PCMU');
  const x = tone(1000, 8000, 160, 8000);
  // 6 packets (120 ms = 4 × 30 ms), then 1 s of silence, then 6 more starting with the marker
  for (let i = 0; i < 6; i++) await a.send(0, i, 160 * i, pcmu.encode(x), la.localPort, i === 0);
  for (let i = 0; i < 6; i++) await a.send(0, 6 + i, 960 + 8000 + 160 * i, pcmu.encode(x), la.localPort, i === 0);
  await b.waitFor(8);
  t.equal(b.rx.length, 8, '2 × 120 ms → 8 frames of 30 ms');
  t.ok(b.rx.every((p) => p.payload.length === 240), '30 ms of G.722 = 240 bytes');
  t.same(b.rx.map((p) => p.marker), [true, false, false, false, true, false, false, false], 'marker on each talk-spurt start');
  const d = b.rx.map((p, i) => (i ? (p.ts - b.rx[i - 1]!.ts) >>> 0 : 0));
  t.same(d, [0, 240, 240, 240, 240 + 8000, 240, 240, 240], 'the second talk-spurt is 1 s (8000 ticks) later in RTP time too');
});
