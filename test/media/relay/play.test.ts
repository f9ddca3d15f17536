import t from 'tap';
import { createRelay } from '../../../media/relay/index.js';
import { ULAW_DECODE, ALAW_SILENCE } from '../../../media/play/index.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeWav } from '../../../media/play/index.js';
import { Peer, rtp, hdr, randomRange, PCMU, PCMA, sibling } from './helpers.js';

t.test('ringback into the caller leg stops when real media starts; the output stream stays continuous', async (t) => {
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 1 });
  const a = await Peer.open();
  const b = await Peer.open();
  t.teardown(async () => { a.close(); b.close(); await relay.close(); });
  const s = await relay.createSession();
  await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU] });
  const lb = await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMU] });
  await s.bridge('A', 'B');
  const done = new Promise<{ reason: string }>((resolve) => s.on('playbackComplete', resolve));
  const { durationMs } = await s.play('A', { url: 'file:/uk.wav', loop: true });
  t.equal(durationMs, 3000);
  await a.waitFor(5);
  const played = a.rx.length;
  t.ok(played >= 5);
  // the first frames of uk.wav are tone: non-silent µ-law
  const energy = a.rx[0]!.buf.subarray(12).reduce((acc, x) => acc + Math.abs(ULAW_DECODE[x]!), 0);
  t.ok(energy > 160 * 500, 'tone audible in the first frame');
  t.ok(hdr(a.rx[0]!.buf).marker, 'first ringback packet has the marker');
  // callee answers with media
  for (let i = 0; i < 3; i++) await b.send(rtp(0, 40000 + i, 12345 + i * 160, 0xcafe, 160), lb.localPort);
  const ev = await done;
  t.equal(ev.reason, 'media');
  await a.waitFor(played + 3);
  const h = a.rx.map((r) => hdr(r.buf));
  t.ok(h.every((x) => x.ssrc === h[0]!.ssrc), 'one SSRC across ringback → media');
  t.ok(h.every((x, i) => i === 0 || x.seq === ((h[i - 1]!.seq + 1) & 0xffff)), 'continuous sequence');
  t.ok(h.every((x, i) => i === 0 || ((x.ts - h[i - 1]!.ts) >>> 0) >= 160), 'timestamps move forward');
  const firstRelayed = h.findIndex((x, i) => i > 0 && x.marker);
  t.ok(firstRelayed > 0 && a.rx[firstRelayed]!.buf.subarray(12).equals(Buffer.alloc(160, 40000 & 0xff)), 'relayed media follows, marked');
});

t.test('stopPlay ends an announcement; bad URLs are typed errors; an unsupported leg codec is a transcoder error', async (t) => {
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 0, transcoder: sibling('g711-test-transcoder') });
  const a = await Peer.open();
  t.teardown(async () => { a.close(); await relay.close(); });
  const s = await relay.createSession();
  await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMA] });
  await t.rejects(s.play('A', { url: 'file:/nope.wav' }), { code: 'DPBX_ERR_RELAY_PLAY' });
  await t.rejects(s.play('A', { url: 'http://example.com/x.wav' }), { code: 'DPBX_ERR_RELAY_PLAY' });
  const done = new Promise<{ reason: string; durationMs: number }>((resolve) => s.on('playbackComplete', resolve));
  await s.play('A', { url: 'tone:eu' });
  await a.waitFor(3);
  await s.stopPlay('A');
  const ev = await done;
  t.equal(ev.reason, 'stopped');
  t.ok(a.rx.length >= 3 && a.rx.every((r) => hdr(r.buf).pt === 8 && r.buf.length === 172), 'PCMA frames');
  t.ok(a.rx.some((r) => r.buf.subarray(12).some((x) => x !== ALAW_SILENCE)), 'EU tone in the first second');

  // a G.722 leg gets L16 frames through the plugin; the test plugin cannot encode G722 → typed error
  await s.addLeg({ id: 'W', remote: { address: '127.0.0.1', port: a.port }, codecs: [{ pt: 9, name: 'G722', rate: 8000 }] });
  await t.rejects(s.play('W', { url: 'tone:uk' }), { code: 'DPBX_ERR_RELAY_TRANSCODER' });
});

t.test('a file from MEDIA_PATH plays to the end (playbackComplete "end"); a non-G.711 leg gets it through the plugin', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-play-'));
  const pcm = new Int16Array(1600); // 100 ms at 16 kHz stereo-less mono, resampled to 8 kHz → 5 frames
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin(i / 5));
  writeFileSync(join(dir, 'short.wav'), writeWav(pcm, { sampleRate: 16000 }));
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 0, mediaPath: dir, transcoder: sibling('g711-test-transcoder') });
  const a = await Peer.open();
  const w = await Peer.open();
  t.teardown(async () => { a.close(); w.close(); await relay.close(); });
  const s = await relay.createSession();
  await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU] });
  await s.addLeg({ id: 'W', remote: { address: '127.0.0.1', port: w.port }, codecs: [{ pt: 97, name: 'X-TEST', rate: 8000 }] });
  const ended: { legId: string; reason: string; durationMs: number }[] = [];
  const both = new Promise<void>((resolve) => s.on('playbackComplete', (e) => { ended.push(e); if (ended.length === 2) resolve(); }));
  t.equal((await s.play('A', { url: 'file:short.wav' })).durationMs, 100);
  await s.play('W', { url: 'file:short.wav' });
  await both;
  t.same(ended.map((e) => [e.reason, e.durationMs]).sort(), [['end', 100], ['end', 100]]);
  await a.waitFor(5);
  await w.waitFor(5);
  t.equal(a.rx.length, 5);
  t.equal(w.rx.length, 5);
  t.ok(w.rx.every((r) => hdr(r.buf).pt === 97 && r.buf.length === 172), 'plugin output framed for the X-TEST leg');
  t.ok(w.rx.every((r, i) => r.buf.subarray(12).equals(a.rx[i]!.buf.subarray(12))), 'same audio as the built-in µ-law path');
});
