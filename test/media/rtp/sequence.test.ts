import t from 'tap';
import { seqDiff, seqLessThan, seqAdd, tsDiff, tsLessThan, tsAdd, SeqUnwrapper } from '../../../media/rtp/index.js';

t.test('seqDiff is the signed 16-bit distance across the wrap', async (t) => {
  t.equal(seqDiff(5, 3), 2);
  t.equal(seqDiff(3, 5), -2);
  t.equal(seqDiff(0, 65535), 1, '0 follows 65535');
  t.equal(seqDiff(65535, 0), -1);
  t.equal(seqDiff(100, 65500), 136);
  t.equal(seqDiff(0x8000, 0), -0x8000, 'half the space is reported negative');
  t.equal(seqDiff(0x7fff, 0), 0x7fff);
  t.equal(seqDiff(7, 7), 0);
});

t.test('seqLessThan orders across the wrap and is antisymmetric', async (t) => {
  t.ok(seqLessThan(65535, 0));
  t.notOk(seqLessThan(0, 65535));
  t.ok(seqLessThan(65000, 100));
  t.notOk(seqLessThan(4, 4));
  const wrong: string[] = [];
  for (let a = 0; a < 65536; a += 257) {
    for (const d of [1, 2, 100, 3000, 0x7fff]) {
      const b = seqAdd(a, d);
      if (!(seqLessThan(a, b) && !seqLessThan(b, a))) wrong.push(`${a}<${b}`);
    }
  }
  t.same(wrong, [], 'a < a+d and not a+d < a for d in (0, 2^15)');
  t.equal(seqAdd(65535, 1), 0);
  t.equal(seqAdd(0, -1), 65535);
});

t.test('tsDiff and tsLessThan handle 32-bit wrap', async (t) => {
  t.equal(tsDiff(160, 0xffffff60), 320);
  t.equal(tsDiff(0xffffff60, 160), -320);
  t.ok(tsLessThan(0xfffffff0, 16));
  t.notOk(tsLessThan(16, 0xfffffff0));
  t.equal(tsAdd(0xffffffff, 1), 0);
  t.equal(tsAdd(0, -160), 0xffffff60);
  t.equal(tsDiff(0x80000000, 0), -0x80000000);
});

t.test('SeqUnwrapper extends with cycles and places late packets in the previous cycle', async (t) => {
  const u = new SeqUnwrapper();
  t.equal(u.extend(65534), 65534);
  t.equal(u.extend(65535), 65535);
  t.equal(u.extend(0), 65536);
  t.equal(u.extend(65533), 65533, 'late packet from before the wrap');
  t.equal(u.extend(1), 65537);
  t.equal(u.highestExtended, 65537);
  let seq = 1;
  for (let i = 0; i < 3 * 65536; i += 1000) seq = u.extend((65537 + i) & 0xffff);
  t.equal(seq, 65537 + 196000, 'three more cycles');
  u.reset();
  t.equal(u.highestExtended, -1);
});
