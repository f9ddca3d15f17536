/** Seeded fuzz: mutated real-world SDP must only ever produce SdpError, from the parser and the answerer. */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { fixturePath } from '../../helpers/env.js';
import { parseSdp, answerOffer, SdpError } from '../../../media/sdp/index.js';

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let r = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = mulberry32(0x5dbf);
const int = (n: number) => Math.floor(rnd() * n);
const ALPHABET = 'vosctmab=:/ \r\n0123456789-*AUDIOaudio.IP4IP6RTP/SAVP;|^';

t.test('SDP parser and offer/answer throw only SdpError on 5000 mutated bodies', async (t) => {
  const dir = fixturePath('media', 'sdp');
  const texts = readdirSync(dir).filter((f) => f.endsWith('.sdp')).map((f) => readFileSync(`${dir}/${f}`, 'utf8'));
  const wrong: string[] = [];
  let rejected = 0;
  let answered = 0;
  for (let i = 0; i < 5000 && wrong.length < 5; i++) {
    let s = texts[i % texts.length]!;
    for (let k = 0, n = 1 + int(5); k < n; k++) {
      const at = int(s.length + 1);
      const op = int(3);
      if (op === 0) s = s.slice(0, at) + s.slice(at + 1 + int(8));
      else if (op === 1) s = s.slice(0, at) + ALPHABET[int(ALPHABET.length)]! + s.slice(at);
      else s = s.slice(0, at);
    }
    try {
      const sd = parseSdp(s);
      answerOffer(sd, {
        port: 4000,
        codecs: [{ name: 'PCMU', clockRate: 8000 }, { name: 'G722', clockRate: 8000 }, { name: 'opus', clockRate: 48000, channels: 2 }],
        srtp: { suites: ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'], keyFor: () => 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd' },
      });
      answered++;
    } catch (e) {
      if (e instanceof SdpError && e.status === 488) rejected++;
      else wrong.push(`${JSON.stringify(s.slice(0, 120))}: ${String(e)}`);
    }
  }
  t.same(wrong, []);
  t.ok(rejected > 100, `${rejected} rejected with SdpError`);
  t.ok(answered > 100, `${answered} still answered`);
});
