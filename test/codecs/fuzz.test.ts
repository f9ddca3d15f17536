/**
 * Decoders face network input: random and mutated payloads (seeded, reproducible) must give PCM or a typed
 * DPBX_ERR_CODEC_BAD_PAYLOAD — never another exception, a crash of a native/wasm codec, or a hang; and the
 * decoder must still decode good payloads afterwards.
 */
import t from 'tap';
import { CodecError, codecStatus, createDecoder, createEncoder } from '../../codecs/index.js';
import { tone } from './audio.js';

const available = new Set(codecStatus().filter((s) => s.available).map((s) => s.name));

/** xorshift32: deterministic bytes. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const CASES: Array<[string, Record<string, unknown>]> = [
  ['PCMU', {}], ['PCMA', {}], ['G722', {}], ['G722', { pcmRate: 8000 }], ['GSM', {}], ['GSM', { ptime: 60 }],
  ['opus', {}], ['opus', { pcmRate: 8000 }], ['AMR', { 'octet-align': '1' }], ['AMR', {}], ['AMR-WB', { 'octet-align': '1' }],
  ['AMR-WB', {}], ['L16', {}],
];

for (const [name, opts] of CASES) {
  t.test(`${name} ${JSON.stringify(opts)}: 3000 random and mutated payloads → PCM or a typed error`, { skip: available.has(name) ? false : `${name} unavailable` }, async (t) => {
    const rnd = prng(0x5eed + name.length * 7919 + Object.keys(opts).length);
    const enc = createEncoder(name, opts);
    const dec = createDecoder(name, opts);
    const x = tone(1000, enc.sampleRate, enc.frameSamples * enc.channels, 8000);
    const good = Buffer.from(enc.encode(x));
    let typed = 0;
    let decoded = 0;
    const other: string[] = [];
    for (let i = 0; i < 3000; i++) {
      let p: Buffer;
      if (i % 2 === 0) {
        p = Buffer.alloc(rnd() % 400);
        for (let k = 0; k < p.length; k++) p[k] = rnd() & 255;
      } else {
        // a good payload with a few bytes flipped, truncated or extended (keeps headers plausible)
        p = Buffer.from(good);
        for (let k = 0, n = 1 + (rnd() % 4); k < n; k++) p[rnd() % p.length] ^= 1 << (rnd() % 8);
        const cut = rnd() % 3;
        if (cut === 1) p = p.subarray(0, rnd() % p.length);
        else if (cut === 2) p = Buffer.concat([p, Buffer.alloc(rnd() % 40, rnd() & 255)]);
      }
      try {
        const pcm = dec.decode(p);
        if (!(pcm instanceof Int16Array)) other.push(`not PCM for ${p.toString('hex')}`);
        decoded++;
      } catch (e) {
        if (e instanceof CodecError && e.code === 'DPBX_ERR_CODEC_BAD_PAYLOAD') typed++;
        else other.push(`${(e as Error).message} for ${p.toString('hex').slice(0, 80)}`);
      }
    }
    t.same(other.slice(0, 3), [], 'no other exception');
    t.equal(typed + decoded, 3000, `${decoded} decoded, ${typed} typed rejections`);
    t.equal(dec.decode(good).length, enc.frameSamples * enc.channels, 'still decodes a good payload afterwards');
  });
}
