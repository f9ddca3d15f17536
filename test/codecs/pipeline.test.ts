import t from 'tap';
import { codecStatus, createEncoder, createTranscoder, findCodec } from '../../codecs/index.js';
import { concat, estimateFreq, snrDb, tone } from './audio.js';
import { createDecoder } from '../../codecs/index.js';

const available = new Set(codecStatus().filter((s) => s.available).map((s) => s.name));

/** PCMU 20 ms packets of a 1 kHz tone. */
function pcmuPackets(seconds: number): Buffer[] {
  const enc = createEncoder('PCMU');
  const x = tone(1000, 8000, 8000 * seconds, 10000);
  const out: Buffer[] = [];
  for (let i = 0; i < x.length; i += 160) out.push(Buffer.from(enc.encode(x.subarray(i, i + 160))));
  return out;
}

for (const mid of ['G722', 'opus', 'GSM', 'AMR', 'AMR-WB']) {
  t.test(`PCMU → ${mid} → PCMU through two pipelines decodes back to the 1 kHz tone`, { skip: available.has(mid) ? false : `${mid} unavailable` }, async (t) => {
    const there = createTranscoder({ from: { name: 'PCMU' }, to: { name: mid } });
    const back = createTranscoder({ from: { name: mid }, to: { name: 'PCMU' } });
    const info = findCodec(mid)!;
    const dec = createDecoder('PCMU');
    const pcm: Int16Array[] = [];
    let seq = 1000, ts = 0, seq2 = 7;
    let lastTs = -1;
    for (const p of pcmuPackets(2)) {
      for (const f of there.push(p, { seq: seq++ & 0xffff, timestamp: ts })) {
        t.equal(f.samples, Math.round(info.clockRate / 50), 'frame duration in the output clock') || t.end();
        if (lastTs >= 0) t.equal(f.timestamp, (lastTs + f.samples) >>> 0) || t.end();
        lastTs = f.timestamp;
        for (const g of back.push(f.payload, { seq: seq2++, timestamp: f.timestamp })) pcm.push(dec.decode(g.payload).slice());
      }
      ts += 160;
    }
    const y = concat(pcm).subarray(1600);
    t.ok(y.length > 8000, `${y.length} samples came back`);
    const f = estimateFreq(y, 8000);
    t.ok(Math.abs(f - 1000) < 10, `frequency ${f.toFixed(2)} Hz`);
    const snr = snrDb(y, 1000, 8000);
    t.ok(snr > 10, `SNR ${snr.toFixed(1)} dB > 10`);
    t.equal(there.counters.errors + back.counters.errors + there.counters.badPayload + back.counters.badPayload, 0);
  });
}

t.test('ptime re-packetisation: 20 ms PCMU in → 30 ms G.722 out (3 packets give 2 frames)', async (t) => {
  const p = createTranscoder({ from: { name: 'PCMU' }, to: { name: 'G722', ptime: 30 } });
  const counts: number[] = [];
  let seq = 0;
  for (const pkt of pcmuPackets(1).slice(0, 6)) {
    const out = p.push(pkt, { seq: seq++, timestamp: seq * 160 });
    counts.push(out.length);
    for (const f of out) {
      t.equal(f.samples, 240, '30 ms at the 8000 Hz G.722 RTP clock');
      t.equal(f.payload.length, 240, '30 ms of G.722 = 240 bytes');
    }
  }
  t.same(counts, [0, 1, 1, 0, 1, 1], '120 ms in → 4 frames of 30 ms, buffered');
  t.equal(p.counters.framesOut, 4);
});

t.test('30 ms → 20 ms and marker propagation', async (t) => {
  const p = createTranscoder({ from: { name: 'PCMA', ptime: 30 }, to: { name: 'PCMU', ptime: 20 } });
  const enc = createEncoder('PCMA', { ptime: 30 });
  const x = tone(1000, 8000, 240 * 4);
  const out = [];
  for (let i = 0; i < 4; i++) {
    for (const f of p.push(enc.encode(x.subarray(i * 240, i * 240 + 240)), { seq: i, timestamp: i * 240, marker: i === 0 }))
      out.push({ len: f.payload.length, marker: f.marker, ts: f.timestamp });
  }
  t.equal(out.length, 6, '120 ms = six 20 ms frames');
  t.ok(out.every((f) => f.len === 160));
  t.same(out.map((f) => f.marker), [true, false, false, false, false, false], 'marker on the first frame only');
  t.same(out.map((f) => f.ts), [0, 160, 320, 480, 640, 800]);
});

t.test('loss is concealed, duplicates and reordering are counted drops', async (t) => {
  const p = createTranscoder({ from: { name: 'PCMU' }, to: { name: 'PCMA' } });
  const pk = pcmuPackets(1);
  t.equal(p.push(pk[0]!, { seq: 65534, timestamp: 0 }).length, 1);
  t.equal(p.push(pk[1]!, { seq: 65535, timestamp: 160 }).length, 1);
  t.equal(p.push(pk[3]!, { seq: 1, timestamp: 480 }).length, 2, 'seq 0 lost across the wrap: concealed + current');
  t.equal(p.counters.lostConcealed, 1);
  t.equal(p.push(pk[3]!, { seq: 1, timestamp: 480 }).length, 0, 'duplicate dropped');
  t.equal(p.push(pk[2]!, { seq: 0, timestamp: 320 }).length, 0, 'late packet dropped');
  t.equal(p.counters.reordered, 2);
  t.equal(p.push(null, { seq: 2, timestamp: 640 }).length, 1, 'explicit null payload = loss, concealed');
});

t.test('malformed payloads never throw out of push: typed errors become counted drops', async (t) => {
  const cases: Array<[string, Buffer[]]> = [
    ['PCMU', [Buffer.alloc(0)]],
    ['G722', [Buffer.alloc(0)]],
    ['opus', [Buffer.alloc(0), Buffer.from([0x03, 0xff]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00])]],
    ['GSM', [Buffer.alloc(0), Buffer.alloc(32), Buffer.alloc(33, 0x00), Buffer.alloc(66, 0xd0).subarray(0, 65)]],
    ['AMR', [Buffer.alloc(0), Buffer.from([0xf0]), Buffer.from([0xf0, 0x7c, 1, 2]), Buffer.alloc(40, 0xff)]],
    ['AMR-WB', [Buffer.alloc(0), Buffer.from([0xf0, 0x44, 1]), Buffer.alloc(3, 0xff)]],
  ];
  for (const [name, payloads] of cases) {
    if (!available.has(name)) continue;
    const p = createTranscoder({ from: { name }, to: { name: 'PCMU' } });
    let seq = 0;
    for (const pl of payloads) {
      let out;
      try {
        out = p.push(pl, { seq: seq++, timestamp: seq * 160 });
      } catch (e) {
        t.fail(`${name}: push threw ${(e as Error).message}`);
        continue;
      }
      t.equal(out.length, 0, `${name}: ${pl.length}-byte garbage → no frame`);
    }
    t.equal(p.counters.badPayload + p.counters.errors, payloads.length, `${name}: every bad payload counted`);
    t.equal(p.counters.errors, 0, `${name}: all were typed payload errors`);
  }
});

t.test('unknown codecs are a typed error at creation', async (t) => {
  t.throws(() => createTranscoder({ from: { name: 'PCMU' }, to: { name: 'iLBC' } }), { code: 'DPBX_ERR_CODEC_UNKNOWN' });
});

t.test('RFC 3550 §5.1: an input timestamp gap (silence suppression) is carried into the output timestamps', async (t) => {
  const pk = pcmuPackets(1);
  for (const [to, ptime, clock] of [['G722', 20, 8000], ['PCMU', 30, 8000], ['opus', 20, 48000]] as const) {
    if (!available.has(to)) continue;
    const p = createTranscoder({ from: { name: 'PCMU' }, to: { name: to, ptime } });
    const out: Array<{ ts: number; samples: number; marker: boolean }> = [];
    const send = (i: number, seq: number, ts: number, marker = false) => {
      for (const f of p.push(pk[i]!, { seq, timestamp: ts, marker })) out.push({ ts: f.timestamp, samples: f.samples, marker: f.marker });
    };
    // talk-spurt 1: 5 packets (100 ms); 1 s of silence (no packets, seq continues); talk-spurt 2 starts with M
    for (let i = 0; i < 5; i++) send(i, 100 + i, 1000 + 160 * i, i === 0);
    const before = out.length;
    for (let i = 0; i < 5; i++) send(5 + i, 105 + i, 1000 + 800 + 8000 + 160 * i, i === 0);
    const first = out[0]!;
    const resumed = out.find((f) => f.marker && f !== first)!;
    t.ok(resumed, `${to}: the first frame after the silence carries the marker`);
    // the second talk-spurt's first sample was taken 1.1 s (8800 input ticks) after the first one's
    const resumedIdx = out.indexOf(resumed);
    t.equal((resumed.ts - first.ts) >>> 0, (8800 * clock) / 8000, `${to}/${ptime}: output ts advanced by 1.1 s of its clock`);
    for (let i = 1; i < out.length; i++) {
      if (i === resumedIdx) continue;
      t.equal(out[i]!.ts, (out[i - 1]!.ts + out[i - 1]!.samples) >>> 0, `${to}: continuous inside a talk-spurt`) || t.end();
    }
    t.ok(before > 0);
    t.equal(p.counters.gaps, 1);
    t.equal(p.counters.lostConcealed, 0, 'silence is not loss');
  }
});

t.test('a loss longer than maxConcealFrames is not concealed but its time passes', async (t) => {
  const p = createTranscoder({ from: { name: 'PCMU' }, to: { name: 'PCMA' }, maxConcealFrames: 2 });
  const pk = pcmuPackets(1);
  const ts: number[] = [];
  const push = (seq: number) => p.push(pk[seq]!, { seq, timestamp: seq * 160 }).forEach((f) => ts.push(f.timestamp));
  push(0);
  push(1);
  push(2); // seq 3, 4 lost: concealed (2 ≤ max)
  push(5);
  push(20); // 14 lost: too many to conceal
  t.equal(p.counters.lostConcealed, 2);
  t.equal(p.counters.gaps, 1);
  t.same(ts, [0, 160, 320, 480, 640, 800, 3200], 'concealed frames fill 3–4; the long gap shows in the timestamp');
});

t.test('timestamp discontinuity (sender restarted its clock) inserts no time, marks the next frame', async (t) => {
  const p = createTranscoder({ from: { name: 'PCMU' }, to: { name: 'PCMA' } });
  const pk = pcmuPackets(1);
  const out = [0, 1, 2].map((i) => p.push(pk[i]!, { seq: i, timestamp: 50000 + 160 * i })[0]!).map((f) => ({ ...f }));
  const f = p.push(pk[3]!, { seq: 3, timestamp: 7 })[0]!;
  t.equal(f.timestamp, (out[2]!.timestamp + 160) >>> 0, 'continues');
  t.equal(f.marker, true);
  t.equal(p.counters.gaps, 0);
});

t.test('opus usedtx=1: silent frames are not sent, their time passes, speech resumes with the marker', { skip: available.has('opus') ? false : 'opus unavailable' }, async (t) => {
  const run = (usedtx: string) => {
    const p = createTranscoder({ from: { name: 'PCMU' }, to: { name: 'opus', usedtx } });
    const enc = createEncoder('PCMU');
    const speech = tone(1000, 8000, 8000, 10000);
    const frames: Array<{ ts: number; marker: boolean; len: number }> = [];
    let seq = 0;
    const push = (pcm: Int16Array) => {
      for (const f of p.push(enc.encode(pcm), { seq, timestamp: seq * 160 })) frames.push({ ts: f.timestamp, marker: f.marker, len: f.payload.length });
      seq++;
    };
    for (let i = 0; i < 25; i++) push(speech.subarray(i * 160, i * 160 + 160));
    for (let i = 0; i < 100; i++) push(new Int16Array(160)); // 2 s digital silence
    for (let i = 0; i < 10; i++) push(speech.subarray(i * 160, i * 160 + 160));
    return { p, frames };
  };
  const on = run('1');
  const off = run('0');
  t.equal(off.frames.length, 135, 'without DTX every frame is sent');
  t.equal(off.p.counters.dtxSkipped, 0);
  t.ok(on.p.counters.dtxSkipped > 50, `with DTX ${on.p.counters.dtxSkipped} silent frames skipped`);
  t.equal(on.frames.length + on.p.counters.dtxSkipped, 135, 'every 20 ms is either sent or skipped');
  t.ok(on.frames.every((f) => f.len > 2), 'no 1-2 byte DTX packets on the wire');
  const last = on.frames[on.frames.length - 1]!;
  t.equal((last.ts - on.frames[0]!.ts) >>> 0, 134 * 960, 'the timeline is kept: last frame 134 × 20 ms after the first');
  t.ok(on.frames.slice(1).some((f) => f.marker), 'a talk-spurt after DTX starts with the marker');
});

t.test('multi-rate codecs meet the other side at a common PCM rate (no resampler), timestamps in the RTP clock', async (t) => {
  const g = createTranscoder({ from: { name: 'PCMU' }, to: { name: 'G722' } });
  t.equal(g.encoder.sampleRate, 8000, 'PCMU → G722: narrow-band G.722 encoder');
  const back = createTranscoder({ from: { name: 'G722' }, to: { name: 'PCMU' } });
  t.equal(back.decoder.sampleRate, 8000, 'G722 → PCMU: narrow-band G.722 decoder');
  const f = g.push(pcmuPackets(1)[0]!, { seq: 1, timestamp: 0 })[0]!;
  t.equal(f.samples, 160, '20 ms = 160 ticks of the 8000 Hz G.722 RTP clock');
  const full = createTranscoder({ from: { name: 'G722' }, to: { name: 'G722', ptime: 30 } });
  t.equal(full.decoder.sampleRate, 16000, 'G722 → G722 stays wide-band');
  if (available.has('opus')) {
    const o = createTranscoder({ from: { name: 'PCMU' }, to: { name: 'opus' } });
    t.equal(o.encoder.sampleRate, 8000, 'PCMU → opus: libopus takes the 8 kHz PCM');
    t.equal(o.push(pcmuPackets(1)[0]!, { seq: 1, timestamp: 0 })[0]!.samples, 960, '20 ms = 960 ticks of the 48 kHz clock');
    const w = createTranscoder({ from: { name: 'G722' }, to: { name: 'opus' } });
    t.equal(w.encoder.sampleRate, 16000, 'G722 → opus: wide-band at 16 kHz');
    const pinned = createTranscoder({ from: { name: 'PCMU' }, to: { name: 'opus', pcmRate: 48000 } });
    t.equal(pinned.encoder.sampleRate, 48000, 'an explicit pcmRate is kept (then the resampler runs)');
  }
});
