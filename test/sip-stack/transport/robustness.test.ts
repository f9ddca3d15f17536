/**
 * Bad input never escapes the transport: random and mutated datagrams, garbage on streams, an endless header.
 * Each bad input is answered or counted, and the next good message is still delivered.
 */
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { createTransportLayer } from '../../../sip-stack/transport/transport-layer.js';
import type { TransportCounters } from '../../../sip-stack/transport/counters.js';
import { messageWithCallId, nextClose, optionsRequest, readUntil, udpClient } from './helpers.js';

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function outcomes(c: TransportCounters): number {
  return c.received + c.errorResponsesSent + c.keepAlivePongs + Object.values(c.drops).reduce((a, b) => a + b, 0);
}

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

t.test('random and mutated datagrams: every one accounted for, never a crash, good OPTIONS delivered after', async (t) => {
  const layer = createTransportLayer({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] });
  await layer.listen();
  t.teardown(() => layer.close());
  const port = layer.listener('udp')!.port;
  const client = await udpClient(4);
  t.teardown(() => client.close());
  const rand = rng(4475);
  const good = Buffer.from(optionsRequest({ body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n' }));
  const N = 600;
  for (let i = 0; i < N; i++) {
    let d: Buffer;
    if (i % 2 === 0) {
      d = Buffer.alloc(1 + Math.floor(rand() * 1400));
      for (let k = 0; k < d.length; k++) d[k] = Math.floor(rand() * 256);
    } else {
      d = Buffer.from(good);
      const flips = 1 + Math.floor(rand() * 8);
      for (let k = 0; k < flips; k++) d[Math.floor(rand() * d.length)] = Math.floor(rand() * 256);
      if (rand() < 0.3) d = d.subarray(0, Math.floor(rand() * d.length) + 1);
    }
    client.sock.send(d, port, '127.0.0.1');
    if (i % 25 === 24) {
      // A marker every 25 datagrams keeps the receive buffer from overflowing (UDP would silently lose some).
      const m = messageWithCallId(layer, `mark-${i}`);
      client.sock.send(optionsRequest({ callId: `mark-${i}` }), port, '127.0.0.1');
      await m;
    }
  }
  const marker = messageWithCallId(layer, 'after-garbage');
  client.sock.send(optionsRequest({ callId: 'after-garbage' }), port, '127.0.0.1');
  await marker;
  const sent = N + N / 25 + 1;
  t.equal(layer.counters.datagramsReceived, sent, 'no datagram lost on loopback');
  t.equal(outcomes(layer.counters), layer.counters.datagramsReceived, 'each datagram: delivered, answered or counted');
  t.ok(layer.counters.drops.unparseable > 0, 'unparseable datagrams counted');
  t.ok(layer.counters.parseErrors > 0);
});

t.test('TCP: a peer sending an endless header is cut off at the limit and counted; the listener keeps working', async (t) => {
  const layer = createTransportLayer({ listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }], limits: { maxHeaderBytes: 16 * 1024 } });
  await layer.listen();
  t.teardown(() => layer.close());
  const port = layer.listener('tcp')!.port;
  const sock = await tcp(port);
  sock.on('error', () => {});
  const closed = nextClose(layer);
  const sockClosed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.write('OPTIONS sip:pbx@example.com SIP/2.0\r\nX-Endless: ');
  const chunk = 'a'.repeat(4096);
  let open = true;
  sock.once('close', () => (open = false));
  while (open) {
    if (!sock.write(chunk)) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  }
  await sockClosed;
  t.equal((await closed).reason, 'frame-limit');
  t.equal(layer.counters.drops['frame-limit'], 1);
  t.equal(layer.connectionList.length, 0);

  const good = await tcp(port);
  t.teardown(() => good.destroy());
  const arrived = messageWithCallId(layer, 'after-endless');
  good.write(optionsRequest({ transport: 'TCP', callId: 'after-endless' }));
  await arrived;
  t.pass('next connection delivered');
});

t.test('TCP: a malformed but readable request gets 400 on its connection, which stays usable', async (t) => {
  const layer = createTransportLayer({ listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }] });
  await layer.listen();
  t.teardown(() => layer.close());
  const sock = await tcp(layer.listener('tcp')!.port);
  t.teardown(() => sock.destroy());
  const bad = optionsRequest({ transport: 'TCP', callId: 'bad-cseq' }).replace(/CSeq: (\d+) OPTIONS/, 'CSeq: $1 INVITE');
  const reply = readUntil(sock, (s) => s.includes('\r\n\r\n'));
  sock.write(bad);
  const text = await reply;
  t.match(text, /^SIP\/2\.0 400 [^\r]*CSeq/, 'precise reason from the message layer');
  t.match(text, /Call-ID: bad-cseq/);
  t.equal(layer.counters.errorResponsesSent, 1);
  const arrived = messageWithCallId(layer, 'good-after-bad');
  sock.write(optionsRequest({ transport: 'TCP', callId: 'good-after-bad' }));
  const { source } = await arrived;
  t.equal(source.port, sock.localPort, 'same connection');
});

t.test('TCP: random garbage closes or is dropped, never crashes; missing Content-Length closes the connection', async (t) => {
  const layer = createTransportLayer({ listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }] });
  await layer.listen();
  t.teardown(() => layer.close());
  const port = layer.listener('tcp')!.port;
  const rand = rng(3261);
  for (let i = 0; i < 20; i++) {
    const sock = await tcp(port);
    sock.on('error', () => {});
    const g = Buffer.alloc(1 + Math.floor(rand() * 3000));
    for (let k = 0; k < g.length; k++) g[k] = Math.floor(rand() * 256);
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.end(g);
    await closed;
  }
  const noCl = await tcp(port);
  noCl.on('error', () => {});
  const closed = nextClose(layer);
  noCl.write(optionsRequest({ transport: 'TCP' }).replace(/Content-Length: \d+\r\n/, ''));
  t.equal((await closed).reason, 'frame-error', 'RFC 3261 §18.3: Content-Length is mandatory on streams');
  noCl.destroy();
  t.equal(layer.connectionList.length, 0);
  const good = await tcp(port);
  t.teardown(() => good.destroy());
  const arrived = messageWithCallId(layer, 'after-tcp-garbage');
  good.write(optionsRequest({ transport: 'TCP', callId: 'after-tcp-garbage' }));
  await arrived;
  t.pass('still delivering');
});
