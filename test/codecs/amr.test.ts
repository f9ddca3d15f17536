/**
 * AMR-NB / AMR-WB through the optional addon: RFC 4867 octet-aligned and bandwidth-efficient payloads, multi-frame
 * packets, CMR, PLC; tone round trips; ffmpeg's own AMR decoders accept the frames we produce.
 */
import t from 'tap';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { amrStatus, createDecoder, createEncoder } from '../../codecs/index.js';
import { skipUnless, skipUnlessCommand } from '../helpers/env.js';
import { concat, estimateFreq, readS16, rms, run, snrDb, tmp, tone } from './audio.js';

const skip = skipUnless(amrStatus().available, `AMR addon (${amrStatus().reason ?? ''})`);

function roundTrip(name: string, fmtp: Record<string, unknown>, ptime = 20): { y: Int16Array; payloads: Buffer[] } {
  const rate = name === 'AMR' ? 8000 : 16000;
  const enc = createEncoder(name, { ptime, ...fmtp });
  const dec = createDecoder(name, { ptime, ...fmtp });
  const x = tone(1000, rate, rate * 2, 10000);
  const parts: Int16Array[] = [];
  const payloads: Buffer[] = [];
  for (let i = 0; i + enc.frameSamples <= x.length; i += enc.frameSamples) {
    const p = Buffer.from(enc.encode(x.subarray(i, i + enc.frameSamples)));
    payloads.push(p);
    parts.push(dec.decode(p).slice());
  }
  return { y: concat(parts), payloads };
}

for (const name of ['AMR', 'AMR-WB']) {
  const rate = name === 'AMR' ? 8000 : 16000;
  t.test(`${name}: 1 kHz tone at 1000 ± 10 Hz, SNR > 10 dB, both payload formats identical in PCM`, { skip }, async (t) => {
    const oa = roundTrip(name, { 'octet-align': '1' });
    const be = roundTrip(name, {});
    const y = oa.y.subarray(rate / 5);
    const f = estimateFreq(y, rate);
    t.ok(Math.abs(f - 1000) < 10, `frequency ${f.toFixed(2)} Hz`);
    const snr = snrDb(y, 1000, rate);
    t.ok(snr > 10, `SNR ${snr.toFixed(1)} dB > 10`);
    t.same(Buffer.from(be.y.buffer), Buffer.from(oa.y.buffer), 'bandwidth-efficient decodes to the same PCM as octet-aligned');
    const bits = name === 'AMR' ? 244 : 477;
    t.equal(oa.payloads[10]!.length, 2 + Math.ceil(bits / 8), 'octet-aligned: CMR + TOC + padded frame');
    t.equal(be.payloads[10]!.length, Math.ceil((10 + bits) / 8), 'bandwidth-efficient: 4+6 header bits + frame bits');
    t.equal(oa.payloads[10]![0], 0xf0, 'CMR 15 (no request)');
    t.equal((oa.payloads[10]![1]! >> 3) & 15, name === 'AMR' ? 7 : 8, 'highest mode by default');
  });

  t.test(`${name}: 3 frames per packet (ptime 60), mode-set, CMR and PLC`, { skip }, async (t) => {
    for (const fmtp of [{ 'octet-align': 1, 'mode-set': '0,2,4' }, { 'mode-set': '0,2,4' }]) {
      const { y, payloads } = roundTrip(name, fmtp, 60);
      t.equal(y.length, Math.floor((rate * 2) / ((rate * 60) / 1000)) * ((rate * 60) / 1000));
      t.ok(Math.abs(estimateFreq(y.subarray(rate / 5), rate) - 1000) < 10);
      const p = payloads[3]!;
      const oa = fmtp['octet-align'] === 1;
      const firstFt = oa ? (p[1]! >> 3) & 15 : ((p[0]! & 0x0f) << 8 | p[1]!) >> 7 & 15;
      t.equal(firstFt, 4, 'mode-set 0,2,4 → mode 4');
    }
    const dec = createDecoder(name, { 'octet-align': '1' });
    const enc = createEncoder(name, { 'octet-align': '1' });
    const x = tone(1000, rate, rate, 10000);
    const S = enc.frameSamples;
    for (let i = 0; i + S <= x.length / 2; i += S) dec.decode(enc.encode(x.subarray(i, i + S)));
    const c = dec.decode(null);
    t.equal(c.length, S, 'a lost packet gives one frame of concealment');
    const p = Buffer.from(enc.encode(x.subarray(0, S)));
    p[0] = 0x30; // CMR 3
    dec.decode(p);
    t.equal((dec as unknown as { lastCmr: number }).lastCmr, 3, 'received CMR exposed');
  });

  t.test(`${name}: malformed payloads are typed errors`, { skip }, async (t) => {
    for (const fmtp of [{ 'octet-align': '1' }, {}]) {
      const dec = createDecoder(name, fmtp);
      const bad = [Buffer.alloc(0), Buffer.from([0xf0]), Buffer.from([0xf0, 0xff]), Buffer.from([0xf0, 0x3c, 1, 2, 3]), Buffer.alloc(30, 0xff)];
      for (const b of bad) t.throws(() => dec.decode(b), { code: 'DPBX_ERR_CODEC_BAD_PAYLOAD' }, `${b.toString('hex')}`);
      t.throws(() => createDecoder(name, { interleaving: '1' }), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
      t.throws(() => createEncoder(name, { mode: 99 }), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
    }
  });

  t.test(`${name}: ffmpeg's decoder accepts our frames (storage format built from octet-aligned payloads)`, { skip: skip || skipUnlessCommand('ffmpeg') }, async (t) => {
    const { payloads } = roundTrip(name, { 'octet-align': '1' });
    const parts: Buffer[] = [Buffer.from(name === 'AMR' ? '#!AMR\n' : '#!AMR-WB\n')];
    for (const p of payloads) parts.push(Buffer.from([p[1]! & 0x7f]), p.subarray(2));
    const dir = tmp();
    const file = join(dir, name === 'AMR' ? 'x.amr' : 'x.awb');
    writeFileSync(file, Buffer.concat(parts));
    const raw = join(dir, 'x.raw');
    run('ffmpeg', ['-v', 'error', '-y', '-i', file, '-f', 's16le', '-ac', '1', '-ar', String(rate), raw]);
    const y = readS16(raw).subarray(rate / 5);
    t.ok(rms(y) > 1000, 'ffmpeg decoded audio');
    t.ok(Math.abs(estimateFreq(y, rate) - 1000) < 10, "ffmpeg's decode is the 1 kHz tone");
  });
}
