import t from 'tap';
import { codecStatus, createDecoder, createEncoder, findCodec, listCodecs, parseFmtp } from '../../codecs/index.js';

t.test('listCodecs gives registry entries of available codecs', async (t) => {
  const names = listCodecs().map((c) => c.name);
  for (const n of ['PCMU', 'PCMA', 'G722', 'GSM']) t.ok(names.includes(n), `${n} listed`);
  for (const s of codecStatus()) {
    t.equal(names.includes(s.name), s.available, `${s.name}: listed iff available`);
    if (!s.available) t.match(s.reason, /./, `${s.name} says why it is unavailable`);
  }
  const g722 = findCodec('G722')!;
  t.equal(g722.clockRate, 8000);
  t.equal(g722.sampleRate, 16000);
  t.equal(g722.payloadType, 9);
  t.equal(findCodec('pcmu', 8000)!.payloadType, 0);
  t.equal(findCodec('PCMA')!.payloadType, 8);
  t.equal(findCodec('GSM')!.payloadType, 3);
  t.equal(findCodec('opus')!.clockRate, 48000);
  t.equal(findCodec('opus')!.sdpChannels, 2);
  t.equal(findCodec('AMR-WB')!.clockRate, 16000);
  t.equal(findCodec('opus', 8000), undefined);
});

t.test('factory validation errors are typed', async (t) => {
  t.throws(() => createEncoder('SPEEX'), { code: 'DPBX_ERR_CODEC_UNKNOWN' });
  t.throws(() => createDecoder('PCMU', { rate: 16000 }), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
  t.throws(() => createEncoder('PCMU', { channels: 2 }), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
  t.throws(() => createEncoder('PCMU', { ptime: 7 }), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
  t.equal(createEncoder('PCMU', { ptime: 30 }).frameSamples, 240);
  t.equal(createEncoder('G722', { ptime: 30 }).frameSamples, 480);
});

t.test('parseFmtp', async (t) => {
  t.same(parseFmtp('useinbandfec=1; usedtx=0;maxaveragebitrate=20000'), { useinbandfec: '1', usedtx: '0', maxaveragebitrate: '20000' });
  t.same(parseFmtp('octet-align'), { 'octet-align': '' });
});
