import t from 'tap';
import { createRequire } from 'node:module';
import { createDecoder, createEncoder } from '../../codecs/index.js';
import { estimateFreq, snrDb, tone } from './audio.js';

const law = createRequire(import.meta.url)('alawmulaw') as typeof import('alawmulaw');

for (const name of ['PCMU', 'PCMA'] as const) {
  t.test(`${name}: same bytes as alawmulaw's array API, round trip keeps a tone`, async (t) => {
    const enc = createEncoder(name);
    const dec = createDecoder(name);
    t.equal(enc.frameSamples, 160);
    const x = tone(1000, 8000, 160 * 50, 12000);
    const ref = (name === 'PCMU' ? law.mulaw : law.alaw).encode(x);
    const out = new Int16Array(x.length);
    for (let i = 0; i < x.length; i += 160) {
      const p = enc.encode(x.subarray(i, i + 160));
      t.equal(Buffer.compare(p, Buffer.from(ref.subarray(i, i + 160))), 0) || t.end();
      out.set(dec.decode(p), i);
    }
    t.ok(snrDb(out, 1000, 8000) > 30, 'G.711 SNR > 30 dB');
    t.ok(Math.abs(estimateFreq(out, 8000) - 1000) < 1);
    const full = new Int16Array(65536);
    for (let i = 0; i < 65536; i++) full[i] = i - 32768;
    const e2 = createEncoder(name, { frameSamples: 65536 });
    t.same(Buffer.from(e2.encode(full)), Buffer.from((name === 'PCMU' ? law.mulaw : law.alaw).encode(full)), 'all 65536 inputs');
  });
}

t.test('G.711 decoder: empty payload is a typed error, loss conceals', async (t) => {
  const dec = createDecoder('PCMU');
  t.throws(() => dec.decode(Buffer.alloc(0)), { code: 'DPBX_ERR_CODEC_BAD_PAYLOAD' });
  const good = dec.decode(Buffer.alloc(160, 0x10)).slice();
  const c1 = dec.conceal();
  t.equal(c1.length, 160);
  t.equal(c1[0], good[0]! >> 1, 'first lost frame = last good at half amplitude');
  dec.conceal();
  const c3 = dec.conceal();
  t.ok(c3.every((v) => v === 0), 'silence after two concealed frames');
});
