import t from 'tap';
import { createDecoder, createEncoder, opusBandLimit, opusStatus } from '../../codecs/index.js';
import { opusMaxBandwidth } from '../../codecs/opus.js';
import { skipUnless } from '../helpers/env.js';
import { concat, estimateFreq, monoOf, rms, snrDb, tone } from './audio.js';

const skip = skipUnless(opusStatus().available, '@discordjs/opus');

function roundTrip(channels: number, fmtp: Record<string, unknown>): Int16Array {
  const enc = createEncoder('opus', { channels, ...fmtp });
  const dec = createDecoder('opus', { channels });
  const mono = tone(1000, 48000, 48000, 10000);
  const x = new Int16Array(mono.length * channels);
  for (let i = 0; i < mono.length; i++) for (let c = 0; c < channels; c++) x[i * channels + c] = mono[i]!;
  const parts: Int16Array[] = [];
  for (let i = 0; i + 960 * channels <= x.length; i += 960 * channels) {
    parts.push(dec.decode(enc.encode(x.subarray(i, i + 960 * channels))).slice());
  }
  return concat(parts);
}

t.test('1 kHz mono tone survives opus at 1000 ± 10 Hz, SNR > 15 dB', { skip }, async (t) => {
  const y = roundTrip(1, { maxaveragebitrate: 32000 }).subarray(4800);
  const f = estimateFreq(y, 48000);
  t.ok(Math.abs(f - 1000) < 10, `frequency ${f.toFixed(2)}`);
  const snr = snrDb(y, 1000, 48000);
  t.ok(snr > 15, `SNR ${snr.toFixed(1)} dB > 15`);
});

t.test('stereo with useinbandfec and usedtx', { skip }, async (t) => {
  const y = monoOf(roundTrip(2, { useinbandfec: '1', usedtx: '1' })).subarray(4800);
  t.ok(Math.abs(estimateFreq(y, 48000) - 1000) < 10);
  t.ok(snrDb(y, 1000, 48000) > 15);
});

t.test('fmtp is applied', { skip }, async (t) => {
  const enc = createEncoder('opus', { useinbandfec: 1, usedtx: '1', maxaveragebitrate: '12000' }) as unknown as {
    fec: boolean; dtx: boolean; bitrate: number;
  };
  t.equal(enc.fec, true);
  t.equal(enc.dtx, true);
  t.equal(enc.bitrate, 12000);
  t.throws(() => createEncoder('opus', { maxaveragebitrate: 'lots' }), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
  const low = createEncoder('opus', { maxaveragebitrate: 8000 });
  const high = createEncoder('opus', { maxaveragebitrate: 64000 });
  const x = tone(1000, 48000, 960 * 20, 10000);
  let a = 0, b = 0;
  for (let i = 0; i < x.length; i += 960) {
    a += low.encode(x.subarray(i, i + 960)).length;
    b += high.encode(x.subarray(i, i + 960)).length;
  }
  t.ok(a < b, `8 kbit/s packets (${a} B) smaller than 64 kbit/s (${b} B)`);
});

t.test('PLC on loss, typed errors on garbage', { skip }, async (t) => {
  const enc = createEncoder('opus');
  const dec = createDecoder('opus');
  const x = tone(1000, 48000, 960 * 10, 10000);
  for (let i = 0; i < x.length; i += 960) dec.decode(enc.encode(x.subarray(i, i + 960)));
  const plc = dec.decode(null);
  t.equal(plc.length, 960, 'one 20 ms frame concealed');
  t.ok(rms(plc) > 100, 'PLC continues the signal rather than silence');
  t.throws(() => dec.decode(Buffer.alloc(0)), { code: 'DPBX_ERR_CODEC_BAD_PAYLOAD' });
  t.throws(() => enc.encode(new Int16Array(100)), { code: 'DPBX_ERR_CODEC_FRAME_SIZE' });
  // a TOC claiming code 3 with an impossible frame count is rejected by libopus
  t.throws(() => dec.decode(Buffer.from([0x03, 0xff])), { code: 'DPBX_ERR_CODEC_BAD_PAYLOAD' });
});

t.test('PCM at 8/16 kHz (pcmRate): RTP clock stays 48000, a 1 kHz tone survives, complexity is validated', { skip }, async (t) => {
  for (const pcmRate of [8000, 16000]) {
    const enc = createEncoder('opus', { pcmRate });
    const dec = createDecoder('opus', { pcmRate });
    t.equal(enc.frameSamples, pcmRate / 50, '20 ms of PCM at pcmRate');
    const x = tone(1000, pcmRate, pcmRate, 10000);
    const parts: Int16Array[] = [];
    for (let i = 0; i < x.length; i += enc.frameSamples) parts.push(dec.decode(enc.encode(x.subarray(i, i + enc.frameSamples))).slice());
    const y = concat(parts).subarray(pcmRate / 5);
    t.ok(Math.abs(estimateFreq(y, pcmRate) - 1000) < 10, `${pcmRate}: 1000 ± 10 Hz`);
    const snr = snrDb(y, 1000, pcmRate);
    t.ok(snr > 15, `${pcmRate}: SNR ${snr.toFixed(1)} dB > 15`);
  }
  const cx = (o: Record<string, unknown>) => (createEncoder('opus', o) as unknown as { complexity: number }).complexity;
  t.equal(cx({ pcmRate: 8000 }), 5, 'PBX default complexity 5 (OPUS_DEFAULT_COMPLEXITY) for SILK-only PCM rates');
  t.equal(cx({ pcmRate: 16000 }), 5);
  t.equal(cx({}), 10, "libopus's default at 48 kHz PCM");
  t.equal(cx({ complexity: 10 }), 10);
  t.equal(cx({ complexity: 0 }), 0);
  t.throws(() => createEncoder('opus', { complexity: 11 }), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
  t.throws(() => createEncoder('opus', { pcmRate: 44100 }), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
});

t.test('PLC conceals one frame per loss and continues across consecutive losses (also 40 ms frames)', { skip }, async (t) => {
  for (const [pcmRate, ptime] of [[8000, 20], [48000, 20], [8000, 40]] as const) {
    const enc = createEncoder('opus', { pcmRate, ptime });
    const dec = createDecoder('opus', { pcmRate, ptime });
    const n = enc.frameSamples;
    const x = tone(440, pcmRate, n * 25, 10000);
    for (let i = 0; i < x.length; i += n) dec.decode(enc.encode(x.subarray(i, i + n)));
    const first = dec.decode(null).slice();
    const second = dec.decode(null).slice();
    t.equal(first.length, n, `${pcmRate} Hz, ${ptime} ms: one frame concealed`);
    t.equal(second.length, n);
    // the binding's own loss call would conceal 120 ms (720 ms at 8 kHz) at once and the second loss would get
    // the faded end of it; one frame per loss keeps the second concealed frame audible
    t.ok(rms(first) > 300, `${pcmRate} Hz, ${ptime} ms: first concealed frame rms ${rms(first).toFixed(0)}`);
    t.ok(rms(second) > 100, `${pcmRate} Hz, ${ptime} ms: second concealed frame rms ${rms(second).toFixed(0)}`);
    const after = dec.decode(enc.encode(x.subarray(0, n)));
    t.equal(after.length, n, 'decoding resumes after the losses');
  }
});

/** Audio bandwidth a packet's TOC byte announces (RFC 6716 §3.1 Table 2): 'NB' | 'MB' | 'WB' | 'SWB' | 'FB'. */
function tocBandwidth(toc: number): string {
  const c = toc >> 3;
  if (c < 12) return ['NB', 'MB', 'WB'][c >> 2]!;
  if (c < 16) return c < 14 ? 'SWB' : 'FB';
  return ['NB', 'WB', 'SWB', 'FB'][(c - 16) >> 2]!;
}

t.test('maxplaybackrate (RFC 7587 §6.1): the encoder codes no wider than the receiver renders', { skip }, async (t) => {
  // a 48 kHz source with content up to 10 kHz (1 kHz + 7 kHz): unlimited, libopus codes it wider than wide band
  const x = new Int16Array(48000);
  for (let i = 0; i < x.length; i++) x[i] = Math.round(6000 * Math.sin((2 * Math.PI * 1000 * i) / 48000) + 3000 * Math.sin((2 * Math.PI * 7000 * i) / 48000));
  const bands = (fmtp: Record<string, unknown>) => {
    const enc = createEncoder('opus', { complexity: 10, ...fmtp });
    const seen = new Set<string>();
    for (let i = 0; i + 960 <= x.length; i += 960) seen.add(tocBandwidth(enc.encode(x.subarray(i, i + 960))[0]!));
    return [...seen].sort();
  };
  t.notSame(bands({}), ['NB'], 'without it: not narrow band');
  t.same(bands({ maxplaybackrate: '8000' }), ['NB'], 'maxplaybackrate=8000: narrow band only');
  t.ok(bands({ maxplaybackrate: 16000 }).every((b) => b === 'NB' || b === 'MB' || b === 'WB'), 'maxplaybackrate=16000: at most wide band');
  t.equal((createEncoder('opus', { maxplaybackrate: '8000' }) as unknown as { maxBandwidth?: number }).maxBandwidth, 1101);
  t.equal((createEncoder('opus', { maxplaybackrate: '48000' }) as unknown as { maxBandwidth?: number }).maxBandwidth, undefined, 'full band: nothing to limit');
  t.equal((createEncoder('opus', { maxplaybackrate: '8000', pcmRate: 8000 }) as unknown as { maxBandwidth?: number }).maxBandwidth, undefined,
    '8 kHz PCM is narrow band already');
  // the bit rate follows the band (libopus's automatic rate for PCM at 8 / 16 kHz), unless maxaveragebitrate says
  type Rated = { bitrate?: number };
  t.equal((createEncoder('opus', { maxplaybackrate: '8000' }) as unknown as Rated).bitrate, 11000, 'narrow band: 11 kbit/s');
  t.equal((createEncoder('opus', { maxplaybackrate: '16000' }) as unknown as Rated).bitrate, 19000, 'wide band: 19 kbit/s');
  t.equal((createEncoder('opus', { maxplaybackrate: '8000', maxaveragebitrate: 20000 }) as unknown as Rated).bitrate, 20000, 'maxaveragebitrate wins');
  t.equal((createEncoder('opus', {}) as unknown as Rated).bitrate, undefined, 'no limit: libopus chooses');
  {
    const nb = createEncoder('opus', { maxplaybackrate: '8000' });
    let bytes = 0;
    for (let i = 0; i + 960 <= x.length; i += 960) bytes += nb.encode(x.subarray(i, i + 960)).length;
    t.ok(bytes / 50 < 40, `narrow-band packets average ${(bytes / 50).toFixed(1)} B < 40 (≈ 11 kbit/s)`);
  }
  // remote SDP: garbage is ignored (no error, no limit), out-of-range numbers are clamped to 8000..48000
  t.equal((createEncoder('opus', { maxplaybackrate: 'lots' }) as unknown as { maxBandwidth?: number }).maxBandwidth, undefined);
  t.equal(opusMaxBandwidth('4000'), 1101);
  t.equal(opusMaxBandwidth(12000), 1102);
  t.equal(opusMaxBandwidth('24000'), 1104);
  t.equal(opusMaxBandwidth(96000), 1105);
  t.equal(opusMaxBandwidth('-1'), undefined);
  t.equal(opusMaxBandwidth(''), undefined);
  // and a 1 kHz tone still arrives at 1 kHz, decoded at 8 kHz
  const enc = createEncoder('opus', { maxplaybackrate: '8000' });
  const dec = createDecoder('opus', { pcmRate: 8000 });
  const y = tone(1000, 48000, 48000, 10000);
  const parts: Int16Array[] = [];
  for (let i = 0; i + 960 <= y.length; i += 960) parts.push(dec.decode(enc.encode(y.subarray(i, i + 960))).slice());
  const out = concat(parts).subarray(1600);
  t.ok(Math.abs(estimateFreq(out, 8000) - 1000) < 10, `1000 ± 10 Hz (${estimateFreq(out, 8000).toFixed(1)})`);
  t.ok(snrDb(out, 1000, 8000) > 15, `SNR ${snrDb(out, 1000, 8000).toFixed(1)} dB > 15`);
});

t.test('opusBandLimit: the fmtp of an opus leg transcoded to/from another codec', async (t) => {
  t.same(opusBandLimit('PCMU'), { maxplaybackrate: '8000', 'sprop-maxcapturerate': '8000' });
  t.same(opusBandLimit('pcma'), { maxplaybackrate: '8000', 'sprop-maxcapturerate': '8000' });
  t.same(opusBandLimit('G722'), { maxplaybackrate: '16000', 'sprop-maxcapturerate': '16000' }, 'G.722: its real 16 kHz');
  t.same(opusBandLimit('AMR-WB'), { maxplaybackrate: '16000', 'sprop-maxcapturerate': '16000' });
  t.same(opusBandLimit('GSM'), { maxplaybackrate: '8000', 'sprop-maxcapturerate': '8000' });
  t.equal(opusBandLimit('opus'), undefined, 'opus ↔ opus: pass-through, no limit');
  t.equal(opusBandLimit('G729'), undefined, 'unknown codec');
});
