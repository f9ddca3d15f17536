import t from 'tap';
import { readFileSync } from 'node:fs';
import { fixturePath } from '../../helpers/env.js';
import {
  parseSdp,
  serializeSdp,
  answerOffer,
  answerDirection,
  processAnswer,
  buildOfferMedia,
  offerCodecs,
  mediaCodecs,
  mediaCryptos,
  mergeFmtp,
  SdpLocalSession,
} from '../../../media/sdp/index.js';
import type { SdpAnswerOptions, SdpDirection } from '../../../media/sdp/index.js';

const offer = (name: string) => parseSdp(readFileSync(fixturePath('media', 'sdp', name), 'utf8'));
const G722_PCMA_PCMU = [
  { name: 'G722', clockRate: 8000 },
  { name: 'PCMA', clockRate: 8000 },
  { name: 'PCMU', clockRate: 8000 },
];
const base: SdpAnswerOptions = { port: 20000, codecs: G722_PCMA_PCMU };
const OUR_KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd'; // 30 bytes

t.test('answer picks by OUR preference and uses the offerer’s payload type numbers', async (t) => {
  const { media, audio } = answerOffer(offer('linphone-offer.sdp'), { ...base, codecs: [{ name: 'pcma', clockRate: 8000 }, { name: 'PCMU', clockRate: 8000 }] });
  t.equal(audio?.codec.name, 'PCMA', 'case-insensitive name match');
  t.equal(audio?.codec.payloadType, 8);
  t.same(media[0]!.formats, ['8', '100'], 'chosen codec + telephone-event at 8000');
  t.equal(audio?.telephoneEvent?.payloadType, 100, 'telephone-event rate-matched to the codec (not the 48k one)');
  t.equal(media[1]!.port, 0, 'the video stream is rejected with port 0');
  t.equal(media[1]!.type, 'video');
  t.equal(audio?.remoteAddress, '192.168.1.20');
  t.equal(audio?.remotePort, 7078);
  t.equal(audio?.remoteRtcpPort, 7079, 'RTCP on port+1 without a=rtcp or rtcp-mux');
});

t.test('answer picks by the OFFER’s order when asked', async (t) => {
  const { audio } = answerOffer(offer('linphone-offer.sdp'), { ...base, codecs: [{ name: 'PCMA', clockRate: 8000 }, { name: 'PCMU', clockRate: 8000 }], preferOfferOrder: true });
  t.equal(audio?.codec.name, 'PCMU');
});

t.test('dynamic payload types follow the offer; opus matches on rate and channels', async (t) => {
  const { media, audio } = answerOffer(offer('linphone-offer.sdp'), { ...base, codecs: [{ name: 'opus', clockRate: 48000, channels: 2 }] });
  t.equal(audio?.codec.payloadType, 96);
  t.equal(audio?.codec.fmtp, 'useinbandfec=1', 'fmtp echoed');
  t.equal(audio?.telephoneEvent?.payloadType, 101, '48 kHz telephone-event for opus');
  t.ok(media[0]!.attributes.some((a) => a.name === 'rtpmap' && a.value === '96 opus/48000/2'));
  t.throws(() => answerOffer(offer('linphone-offer.sdp'), { ...base, codecs: [{ name: 'opus', clockRate: 48000, channels: 1 }] }), {
    code: 'DPBX_ERR_SDP_NO_COMMON_CODEC',
    status: 488,
  });
});

t.test('answerFmtp: our parameters replace the echoed ones of the same name, the negotiated codec keeps the offer’s', async (t) => {
  const codecs = [{ name: 'opus', clockRate: 48000, channels: 2, answerFmtp: 'maxplaybackrate=8000;sprop-maxcapturerate=8000' }];
  const { media, audio } = answerOffer(offer('linphone-offer.sdp'), { ...base, codecs });
  t.ok(media[0]!.attributes.some((a) => a.name === 'fmtp' && a.value === '96 useinbandfec=1;maxplaybackrate=8000;sprop-maxcapturerate=8000'), 'answer fmtp');
  t.equal(audio?.codec.fmtp, 'useinbandfec=1', "negotiated fmtp = the offerer's (what its receiver wants)");
  t.equal(mergeFmtp('a=1; MaxPlaybackRate=48000;b', 'maxplaybackrate=8000;c=3'), 'a=1;maxplaybackrate=8000;b;c=3', 'in place, case-insensitive');
  t.equal(mergeFmtp(undefined, 'x=1'), 'x=1');
  const plain = answerOffer(offer('linphone-offer.sdp'), { ...base, codecs: [{ name: 'opus', clockRate: 48000, channels: 2 }, { name: 'PCMU', clockRate: 8000, answerFmtp: 'x=1' }] });
  t.equal(plain.audio?.codec.name, 'opus');
  t.notOk(plain.media[0]!.attributes.some((a) => a.name === 'fmtp' && /x=1/.test(a.value ?? '')), "another codec's answerFmtp is not applied");
});

t.test('G722 given with its real 16 kHz rate still matches the SDP 8000 quirk', async (t) => {
  const { audio, media } = answerOffer(offer('baresip-offer.sdp'), { ...base, codecs: [{ name: 'G722', clockRate: 16000 }] });
  t.equal(audio?.codec.payloadType, 9);
  t.ok(media[0]!.attributes.some((a) => a.value === '9 G722/8000'));
  t.same(media[0]!.attributes.find((a) => a.name === 'fmtp'), { name: 'fmtp', value: '101 0-15' });
  t.equal(audio?.ptime, 20);
});

t.test('multipleCodecs answers every common codec in preference order', async (t) => {
  const { media } = answerOffer(offer('baresip-offer.sdp'), { ...base, codecs: [{ name: 'PCMU', clockRate: 8000 }, { name: 'G722', clockRate: 8000 }], multipleCodecs: true });
  t.same(media[0]!.formats, ['0', '9', '101']);
});

t.test('no common codec → SdpError NO_COMMON_CODEC with status 488', async (t) => {
  t.throws(() => answerOffer(offer('baresip-offer.sdp'), { ...base, codecs: [{ name: 'AMR', clockRate: 8000 }] }), {
    code: 'DPBX_ERR_SDP_NO_COMMON_CODEC',
    status: 488,
  });
  t.throws(() => answerOffer(offer('webrtc-dtls-offer.sdp'), base), { code: 'DPBX_ERR_SDP_NO_COMMON_CODEC' }, 'DTLS-SRTP is not supported');
});

t.test('RFC 3264 §6.1 direction mapping', async (t) => {
  const table: Array<[SdpDirection, SdpDirection, SdpDirection]> = [
    ['sendrecv', 'sendrecv', 'sendrecv'],
    ['sendonly', 'sendrecv', 'recvonly'],
    ['recvonly', 'sendrecv', 'sendonly'],
    ['inactive', 'sendrecv', 'inactive'],
    ['sendrecv', 'sendonly', 'sendonly'],
    ['sendrecv', 'inactive', 'inactive'],
    ['sendonly', 'sendonly', 'inactive'],
    ['recvonly', 'recvonly', 'inactive'],
  ];
  for (const [o, wanted, a] of table) t.equal(answerDirection(o, wanted), a, `${o} offered, we want ${wanted}`);
});

t.test('hold re-INVITE with a=sendonly is answered recvonly and flagged as hold', async (t) => {
  const { media, audio } = answerOffer(offer('baresip-hold-reinvite.sdp'), base);
  t.equal(audio?.remoteDirection, 'sendonly');
  t.equal(audio?.localDirection, 'recvonly');
  t.equal(audio?.remoteHold, true);
  t.ok(media[0]!.attributes.some((a) => a.name === 'recvonly'));
});

t.test('old-style hold c=0.0.0.0 is treated as the peer not receiving', async (t) => {
  const { audio, media } = answerOffer(offer('oldstyle-hold-reinvite.sdp'), base);
  t.equal(audio?.remoteAddress, '0.0.0.0');
  t.equal(audio?.remoteHold, true);
  t.equal(audio?.remoteDirection, 'sendonly');
  t.equal(audio?.localDirection, 'recvonly');
  t.equal(audio?.maxptime, 30);
  t.equal(media[0]!.port, 20000, 'we still answer with our real port');
});

t.test('a=rtcp port and IPv6 media-level address; session recvonly answered sendonly; port-0 stream stays 0', async (t) => {
  const { audio, media } = answerOffer(offer('ipv6-rtcp-offer.sdp'), { ...base, codecs: [{ name: 'PCMU', clockRate: 8000 }], rtcpPort: 20001 });
  t.equal(audio?.remoteAddress, '2001:db8::99');
  t.equal(audio?.remoteRtcpPort, 53020);
  t.equal(audio?.localDirection, 'sendonly');
  t.equal(audio?.telephoneEvent?.payloadType, 96);
  t.ok(media[0]!.attributes.some((a) => a.name === 'rtcp' && a.value === '20001'));
  t.equal(media[1]!.port, 0);
  t.same(media[1]!.formats, ['0']);
});

t.test('a=crypto: SAVP offer gets one usable crypto line back with our key and the same tag', async (t) => {
  const keys: string[] = [];
  const srtp = { suites: ['AES_CM_128_HMAC_SHA1_80'], keyFor: (s: string) => (keys.push(s), OUR_KEY) };
  const { audio, media } = answerOffer(offer('polycom-srtp-offer.sdp'), { ...base, srtp });
  t.equal(media[0]!.protocol, 'RTP/SAVP');
  t.same(audio?.srtp, {
    suite: 'AES_CM_128_HMAC_SHA1_80',
    tag: 3,
    localKeySalt: OUR_KEY,
    remoteKeySalt: 'd0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj',
  }, 'tag 1 has an MKI we do not support, tag 2 is a suite we did not allow');
  t.same(mediaCryptos(media[0]!), [{ tag: 3, suite: 'AES_CM_128_HMAC_SHA1_80', keyParams: [{ method: 'inline', keySalt: OUR_KEY }], sessionParams: [] }]);
  t.equal(audio?.codec.name, 'G722');
  const with32 = answerOffer(offer('polycom-srtp-offer.sdp'), { ...base, srtp: { suites: ['AES_CM_128_HMAC_SHA1_32', 'AES_CM_128_HMAC_SHA1_80'], keyFor: () => OUR_KEY } });
  t.equal(with32.audio?.srtp?.tag, 2, 'the first usable line in offer order');
  t.equal(with32.audio?.srtp?.suite, 'AES_CM_128_HMAC_SHA1_32');
  t.throws(() => answerOffer(offer('polycom-srtp-offer.sdp'), base), { code: 'DPBX_ERR_SDP_NO_COMMON_CODEC' }, 'SAVP without SRTP support is 488');
});

t.test('WebRTC-like SDES offer: RTP/SAVPF with rtcp-mux accepted, rtcp-mux echoed', async (t) => {
  const { audio, media } = answerOffer(offer('webrtc-sdes-offer.sdp'), { ...base, srtp: { suites: ['AES_CM_128_HMAC_SHA1_80'], keyFor: () => OUR_KEY } });
  t.equal(audio?.rtcpMux, true);
  t.equal(audio?.remoteRtcpPort, 52690);
  t.equal(audio?.codec.name, 'G722');
  t.equal(audio?.telephoneEvent?.payloadType, 126);
  t.ok(media[0]!.attributes.some((a) => a.name === 'rtcp-mux'));
  const noMux = answerOffer(offer('webrtc-sdes-offer.sdp'), { ...base, rtcpMux: false, srtp: { suites: ['AES_CM_128_HMAC_SHA1_80'], keyFor: () => OUR_KEY } });
  t.equal(noMux.audio?.rtcpMux, false);
  t.notOk(noMux.media[0]!.attributes.some((a) => a.name === 'rtcp-mux'));
});

t.test('offer builder: static PTs, dynamic from 96, one telephone-event per clock rate', async (t) => {
  const codecs = offerCodecs({ codecs: [{ name: 'opus', clockRate: 48000, channels: 2, fmtp: 'useinbandfec=1' }, { name: 'G722', clockRate: 16000 }, { name: 'PCMU', clockRate: 8000 }] });
  t.same(
    codecs.map((c) => `${c.payloadType} ${c.name}/${c.clockRate}`),
    ['96 opus/48000', '9 G722/8000', '0 PCMU/8000', '97 telephone-event/48000', '101 telephone-event/8000'],
  );
  const m = buildOfferMedia({ port: 30000, codecs: G722_PCMA_PCMU, ptime: 20, srtp: { suites: ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'], keyFor: () => OUR_KEY } });
  t.equal(m.protocol, 'RTP/SAVP');
  t.same(m.formats, ['9', '8', '0', '101']);
  t.same(mediaCryptos(m).map((c) => [c.tag, c.suite]), [[1, 'AES_CM_128_HMAC_SHA1_80'], [2, 'AES_CM_128_HMAC_SHA1_32']]);
  t.same(mediaCodecs(m).find((c) => c.payloadType === 101)?.fmtp, '0-15');
});

t.test('local session: o= version increments on a changed re-offer only; c= carries our address', async (t) => {
  const s = new SdpLocalSession({ address: '192.0.2.10', sessionId: '424242' });
  const o1 = s.createOffer({ port: 30000, codecs: G722_PCMA_PCMU });
  t.equal(o1.origin.sessionVersion, '424242');
  t.equal(o1.connection?.address, '192.0.2.10');
  const o2 = s.createOffer({ port: 30000, codecs: G722_PCMA_PCMU });
  t.equal(o2.origin.sessionVersion, '424242', 'unchanged SDP keeps its version (RFC 3264 §8)');
  const o3 = s.createOffer({ port: 30000, codecs: G722_PCMA_PCMU, direction: 'sendonly' });
  t.equal(o3.origin.sessionVersion, '424243', 'hold re-offer increments the version');
  t.equal(o3.origin.sessionId, '424242');
  const text = serializeSdp(o3);
  t.match(text, /^v=0\r\no=- 424242 424243 IN IP4 192\.0\.2\.10\r\ns=dragon-pbx\r\nc=IN IP4 192\.0\.2\.10\r\nt=0 0\r\nm=audio 30000 RTP\/AVP 9 8 0 101\r\n/);
  t.match(text, /a=sendonly\r\n$/);
  const v6 = new SdpLocalSession({ address: '2001:db8::1' });
  t.equal(v6.createOffer({ port: 1, codecs: G722_PCMA_PCMU }).origin.addrType, 'IP6');
});

t.test('full loop: our offer, the peer answers with our answerer, processAnswer agrees on both sides', async (t) => {
  const us = new SdpLocalSession({ address: '192.0.2.10', sessionId: '1' });
  const peer = new SdpLocalSession({ address: '198.51.100.20', sessionId: '2' });
  const ourOffer = us.createOffer({ port: 30000, codecs: G722_PCMA_PCMU, srtp: { suites: ['AES_CM_128_HMAC_SHA1_80'], keyFor: () => OUR_KEY } });
  const reparsed = parseSdp(serializeSdp(ourOffer));
  const peerKey = 'HRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgEA';
  const { answer, audio: peerView } = peer.createAnswer(reparsed, {
    port: 40000,
    codecs: [{ name: 'PCMU', clockRate: 8000 }],
    srtp: { suites: ['AES_CM_128_HMAC_SHA1_80'], keyFor: () => peerKey },
  });
  const ours = processAnswer(ourOffer, parseSdp(serializeSdp(answer)));
  t.equal(ours.codec.name, 'PCMU');
  t.equal(ours.codec.payloadType, 0);
  t.equal(ours.recvPayloadType, 0);
  t.equal(ours.telephoneEvent?.payloadType, 101);
  t.equal(ours.remoteAddress, '198.51.100.20');
  t.equal(ours.remotePort, 40000);
  t.equal(ours.rtcpMux, true);
  t.same(ours.srtp, { suite: 'AES_CM_128_HMAC_SHA1_80', tag: 1, localKeySalt: OUR_KEY, remoteKeySalt: peerKey });
  t.equal(peerView?.srtp?.remoteKeySalt, OUR_KEY);
});

t.test('processAnswer rejects answers that do not fit the offer', async (t) => {
  const us = new SdpLocalSession({ address: '192.0.2.10', sessionId: '1' });
  const o = us.createOffer({ port: 30000, codecs: G722_PCMA_PCMU });
  const ans = (m: string) => parseSdp(`v=0\r\no=- 9 9 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n${m}`);
  t.throws(() => processAnswer(o, ans('')), { code: 'DPBX_ERR_SDP_ANSWER_MISMATCH' });
  t.throws(() => processAnswer(o, ans('m=video 5000 RTP/AVP 96\r\n')), { code: 'DPBX_ERR_SDP_ANSWER_MISMATCH' });
  t.throws(() => processAnswer(o, ans('m=audio 0 RTP/AVP 0\r\n')), { code: 'DPBX_ERR_SDP_NO_COMMON_CODEC', status: 488 });
  t.throws(() => processAnswer(o, ans('m=audio 5000 RTP/AVP 18\r\n')), { code: 'DPBX_ERR_SDP_NO_COMMON_CODEC' });
  const ok = processAnswer(o, ans('m=audio 5000 RTP/AVP 97 8\r\na=rtpmap:97 PCMA/8000\r\na=sendonly\r\n'));
  t.equal(ok.codec.payloadType, 97, 'we send with the answerer’s PT');
  t.equal(ok.recvPayloadType, 8, 'the answerer sends with our PT');
  t.equal(ok.remoteHold, true);
});
