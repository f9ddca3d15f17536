import t from 'tap';
import {
  parseTelephoneEvent,
  serializeTelephoneEvent,
  dtmfDigitFromEvent,
  dtmfEventFromDigit,
} from '../../../media/rtp/index.js';

t.test('RFC 4733 payload: event, E bit, volume, duration', async (t) => {
  // digit 5, end, volume 10, duration 800 (100 ms at 8 kHz)
  const b = Buffer.from('058a0320', 'hex');
  t.same(parseTelephoneEvent(b), { event: 5, end: true, volume: 10, duration: 800 });
  t.same(serializeTelephoneEvent({ event: 5, end: true, volume: 10, duration: 800 }), b);
  t.same(parseTelephoneEvent(Buffer.from('0b3f00a0', 'hex')), { event: 11, end: false, volume: 63, duration: 160 });
  t.equal(parseTelephoneEvent(Buffer.from('0bff00a0', 'hex')).volume, 63, 'the R bit is ignored on receipt');
});

t.test('a payload shorter than 4 bytes is a typed error', async (t) => {
  t.throws(() => parseTelephoneEvent(Buffer.from('0580', 'hex')), { code: 'DPBX_ERR_DTMF_TRUNCATED' });
  t.throws(() => serializeTelephoneEvent({ event: 300, end: false, volume: 0, duration: 0 }), { code: 'DPBX_ERR_RTP_BAD_FIELD' });
});

t.test('event ↔ DTMF digit mapping of RFC 4733 §3.2', async (t) => {
  const all = '0123456789*#ABCD';
  for (let e = 0; e < 16; e++) {
    t.equal(dtmfDigitFromEvent(e), all[e]);
    t.equal(dtmfEventFromDigit(all[e]!), e);
  }
  t.equal(dtmfEventFromDigit('a'), 12);
  t.equal(dtmfDigitFromEvent(16), '!');
  t.equal(dtmfEventFromDigit('!'), 16);
  t.equal(dtmfDigitFromEvent(17), null);
  t.equal(dtmfEventFromDigit('x'), -1);
  t.equal(dtmfEventFromDigit('12'), -1);
});
