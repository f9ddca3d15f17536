// Transcoding benchmark: raw per-frame encode/decode cost of every codec, and transcoded calls per core for
// PCMU↔Opus, PCMU↔G.722, PCMU↔GSM, PCMU↔AMR (both directions of a call, 20 ms frames:
// calls/core = 20 ms / CPU time of one frame pair). Peer: the same PCMU↔Opus and PCMU↔G.722 chains through
// ffmpeg's codecs (libopus / native g722, its resampler, pcm_mulaw), measured with `ffmpeg -benchmark` in the same
// run on the same audio (user+sys CPU, one thread, converted to µs per 20 ms frame pair).
//
// Usage: npm run build && node bench/transcode.js [--quick]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codecStatus, createDecoder, createEncoder, createTranscoder, findCodec } from '../dist/codecs/index.js';

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 20 : 120; // audio per measurement
const log = (...a) => process.stderr.write(a.join(' ') + '\n');

function tone(rate, n) {
  const x = new Int16Array(n);
  // a 2-tone + slow AM so codecs do real work (not silence / DTX)
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    x[i] = Math.round(6000 * (1 + 0.5 * Math.sin(2 * Math.PI * 3 * t)) * (Math.sin(2 * Math.PI * 440 * t) + 0.5 * Math.sin(2 * Math.PI * 1330 * t)));
  }
  return x;
}

function cpuUs(fn) {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

const available = new Set(codecStatus().filter((s) => s.available).map((s) => s.name));
const raw = {};
for (const name of ['PCMU', 'PCMA', 'G722', 'GSM', 'opus', 'AMR', 'AMR-WB']) {
  if (!available.has(name)) {
    log(`skip ${name}: unavailable`);
    continue;
  }
  const info = findCodec(name);
  const enc = createEncoder(name);
  const dec = createDecoder(name);
  const S = enc.frameSamples;
  const frames = (SECONDS * 1000) / 20;
  const x = tone(info.sampleRate, S * frames);
  const payloads = [];
  for (let f = 0; f < 50; f++) enc.encode(x.subarray(f * S, f * S + S)); // warm-up
  const encUs = cpuUs(() => {
    for (let f = 0; f < frames; f++) payloads.push(Buffer.from(enc.encode(x.subarray(f * S, f * S + S))));
  });
  for (let f = 0; f < 50; f++) dec.decode(payloads[f]);
  const decUs = cpuUs(() => {
    for (let f = 0; f < frames; f++) dec.decode(payloads[f]);
  });
  raw[name] = { enc_us: +(encUs / frames).toFixed(2), dec_us: +(decUs / frames).toFixed(2) };
  log(`${name.padEnd(7)} encode ${raw[name].enc_us} µs/frame, decode ${raw[name].dec_us} µs/frame`);
}

/** CPU µs per 20 ms frame PAIR (PCMU→X and X→PCMU pipelines) for one call. */
function callPair(mid) {
  const frames = (SECONDS * 1000) / 20;
  const pcmuEnc = createEncoder('PCMU');
  const x = tone(8000, 160 * frames);
  const inA = [];
  for (let f = 0; f < frames; f++) inA.push(Buffer.from(pcmuEnc.encode(x.subarray(f * 160, f * 160 + 160))));
  // the other direction's input: the mid codec's packets of the same audio
  const info = findCodec(mid);
  const midEnc = createEncoder(mid);
  const y = tone(info.sampleRate, midEnc.frameSamples * frames);
  const inB = [];
  for (let f = 0; f < frames; f++) inB.push(Buffer.from(midEnc.encode(y.subarray(f * midEnc.frameSamples, (f + 1) * midEnc.frameSamples))));
  const a = createTranscoder({ from: { name: 'PCMU' }, to: { name: mid } });
  const b = createTranscoder({ from: { name: mid }, to: { name: 'PCMU' } });
  for (let f = 0; f < 50; f++) {
    a.push(inA[f], { seq: f, timestamp: f * 160 });
    b.push(inB[f], { seq: f, timestamp: f * 160 });
  }
  const us = cpuUs(() => {
    for (let f = 50; f < frames; f++) {
      a.push(inA[f], { seq: f, timestamp: f * 160 });
      b.push(inB[f], { seq: f, timestamp: f * 160 });
    }
  });
  if (a.counters.errors + b.counters.errors + a.counters.badPayload + b.counters.badPayload) throw new Error(`${mid}: pipeline errors`);
  return us / (frames - 50);
}

const calls = {};
for (const mid of ['opus', 'G722', 'GSM', 'AMR']) {
  if (!available.has(mid)) continue;
  const us = callPair(mid);
  calls[mid] = { us_per_frame_pair: +us.toFixed(2), calls_per_core: Math.floor(20000 / us) };
  log(`PCMU↔${mid}: ${us.toFixed(1)} µs per 20 ms frame pair → ${calls[mid].calls_per_core} calls/core`);
}

// ---- peer: ffmpeg ----
function ffBench(args) {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-threads', '1', '-benchmark', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.slice(-300)}`);
  const m = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(r.stderr);
  if (!m) throw new Error('no ffmpeg -benchmark line');
  return (parseFloat(m[1]) + parseFloat(m[2])) * 1e6;
}
let peer = null;
const hasFfmpeg = spawnSync('sh', ['-c', 'command -v ffmpeg'], { stdio: 'ignore' }).status === 0;
if (hasFfmpeg) {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-bench-'));
  const frames = (SECONDS * 1000) / 20;
  const ul = join(dir, 'in.ul');
  const enc = createEncoder('PCMU', { frameSamples: 160 * frames });
  writeFileSync(ul, Buffer.from(enc.encode(tone(8000, 160 * frames))));
  const opus16 = join(dir, 'x.ogg');
  const g722 = join(dir, 'x.g722');
  const idle = ffBench(['-f', 'mulaw', '-ar', '8000', '-ac', '1', '-t', '0.02', '-i', ul, '-f', 'null', '-']);
  const opusA = ffBench(['-f', 'mulaw', '-ar', '8000', '-ac', '1', '-i', ul, '-ar', '48000', '-c:a', 'libopus', '-application', 'voip', '-frame_duration', '20', '-f', 'ogg', opus16]);
  const opusB = ffBench(['-i', opus16, '-ar', '8000', '-c:a', 'pcm_mulaw', '-f', 'mulaw', join(dir, 'o.ul')]);
  const g722A = ffBench(['-f', 'mulaw', '-ar', '8000', '-ac', '1', '-i', ul, '-ar', '16000', '-c:a', 'g722', '-f', 'g722', g722]);
  const g722B = ffBench(['-f', 'g722', '-i', g722, '-ar', '8000', '-c:a', 'pcm_mulaw', '-f', 'mulaw', join(dir, 'g.ul')]);
  const per = (a, b) => Math.max(0.01, (a - idle + (b - idle)) / frames);
  peer = { opus: per(opusA, opusB), G722: per(g722A, g722B) };
  log(`ffmpeg PCMU↔opus: ${peer.opus.toFixed(1)} µs/frame pair → ${Math.floor(20000 / peer.opus)} calls/core`);
  log(`ffmpeg PCMU↔G722: ${peer.G722.toFixed(1)} µs/frame pair → ${Math.floor(20000 / peer.G722)} calls/core`);
} else log('ffmpeg not found: no peer figures');

const out = {
  name: 'transcode',
  audio_seconds: SECONDS,
  raw_us_per_frame: raw,
  ours_calls_per_core: Object.fromEntries(Object.entries(calls).map(([k, v]) => [`PCMU<->${k}`, v.calls_per_core])),
  ours_us_per_frame_pair: Object.fromEntries(Object.entries(calls).map(([k, v]) => [`PCMU<->${k}`, v.us_per_frame_pair])),
  peer: 'ffmpeg ' + (hasFfmpeg ? (spawnSync('ffmpeg', ['-version'], { encoding: 'utf8' }).stdout.split('\n')[0].split(' ')[2] ?? '') : 'absent'),
  peer_calls_per_core: peer
    ? { 'PCMU<->opus': Math.floor(20000 / peer.opus), 'PCMU<->G722': Math.floor(20000 / peer.G722) }
    : null,
  ratio: peer
    ? {
        'PCMU<->opus': calls.opus ? +(peer.opus / calls.opus.us_per_frame_pair).toFixed(2) : null,
        'PCMU<->G722': calls.G722 ? +(peer.G722 / calls.G722.us_per_frame_pair).toFixed(2) : null,
      }
    : null,
  targets: { 'PCMU<->opus': 300, 'PCMU<->G722': 1500 },
};
console.log('BENCH ' + JSON.stringify(out));
