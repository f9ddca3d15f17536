import t from 'tap';
import { ULAW_DECODE, ALAW_DECODE, ULAW_ENCODE, ALAW_ENCODE, encodeG711, decodeG711 } from '../../../media/play/index.js';

t.test('every µ-law and A-law code round-trips through decode → encode', async (t) => {
  let uBad = 0;
  let aBad = 0;
  for (let b = 0; b < 256; b++) {
    // µ-law has two codes for zero (0x7f = -0, 0xff = +0); both decode to 0 which encodes as 0xff
    if (b !== 0x7f && ULAW_ENCODE[ULAW_DECODE[b]! & 0xffff] !== b) uBad++;
    if (ALAW_ENCODE[ALAW_DECODE[b]! & 0xffff] !== b) aBad++;
  }
  t.equal(uBad, 0);
  t.equal(aBad, 0);
});

t.test('known G.711 code points', async (t) => {
  t.equal(ULAW_ENCODE[0], 0xff, 'µ-law silence');
  t.equal(ALAW_ENCODE[0], 0xd5, 'A-law silence');
  t.equal(ULAW_DECODE[0x00], -32124, 'µ-law most negative');
  t.equal(ULAW_DECODE[0x80], 32124, 'µ-law most positive');
  t.equal(ALAW_DECODE[0xaa], 32256, 'A-law most positive');
  t.equal(ALAW_DECODE[0x2a], -32256, 'A-law most negative');
});

t.test('encode/decode is monotonic and close to the input', async (t) => {
  const pcm = new Int16Array(2001);
  for (let i = 0; i < pcm.length; i++) pcm[i] = -30000 + i * 30;
  for (const law of ['PCMU', 'PCMA'] as const) {
    const enc = new Uint8Array(pcm.length);
    encodeG711(law, pcm, enc);
    const dec = new Int16Array(pcm.length);
    decodeG711(law, enc, dec);
    let worst = 0;
    let monotonic = true;
    for (let i = 0; i < pcm.length; i++) {
      worst = Math.max(worst, Math.abs(dec[i]! - pcm[i]!) / Math.max(256, Math.abs(pcm[i]!)));
      if (i > 0 && dec[i]! < dec[i - 1]!) monotonic = false;
    }
    t.ok(monotonic, `${law} monotonic`);
    t.ok(worst < 0.07, `${law} relative error ${worst.toFixed(3)} < 7%`);
  }
});
