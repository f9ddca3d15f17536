// CallMedia: per-leg SDP offer/answer on a relay session; a PCMU caller and a G.722-only callee are bridged through
// the transcoder and a tone crosses in both directions; bad SDP is a typed error (→ 488).
import t from 'tap';
import { createRelay } from '../../../media/relay/index.js';
import { parseSdp, mediaCodecs } from '../../../media/sdp/index.js';
import { createDecoder, createEncoder, opusStatus, parseFmtp } from '../../../codecs/index.js';
import { CallMedia, codecPreferences } from '../../../lib/b2bua/call-media.js';
import { Peer, rtp, until } from '../../media/relay/helpers.js';
import { concat, estimateFreq, tone } from '../../codecs/audio.js';

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

t.test('late offer: our offer for the 2xx puts the codec in use first, the ACK answer sets the leg up', async (t) => {
  const relay = await createRelay({ rtpPortMin: base + 200, rtpPortMax: base + 240, bindAddress: '127.0.0.1', workers: 0, transcoder: pluginUrl });
  t.teardown(() => relay.close());
  const media = new CallMedia(await relay.createSession(), { address: '127.0.0.1' });
  t.teardown(() => media.close());
  const caller = await Peer.open();
  const callee = await Peer.open();
  t.teardown(() => { caller.close(); callee.close(); });
  const A = { id: 'A' };
  const B = { id: 'B' };

  t.equal(media.offerInResponse(A, ['PCMU']), undefined, 'no offer for a leg the relay does not have');
  await t.rejects(media.prepareLeg(A, ['NOPE']), { name: 'SdpError' }, 'no usable codec for the leg: an SdpError (→ 488)');
  await media.prepareLeg(A, ['PCMU', 'G722']);
  t.notOk(media.awaitsAckAnswer(A), 'nothing is awaited before our offer');
  await t.rejects(media.play(A, 'tone:440', new AbortController().signal), /sent no SDP offer/, 'no media into a late-offer leg before its answer');
  const bOffer = parseSdp(await media.createOffer(B, ['G722', 'PCMU']));
  await media.acceptAnswer(B, sdp(callee.port, [[9, 'G722/8000']]));
  await media.bridge(A, B);

  const offer = parseSdp(media.offerInResponse(A, ['PCMU', 'G722'])!);
  t.same(mediaCodecs(offer.media[0]!).map((c) => c.name).filter((n) => n !== 'telephone-event'), ['G722', 'PCMU'], "the other leg's codec first");
  t.ok(media.awaitsAckAnswer(A), 'the answer is awaited in the ACK');
  const neg = await media.answerFromAck(A, sdp(caller.port, [[0, 'PCMU/8000']]));
  t.equal(neg.codec.name, 'PCMU', 'the caller chose PCMU in its ACK');
  t.notOk(media.awaitsAckAnswer(A), 'answered');

  // 500 Hz from the callee as G.722 reaches the caller — at the address its ACK gave — as PCMU.
  const genc = createEncoder('G722');
  const wide = tone(500, 16000, 16000);
  for (let i = 0; i < 50; i++) {
    await callee.send(rtp(9, i, i * 160, 0x3333, genc.encode(wide.subarray(i * 320, (i + 1) * 320)), i === 0), bOffer.media[0]!.port);
  }
  t.ok(await until(() => caller.rx.length >= 40), 'the caller receives the stream');
  const udec = createDecoder('PCMU');
  const bj = concat(caller.rx.filter((r) => (r.buf[1]! & 0x7f) === 0).map((r) => udec.decode(r.buf.subarray(12)).slice()));
  t.ok(Math.abs(estimateFreq(bj.subarray(1600), 8000) - 500) < 10, 'the caller hears 500 Hz');

  // A mid-call re-INVITE without SDP: our offer again (the codec in use first); an ACK without answer is an error.
  const again = parseSdp(media.offerInResponse(A, ['G722', 'PCMU'])!);
  t.equal(mediaCodecs(again.media[0]!)[0]!.name, 'PCMU', "the leg's own codec first");
  await t.rejects(media.answerFromAck(A, ''), { name: 'SdpError' }, 'an ACK without SDP is an SdpError');
  t.notOk(media.awaitsAckAnswer(A), 'and the wait is over');
  t.equal(media.negotiated(A)?.codec.name, 'PCMU', 'the media in use is kept');
  await t.rejects(media.answerFromAck(A, sdp(caller.port, [[0, 'PCMU/8000']])), { name: 'SdpError' }, 'an answer with no offer pending');
});

// ------------------------------------------------------------------ opus band limit (RFC 7587 §6.1)

/** SDP with extra attribute lines (fmtp). */
function sdpWith(port: number, codecs: Array<[number, string]>, extra: string[]): string {
  return sdp(port, codecs).replace('a=sendrecv', [...extra, 'a=sendrecv'].join('\r\n'));
}

/** The fmtp of the first codec named `name` in an SDP's audio m-section, as a record. */
function fmtpOf(text: string, name: string): Record<string, string> | undefined {
  const c = mediaCodecs(parseSdp(text).media[0]!).find((x) => x.name.toLowerCase() === name.toLowerCase());
  return c?.fmtp !== undefined ? parseFmtp(c.fmtp) : c ? {} : undefined;
}

t.test('PCMU caller ⇄ opus callee: the opus offer carries maxplaybackrate/sprop-maxcapturerate=8000; a 1 kHz tone goes PCMU → opus leg → back at 1 kHz', { skip: !opusStatus().available && 'opus binding absent' }, async (t) => {
  const relay = await createRelay({ rtpPortMin: base + 300, rtpPortMax: base + 340, bindAddress: '127.0.0.1', workers: 0, transcoder: pluginUrl });
  t.teardown(() => relay.close());
  const media = new CallMedia(await relay.createSession(), { address: '127.0.0.1' });
  t.teardown(() => media.close());
  const caller = await Peer.open();
  const callee = await Peer.open();
  t.teardown(() => { caller.close(); callee.close(); });
  const A = { id: 'A' };
  const B = { id: 'B' };
  const answer = await media.answerOffer(A, sdp(caller.port, [[0, 'PCMU/8000']]), ['PCMU', 'opus']);
  const aPort = parseSdp(answer).media[0]!.port;
  const offer = await media.createOffer(B, ['opus', 'PCMU'], 'PCMU');
  const f = fmtpOf(offer, 'opus')!;
  t.equal(f.maxplaybackrate, '8000', 'maxplaybackrate=8000');
  t.equal(f['sprop-maxcapturerate'], '8000', 'sprop-maxcapturerate=8000');
  t.equal(f.useinbandfec, '1', 'the registry fmtp is kept');
  const bPort = parseSdp(offer).media[0]!.port;
  // the callee (a phone honouring our fmtp) answers opus only
  await media.acceptAnswer(B, sdpWith(callee.port, [[111, 'opus/48000/2']], ['a=fmtp:111 useinbandfec=1']));
  await media.bridge(A, B);

  // 1 kHz from the caller as PCMU; the callee decodes the opus leg at 48 kHz
  const uenc = createEncoder('PCMU');
  const pcm = tone(1000, 8000, 8000);
  for (let i = 0; i < 50; i++) await caller.send(rtp(0, i, i * 160, 0x1111, uenc.encode(pcm.subarray(i * 160, (i + 1) * 160)), i === 0), aPort);
  t.ok(await until(() => callee.rx.length >= 45), 'the callee receives the stream');
  const odec = createDecoder('opus');
  const heard = concat(callee.rx.filter((r) => (r.buf[1]! & 0x7f) === 111).map((r) => odec.decode(r.buf.subarray(12)).slice()));
  t.ok(Math.abs(estimateFreq(heard.subarray(9600), 48000) - 1000) < 10, `the callee hears 1 kHz (${estimateFreq(heard.subarray(9600), 48000).toFixed(1)})`);

  // the callee echoes what it heard, coded as the offer asked (its encoder honours maxplaybackrate=8000)
  const oenc = createEncoder('opus', { ...f, complexity: 10 });
  let narrow = 0;
  for (let i = 0; (i + 1) * 960 <= heard.length; i++) {
    const p = oenc.encode(heard.subarray(i * 960, (i + 1) * 960));
    if (p[0]! >> 3 < 4 || ((p[0]! >> 3) >= 16 && (p[0]! >> 3) < 20)) narrow++;
    await callee.send(rtp(111, i, i * 960, 0x2222, p, i === 0), bPort);
  }
  t.equal(narrow, Math.floor(heard.length / 960), 'every echoed packet is narrow band');
  t.ok(await until(() => caller.rx.length >= 40), 'the caller receives the echo');
  const udec = createDecoder('PCMU');
  const back = concat(caller.rx.filter((r) => (r.buf[1]! & 0x7f) === 0).map((r) => udec.decode(r.buf.subarray(12)).slice()));
  t.ok(Math.abs(estimateFreq(back.subarray(2400), 8000) - 1000) < 10, `the caller hears 1 kHz back (${estimateFreq(back.subarray(2400), 8000).toFixed(1)})`);

  // a re-offer from the transcoded callee is answered with the limit merged into its echoed fmtp
  const re = await media.reoffer(B, sdpWith(callee.port, [[111, 'opus/48000/2']], ['a=fmtp:111 useinbandfec=1;maxplaybackrate=48000']), ['opus', 'PCMU']);
  t.same(fmtpOf(re, 'opus'), { useinbandfec: '1', maxplaybackrate: '8000', 'sprop-maxcapturerate': '8000' }, 're-offer answer narrowed');
});

t.test('G.722 caller: a callee offer limits opus to 16000', async (t) => {
  const relay = await createRelay({ rtpPortMin: base + 400, rtpPortMax: base + 440, bindAddress: '127.0.0.1', workers: 0, transcoder: pluginUrl });
  t.teardown(() => relay.close());
  const media = new CallMedia(await relay.createSession(), { address: '127.0.0.1' });
  t.teardown(() => media.close());
  await media.answerOffer({ id: 'A' }, sdp(4000, [[9, 'G722/8000']]), ['G722', 'PCMU']);
  const f = fmtpOf(await media.createOffer({ id: 'B' }, ['opus', 'G722'], 'G722'), 'opus');
  t.ok(!f || (f.maxplaybackrate === '16000' && f['sprop-maxcapturerate'] === '16000'), `opus fmtp ${JSON.stringify(f)}`);
  t.ok(f || !opusStatus().available, 'opus offered when available');
});

t.test('opus caller ⇄ opus callee (pass-through): no band limit in any SDP; an opus caller bridged to PCMU gets it on its re-offer', { skip: !opusStatus().available && 'opus binding absent' }, async (t) => {
  const relay = await createRelay({ rtpPortMin: base + 500, rtpPortMax: base + 540, bindAddress: '127.0.0.1', workers: 0, transcoder: pluginUrl });
  t.teardown(() => relay.close());
  const media = new CallMedia(await relay.createSession(), { address: '127.0.0.1' });
  t.teardown(() => media.close());
  const opusOffer = sdpWith(4000, [[111, 'opus/48000/2'], [0, 'PCMU/8000']], ['a=fmtp:111 useinbandfec=1']);
  const A = { id: 'A' };
  const answer = await media.answerOffer(A, opusOffer, ['opus', 'PCMU']);
  t.same(fmtpOf(answer, 'opus'), { useinbandfec: '1' }, "the caller's answer echoes its fmtp, nothing added");
  const B = { id: 'B' };
  const offer = await media.createOffer(B, ['opus', 'PCMU'], 'opus');
  const f = fmtpOf(offer, 'opus')!;
  t.equal(f.maxplaybackrate, undefined, 'no maxplaybackrate towards an opus callee of an opus caller');
  t.equal(f['sprop-maxcapturerate'], undefined, 'no sprop-maxcapturerate');
  await media.acceptAnswer(B, sdpWith(4002, [[111, 'opus/48000/2']], ['a=fmtp:111 useinbandfec=1']));
  await media.bridge(A, B);
  t.same(fmtpOf(await media.reoffer(A, opusOffer, ['opus', 'PCMU']), 'opus'), { useinbandfec: '1' }, 're-offer of the pass-through caller: unchanged');
  t.same(fmtpOf(await media.reoffer(B, opusOffer, ['opus', 'PCMU']), 'opus'), { useinbandfec: '1' }, 're-offer of the pass-through callee: unchanged');

  // the same caller in another call whose callee only takes PCMU: transcoded, so its re-offer is narrowed
  const media2 = new CallMedia(await relay.createSession(), { address: '127.0.0.1' });
  t.teardown(() => media2.close());
  await media2.answerOffer(A, opusOffer, ['opus', 'PCMU']);
  await media2.createOffer(B, ['PCMU'], 'opus');
  await media2.acceptAnswer(B, sdp(4004, [[0, 'PCMU/8000']]));
  await media2.bridge(A, B);
  t.same(fmtpOf(await media2.reoffer(A, opusOffer, ['opus', 'PCMU']), 'opus'),
    { useinbandfec: '1', maxplaybackrate: '8000', 'sprop-maxcapturerate': '8000' }, 'transcoded caller: narrowed on its re-offer');
});

t.test('late offer: our offer in the 2xx limits opus to the rate of the other leg (PCMU), not when that leg is opus', { skip: !opusStatus().available && 'opus binding absent' }, async (t) => {
  const relay = await createRelay({ rtpPortMin: base + 600, rtpPortMax: base + 640, bindAddress: '127.0.0.1', workers: 0, transcoder: pluginUrl });
  t.teardown(() => relay.close());
  for (const [calleeCodec, want] of [['PCMU/8000', '8000'], ['opus/48000/2', undefined]] as const) {
    const media = new CallMedia(await relay.createSession(), { address: '127.0.0.1' });
    t.teardown(() => media.close());
    const A = { id: 'A' };
    const B = { id: 'B' };
    await media.prepareLeg(A, ['opus', 'PCMU']);
    await media.createOffer(B, ['opus', 'PCMU']);
    await media.acceptAnswer(B, sdp(4010, [[calleeCodec.startsWith('opus') ? 111 : 0, calleeCodec]]));
    await media.bridge(A, B);
    const f = fmtpOf(media.offerInResponse(A, ['opus', 'PCMU'])!, 'opus')!;
    t.equal(f.maxplaybackrate, want, `callee ${calleeCodec}: maxplaybackrate ${String(want)}`);
    t.equal(f['sprop-maxcapturerate'], want, `callee ${calleeCodec}: sprop-maxcapturerate ${String(want)}`);
  }
});
