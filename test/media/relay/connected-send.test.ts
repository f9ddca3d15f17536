/**
 * node:dgram I/O (DPBX_RELAY_IO=dgram or no native addon): RTP towards a latched source leaves a second socket on
 * the leg's port, connected to that source (DgramEndpoint.tx):
 * checked here with real loopback sockets — the reply still comes from the leg's port (symmetric RTP), the
 * kernel hands the latched source's packets to the connected socket and everybody else's to the unconnected one
 * (so strangers are still seen and counted, and a source that moves still re-latches), a re-INVITE to a new
 * address disconnects until the new source is heard, and a port somebody else holds with SO_REUSEADDR is refused
 * (that last one with both I/O implementations: the native one binds once, exclusively).
 */
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { MediaSession, type SessionContext } from '../../../media/relay/media-session.js';
import { RelayError } from '../../../media/relay/index.js';
import { realClock } from '../../../media/play/index.js';
import { DgramIo, getUdpIo, nativeIoStatus, type DgramEndpoint, type UdpIo } from '../../../media/relay/udp-io.js';
import type { Leg } from '../../../media/relay/leg.js';
import { Peer, rtp, randomRange, PCMU, te, until } from './helpers.js';

function ctx(io: UdpIo = new DgramIo()): SessionContext {
  return {
    bindAddress: '127.0.0.1', advertisedAddress: '127.0.0.1', mediaPath: undefined, socketBufferBytes: undefined,
    transcoderFactory: async () => null, emit: () => undefined, logger: undefined, clock: realClock, rtcpIntervalMs: 0, io,
  };
}
const ep = (leg: Leg) => leg.rtp as DgramEndpoint;

t.test('RTP to a latched source goes out on a connected socket from the leg port; strangers, re-latch and re-INVITE still work', async (t) => {
  const range = randomRange(8);
  const s = new MediaSession('conn', ctx());
  const a = await Peer.open();
  const b = await Peer.open();
  const b2 = await Peer.open();
  const b3 = await Peer.open();
  const c = await Peer.open();
  const stranger = await Peer.open();
  t.teardown(async () => {
    for (const p of [a, b, b2, b3, c, stranger]) p.close();
    await s.close();
  });
  const portA = range.rtpPortMin;
  const portB = range.rtpPortMin + 2;
  await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU, te(101)], rtcpMux: true }, portA);
  await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMU, te(101)], rtcpMux: true }, portB);
  await s.link('A', 'B');
  await s.link('B', 'A');
  const legB = s.legs.get('B')!;
  t.equal(ep(legB).txAddress, null, 'not connected before the source is heard');
  let onTx = 0;
  ep(legB).tx!.on('message', () => onTx++);

  // B's media really comes from b2 (NAT): latch, connect
  await b2.send(rtp(0, 1, 160, 0xbbbb), portB);
  await a.waitFor(1);
  t.equal(ep(legB).txAddress, '127.0.0.1');
  t.equal(ep(legB).txPort, b2.port, 'connected to the latched source');
  await a.send(rtp(0, 10, 1600, 0xaaaa), portA);
  await b2.waitFor(1);
  t.equal(b2.rx.length, 1, 'A → B reaches the latched source');
  t.equal(b2.rx[0]!.port, portB, 'and comes from the leg port (symmetric RTP)');
  t.equal(b.rx.length, 0, 'not the SDP port');

  // the kernel prefers the connected socket for the latched source's datagrams
  const txBefore = onTx;
  for (let i = 0; i < 3; i++) await b2.send(rtp(0, 2 + i, 320 + 160 * i, 0xbbbb), portB);
  await a.waitFor(4);
  t.equal(onTx - txBefore, 3, "the latched source's packets arrive on the connected socket");

  // a stranger still reaches the unconnected socket: seen and counted, not forwarded
  for (let i = 0; i < 4; i++) await stranger.send(rtp(0, 100 + i, 0, 0x5555), portB);
  t.ok(await until(() => legB.drops.stranger === 4), 'strangers counted');
  t.equal(a.rx.length, 4, 'stranger packets not forwarded');

  // the same SSRC from a new port (NAT rebinding) re-latches and reconnects
  await b3.send(rtp(0, 5, 960, 0xbbbb), portB);
  await a.waitFor(5);
  t.equal(legB.relatches, 1);
  t.equal(ep(legB).txPort, b3.port, 'reconnected to the new source');
  await a.send(rtp(0, 11, 1760, 0xaaaa), portA);
  await b3.waitFor(1);
  t.equal(b3.rx.length, 1, 'A → B follows the move');
  t.equal(b3.rx[0]!.port, portB);
  t.equal(b2.rx.length, 1, 'the old source gets nothing more');

  // re-INVITE: new address → disconnected, sent to the SDP address until the new source answers
  await s.updateLeg('B', { remote: { address: '127.0.0.1', port: c.port } });
  t.equal(ep(legB).txAddress, null, 'disconnected after the SDP moved');
  await a.send(rtp(0, 12, 1920, 0xaaaa), portA);
  await c.waitFor(1);
  t.equal(c.rx.length, 1, 'A → B goes to the announced address');
  t.equal(c.rx[0]!.port, portB);
  await c.send(rtp(0, 1, 0, 0xcccc), portB);
  await a.waitFor(6);
  t.equal(ep(legB).txPort, c.port, 'connected again once the new source is heard');
  t.equal(legB.drops.sendError, 0, 'no send errors');
});

const ios: [string, UdpIo][] = [['dgram', new DgramIo()]];
if (nativeIoStatus() === 'loaded') ios.push(['native', getUdpIo('native')]);
for (const [mode, io] of ios) t.test(`${mode}: a port another process holds (even with SO_REUSEADDR) is refused as busy`, async (t) => {
  const range = randomRange(2);
  const port = range.rtpPortMin;
  const foreign: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((r) => foreign.bind(port, '127.0.0.1', () => r()));
  t.teardown(() => foreign.close());
  const s = new MediaSession('busy', ctx(io));
  t.teardown(() => s.close());
  const err = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: 9 }, codecs: [PCMU], rtcpMux: true }, port).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof RelayError, 'typed error');
  t.equal((err as RelayError).code, 'DPBX_ERR_RELAY_BIND');
  t.match((err as RelayError).message, /in use/);
});
