import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { fixturePath } from '../../helpers/env.js';
import { parseSdp, serializeSdp, SdpError, mediaCodecs, mediaConnection, mediaDirection, mediaRtcp, mediaPtime } from '../../../media/sdp/index.js';

const fixture = (name: string) => readFileSync(fixturePath('media', 'sdp', name), 'utf8');

t.test('every real-world fixture round-trips parse → serialize byte for byte (CRLF)', async (t) => {
  const files = readdirSync(fixturePath('media', 'sdp')).filter((f) => f.endsWith('.sdp'));
  t.ok(files.length >= 6);
  for (const f of files) {
    const text = fixture(f);
    t.equal(serializeSdp(parseSdp(text)), text.replace(/\r?\n/g, '\r\n'), f);
  }
});

t.test('session fields, timing, repeat and zone lines, media-level c= and unknown attributes', async (t) => {
  const sd = parseSdp(fixture('ipv6-rtcp-offer.sdp'));
  t.same(sd.origin, { username: 'bob', sessionId: '2890844527', sessionVersion: '2890844527', netType: 'IN', addrType: 'IP6', address: '2001:db8::2' });
  t.same(sd.bandwidths, [{ type: 'CT', value: 128 }]);
  t.same(sd.timing, [{ start: '3034423619', stop: '3042462419', repeats: ['7d 1h 0 25h'] }]);
  t.equal(sd.zone, '2882844526 -1h 2898848070 0');
  t.equal(sd.media.length, 2);
  const m = sd.media[0]!;
  t.equal(m.information, 'voice');
  t.equal(mediaConnection(m, sd)?.address, '2001:db8::99', 'media-level c= overrides the session c=');
  t.equal(mediaConnection(sd.media[1]!, sd)?.address, '2001:db8::2', 'session c= applies otherwise');
  t.equal(mediaDirection(m, sd), 'recvonly', 'session-level direction applies to media without one');
  t.same(mediaRtcp(m), { port: 53020, connection: { netType: 'IN', addrType: 'IP6', address: '2001:db8::99' } });
  t.equal(mediaPtime(m), 30);
  t.same(m.attributes.find((a) => a.name === 'x-unknown-thing'), { name: 'x-unknown-thing', value: 'with:colons and spaces' });
  t.equal(sd.media[1]!.port, 0);
});

t.test('codecs: rtpmap for dynamic types, RFC 3551 table for static ones, fmtp attached', async (t) => {
  const sd = parseSdp(fixture('linphone-offer.sdp'));
  const c = mediaCodecs(sd.media[0]!);
  t.same(
    c.map((x) => `${x.payloadType} ${x.name}/${x.clockRate}/${x.channels}`),
    ['96 opus/48000/2', '97 SILK/16000/1', '98 speex/16000/1', '0 PCMU/8000/1', '8 PCMA/8000/1', '18 G729/8000/1', '101 telephone-event/48000/1', '99 telephone-event/16000/1', '100 telephone-event/8000/1'],
  );
  t.equal(c[0]!.fmtp, 'useinbandfec=1');
  t.equal(c[5]!.fmtp, 'annexb=yes');
  const b = mediaCodecs(parseSdp(fixture('baresip-offer.sdp')).media[0]!);
  t.equal(b[0]!.name, 'G722');
  t.equal(b[0]!.clockRate, 8000, 'G722 is 8000 in SDP');
});

t.test('LF-only input and a missing final newline are accepted', async (t) => {
  const sd = parseSdp('v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nt=0 0\nm=audio 4000 RTP/AVP 0');
  t.equal(sd.media[0]!.port, 4000);
  t.same(mediaCodecs(sd.media[0]!).map((c) => c.name), ['PCMU']);
  const noT = parseSdp('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nm=audio 4000 RTP/AVP 0\r\n');
  t.match(serializeSdp(noT), /\r\nt=0 0\r\n/, 'missing t= is tolerated and written back');
});

t.test('bad SDP throws SdpError with a code and status 488', async (t) => {
  const base = 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\n';
  const cases: Array<[string, string, string]> = [
    ['empty', '', 'DPBX_ERR_SDP_MISSING_FIELD'],
    ['no v= first', 'o=- 1 1 IN IP4 1.2.3.4\r\n', 'DPBX_ERR_SDP_MISSING_FIELD'],
    ['version 1', 'v=1\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\n', 'DPBX_ERR_SDP_BAD_VALUE'],
    ['no o=', 'v=0\r\ns=x\r\nt=0 0\r\n', 'DPBX_ERR_SDP_MISSING_FIELD'],
    ['no s=', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nt=0 0\r\n', 'DPBX_ERR_SDP_MISSING_FIELD'],
    ['short o=', 'v=0\r\no=- 1 IN IP4 1.2.3.4\r\ns=x\r\n', 'DPBX_ERR_SDP_SYNTAX'],
    ['not a line', base + 'garbage\r\n', 'DPBX_ERR_SDP_SYNTAX'],
    ['unknown type', base + 'y=1234\r\n', 'DPBX_ERR_SDP_SYNTAX'],
    ['bad port', base + 'm=audio 70000 RTP/AVP 0\r\n', 'DPBX_ERR_SDP_SYNTAX'],
    ['m= without formats', base + 'm=audio 4000 RTP/AVP\r\n', 'DPBX_ERR_SDP_SYNTAX'],
    ['bad c=', base + 'c=IN IP4\r\n', 'DPBX_ERR_SDP_SYNTAX'],
    ['bad b=', base + 'b=AS:lots\r\n', 'DPBX_ERR_SDP_SYNTAX'],
    ['s= inside media', base + 'm=audio 4000 RTP/AVP 0\r\ns=again\r\n', 'DPBX_ERR_SDP_SYNTAX'],
    ['r= before t=', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nr=1 2 3\r\n', 'DPBX_ERR_SDP_SYNTAX'],
    ['bad attribute name', base + 'a=bad name:1\r\n', 'DPBX_ERR_SDP_SYNTAX'],
  ];
  for (const [name, text, code] of cases) {
    t.throws(() => parseSdp(text), { code, status: 488 }, name);
  }
  try {
    parseSdp(base + 'm=audio x RTP/AVP 0\r\n');
    t.fail('should throw');
  } catch (e) {
    t.ok(e instanceof SdpError);
    t.equal((e as SdpError).line, 5, 'the error names the line');
  }
});
