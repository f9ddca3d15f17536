// CallMedia: per-leg SDP offer/answer on a relay session; a PCMU caller and a G.722-only callee are bridged through
// the transcoder and a tone crosses in both directions; bad SDP is a typed error (→ 488).
import t from 'tap';
import { createRelay } from '../../../media/relay/index.js';
import { parseSdp, mediaCodecs } from '../../../media/sdp/index.js';
import { createDecoder, createEncoder } from '../../../codecs/index.js';
import { CallMedia, codecPreferences } from '../../../lib/b2bua/call-media.js';
import { Peer, rtp, until } from '../../media/relay/helpers.js';
import { estimateFreq, tone } from '../../codecs/audio.js';

const pluginUrl = new URL(`../../../codecs/relay-transcoder${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
const base = 30000 + Math.floor(Math.random() * 2000) * 2;

function sdp(port: number, codecs: Array<[number, string]>): string {
  return [
    'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} RTP/AVP ${codecs.map(([pt]) => pt).join(' ')}`,
    ...codecs.map(([pt, name]) => `a=rtpmap:${pt} ${name}`),
    'a=sendrecv', '',
  ].join('\r\n');
}

t.test('codecPreferences keeps order and drops unknown names', async (t) => {
  t.same(codecPreferences(['G722', 'PCMU', 'NOPE']).map((p) => p.name), ['G722', 'PCMU']);
  const opus = codecPreferences(['opus'])[0]!;
  t.equal(opus.clockRate, 48000);
  t.equal(opus.channels, 2);
});

t.test('PCMU caller ⇄ G.722 callee: both answers right, tones cross both ways through the transcoder', async (t) => {
  const relay = await createRelay({ rtpPortMin: base, rtpPortMax: base + 40, bindAddress: '127.0.0.1', workers: 0, transcoder: pluginUrl });
  t.teardown(() => relay.close());
  const session = await relay.createSession();
  const media = new CallMedia(session, { address: '127.0.0.1' });
  t.teardown(() => media.close());
  const caller = await Peer.open();
  const callee = await Peer.open();
  t.teardown(() => { caller.close(); callee.close(); });

  const A = { id: 'A' };
  const B = { id: 'B' };
  const answer = parseSdp(await media.answerOffer(A, sdp(caller.port, [[0, 'PCMU/8000'], [8, 'PCMA/8000'], [101, 'telephone-event/8000']]), ['G722', 'PCMU', 'PCMA']));
  t.same(mediaCodecs(answer.media[0]!).map((c) => c.name).filter((n) => n !== 'telephone-event'), ['PCMU'], 'the caller gets PCMU (G722 not offered)');
  const aPort = answer.media[0]!.port;

  const offer = parseSdp(await media.createOffer(B, ['G722', 'PCMU'], 'PCMU'));
  t.equal(mediaCodecs(offer.media[0]!)[0]!.name, 'PCMU', "the caller's codec is offered first");
  const bPort = offer.media[0]!.port;
  const neg = await media.acceptAnswer(B, sdp(callee.port, [[9, 'G722/8000']]));
  t.equal(neg.codec.name, 'G722', 'the callee chose G722');
  await media.bridge(A, B);

  // 1 s of a 1 kHz tone from the caller as PCMU.
  const enc = createEncoder('PCMU');
  const pcm = tone(1000, 8000, 8000);
  for (let i = 0; i < 50; i++) {
    await caller.send(rtp(0, i, i * 160, 0x1111, enc.encode(pcm.subarray(i * 160, (i + 1) * 160)), i === 0), aPort);
  }
  t.ok(await until(() => callee.rx.length >= 40), 'the callee receives the stream');
  const dec = createDecoder('G722');
  const got = callee.rx.filter((r) => (r.buf[1]! & 0x7f) === 9).map((r) => dec.decode(r.buf.subarray(12)));
  t.ok(got.length >= 40, 'as G.722 (PT 9)');
  const joined = new Int16Array(got.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of got) { joined.set(x, o); o += x.length; }
  t.ok(Math.abs(estimateFreq(joined.subarray(3200), 16000) - 1000) < 10, 'the far side hears 1 kHz');

  // And back: 500 Hz from the callee as G.722 reaches the caller as PCMU.
  const genc = createEncoder('G722');
  const wide = tone(500, 16000, 16000);
  for (let i = 0; i < 50; i++) {
    await callee.send(rtp(9, i, i * 160, 0x2222, genc.encode(wide.subarray(i * 320, (i + 1) * 320)), i === 0), bPort);
  }
  t.ok(await until(() => caller.rx.length >= 40), 'the caller receives the stream');
  const udec = createDecoder('PCMU');
  const back = caller.rx.filter((r) => (r.buf[1]! & 0x7f) === 0).map((r) => udec.decode(r.buf.subarray(12)));
  const bj = new Int16Array(back.reduce((n, x) => n + x.length, 0));
  o = 0;
  for (const x of back) { bj.set(x, o); o += x.length; }
  t.ok(Math.abs(estimateFreq(bj.subarray(1600), 8000) - 500) < 10, 'the caller hears 500 Hz');
});

t.test('bad or unacceptable SDP is an SdpError, not a crash', async (t) => {
  const relay = await createRelay({ rtpPortMin: base + 100, rtpPortMax: base + 140, bindAddress: '127.0.0.1', workers: 0, transcoder: pluginUrl });
  t.teardown(() => relay.close());
  const media = new CallMedia(await relay.createSession(), { address: '127.0.0.1' });
  t.teardown(() => media.close());
  await t.rejects(media.answerOffer({ id: 'A' }, 'garbage', ['PCMU']), { name: 'SdpError' });
  await t.rejects(media.answerOffer({ id: 'A' }, sdp(4000, [[18, 'G729/8000']]), ['PCMU']), { name: 'SdpError' });
  await t.rejects(media.acceptAnswer({ id: 'B' }, sdp(4000, [[0, 'PCMU/8000']])), { name: 'SdpError' }, 'answer without an offer');
});
