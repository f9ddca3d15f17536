import t, { type Test } from 'tap';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { createTransportLayer, type TransportLayer } from '../../../sip-stack/transport/transport-layer.js';
import { responseTarget } from '../../../sip-stack/transport/response-target.js';
import { serializeMessage, topVia, type SipMessage } from '../../../sip-stack/transport/message-adapter.js';
import { FakeClock, nextClose, nextMessage, okFor, optionsRequest, readUntil, udpClient } from './helpers.js';

async function ipv6Loopback(): Promise<boolean> {
  const s = createSocket('udp6');
  return new Promise((resolve) => {
    s.once('error', () => { s.close(); resolve(false); });
    s.bind(0, '::1', () => { s.close(); resolve(true); });
  });
}

async function started(t: Test, opts: Parameters<typeof createTransportLayer>[0]): Promise<TransportLayer> {
  const layer = createTransportLayer(opts);
  await layer.listen();
  t.teardown(() => layer.close());
  return layer;
}

function tcpClient(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
}

t.test('UDP IPv4: request delivered with its source, Via stamped (rport), response reaches the client', async (t) => {
  const layer = await started(t, { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] });
  const bound = layer.listener('udp', 4)!;
  t.ok(bound.port > 0, 'bound port readable after listen()');
  const client = await udpClient(4);
  t.teardown(() => client.close());
  const req = optionsRequest({ sentBy: '10.1.2.3:5062', viaParams: ';rport' });
  const got = nextMessage(layer);
  client.sock.send(req, bound.port, '127.0.0.1');
  const { message, source } = await got;
  t.match(source, { transport: 'udp', address: '127.0.0.1', port: client.port, localAddress: '127.0.0.1', localPort: bound.port });
  t.equal(source.connectionId, undefined);
  const via = topVia(message)!;
  t.equal(via.received, '127.0.0.1', 'received added: sent-by differs from source (RFC 3261 §18.2.1)');
  t.equal(via.rport, client.port, 'rport filled with the source port (RFC 3581)');
  const target = responseTarget(via, source);
  t.same(target, { transport: 'udp', address: '127.0.0.1', port: client.port });
  const reply = client.next();
  const r = await layer.send(Buffer.from(okFor(req)), target);
  t.ok(r.ok, 'send ok');
  t.match(await reply, /^SIP\/2\.0 200 OK\r\n/);
  t.equal(layer.counters.received, 1);
  t.equal(layer.counters.sent, 1);
});

t.test('UDP IPv4: no received when sent-by equals the source address and no rport asked', async (t) => {
  const layer = await started(t, { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] });
  const client = await udpClient(4);
  t.teardown(() => client.close());
  const got = nextMessage(layer);
  client.sock.send(optionsRequest({ sentBy: `127.0.0.1:${client.port}` }), layer.listener('udp')!.port, '127.0.0.1');
  const via = topVia((await got).message)!;
  t.equal(via.received, undefined);
  t.equal(via.rport, undefined);
});

const hasV6 = await ipv6Loopback();

t.test('UDP IPv6 round trip on ::1', { skip: hasV6 ? false : 'IPv6 loopback ::1 is not available on this machine' }, async (t) => {
  const layer = await started(t, { listen: [{ transport: 'udp', host: '::1', port: 0 }, { transport: 'udp', host: '127.0.0.1', port: 0 }] });
  const bound = layer.listener('udp', 6)!;
  t.equal(bound.address, '::1');
  const client = await udpClient(6);
  t.teardown(() => client.close());
  const req = optionsRequest({ sentBy: '[2001:db8::5]:5070', viaParams: ';rport' });
  const got = nextMessage(layer);
  client.sock.send(req, bound.port, '::1');
  const { message, source } = await got;
  t.match(source, { transport: 'udp', address: '::1', port: client.port, localAddress: '::1', localPort: bound.port });
  t.equal(topVia(message)!.received, '::1');
  const reply = client.next();
  const r = await layer.send(Buffer.from(okFor(req)), responseTarget(topVia(message)!, source));
  t.ok(r.ok);
  t.match(await reply, /^SIP\/2\.0 200 OK/);
});

t.test('TCP: round trip, response over the same connection, later request reuses the flow', async (t) => {
  const layer = await started(t, { listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }] });
  const port = layer.listener('tcp')!.port;
  const client = await tcpClient(port);
  t.teardown(() => client.destroy());
  const req = optionsRequest({ transport: 'TCP', sentBy: 'client.invalid:5060' });
  const got = nextMessage(layer);
  client.write(req);
  const { message, source } = await got;
  t.equal(source.transport, 'tcp');
  t.equal(source.address, '127.0.0.1');
  t.equal(source.port, client.localPort);
  t.equal(source.localPort, port);
  t.match(source.connectionId, /^tcp-/);
  t.equal(topVia(message)!.received, '127.0.0.1', 'domain sent-by → received');
  const target = responseTarget(topVia(message)!, source);
  t.equal(target.connectionId, source.connectionId);
  const reply = readUntil(client, (s) => s.includes('200 OK'));
  const r = await layer.send(Buffer.from(okFor(req)), target);
  t.ok(r.ok && r.connectionId === source.connectionId, 'sent on the inbound connection');
  await reply;

  // A request to the registered flow (address + source port) with no connectionId reuses the connection.
  const again = readUntil(client, (s) => s.includes('NOTIFY sip:'));
  const r2 = await layer.send(Buffer.from('NOTIFY sip:alice@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n'), { transport: 'tcp', address: '127.0.0.1', port: client.localPort! });
  t.ok(r2.ok);
  await again;
  t.equal(layer.counters.connectionsOpened, 0, 'no new connection was opened');
  t.equal(layer.counters.connectionsAccepted, 1);
});

t.test('TCP framing: 1-byte writes, two coalesced messages, CRLFCRLF ping answered with CRLF pong', async (t) => {
  const layer = await started(t, { listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }] });
  const client = await tcpClient(layer.listener('tcp')!.port);
  t.teardown(() => client.destroy());
  client.setNoDelay(true);

  const one = optionsRequest({ transport: 'TCP', callId: 'split-1', body: 'v=0\r\n' });
  const got = nextMessage(layer);
  for (let i = 0; i < one.length; i++) {
    client.write(one.slice(i, i + 1));
    if (i % 64 === 0) await new Promise((r) => setImmediate(r));
  }
  const split = await got;
  t.match(serializeMessage(split.message).toString('latin1'), /Call-ID: split-1/);
  t.equal(split.message.body.toString(), 'v=0\r\n', 'body framed by Content-Length');

  const seen: string[] = [];
  const two = new Promise<void>((resolve) => {
    const on = (m: SipMessage) => {
      seen.push(serializeMessage(m).toString('latin1'));
      if (seen.length === 2) {
        layer.off('message', on);
        resolve();
      }
    };
    layer.on('message', on);
  });
  client.write(optionsRequest({ transport: 'TCP', callId: 'coalesced-a' }) + optionsRequest({ transport: 'TCP', callId: 'coalesced-b' }));
  await two;
  t.match(seen[0], /coalesced-a/);
  t.match(seen[1], /coalesced-b/);

  const pong = readUntil(client, (s) => s === '\r\n');
  client.write('\r\n\r\n');
  t.equal(await pong, '\r\n', 'single CRLF pong (RFC 5626 §4.4.1)');
  t.equal(layer.counters.keepAlivePings, 1);
});

t.test('TCP outbound: send() opens one connection, reuses it, connectionId targets it', async (t) => {
  const accepted: Socket[] = [];
  let received = '';
  const server = createServer((s) => {
    accepted.push(s);
    s.on('data', (b) => (received += b.toString('latin1')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => { for (const s of accepted) s.destroy(); server.close(() => r()); }));
  const port = (server.address() as { port: number }).port;
  const layer = await started(t, { listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }] });
  const opened = new Promise((r) => layer.once('connection', r));
  const r1 = await layer.send(Buffer.from(optionsRequest({ transport: 'TCP', callId: 'out-1' })), { transport: 'tcp', address: '127.0.0.1', port });
  t.ok(r1.ok);
  await opened;
  const r2 = await layer.send(Buffer.from(optionsRequest({ transport: 'TCP', callId: 'out-2' })), { transport: 'tcp', address: '127.0.0.1', port });
  t.ok(r2.ok);
  const r3 = await layer.send(Buffer.from(optionsRequest({ transport: 'TCP', callId: 'out-3' })), { transport: 'tcp', address: '192.0.2.99', port: 9, connectionId: r1.ok ? r1.connectionId! : '' });
  t.ok(r3.ok, 'connectionId wins over address/port');
  while (!received.includes('out-3')) await new Promise((r) => setTimeout(r, 5));
  t.equal(accepted.length, 1, 'the peer saw exactly one connection');
  t.match(received, /out-1[\s\S]*out-2[\s\S]*out-3/);
  t.equal(layer.counters.connectionsOpened, 1);
  t.equal(r1.ok && r2.ok && r1.connectionId === r2.connectionId, true);

  // A message from the peer on that connection is delivered with the same connectionId.
  const got = nextMessage(layer);
  accepted[0]!.write(okFor(optionsRequest({ transport: 'TCP' })));
  const { source } = await got;
  t.equal(source.connectionId, r1.ok ? r1.connectionId : 'x');
});

t.test('TCP outbound: connect failure resolves {ok:false}, never throws, is counted', async (t) => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const deadPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const layer = await started(t, { listen: [] });
  const r = await layer.send(Buffer.from(optionsRequest({ transport: 'TCP' })), { transport: 'tcp', address: '127.0.0.1', port: deadPort });
  t.equal(r.ok, false);
  t.equal(!r.ok && r.error.code, 'DPBX_ERR_TRANSPORT_CONNECT');
  t.equal(layer.counters.connectFailures, 1);
  const nc = await layer.send(Buffer.from('x'), { transport: 'tcp', address: '127.0.0.1', port: deadPort, noConnect: true });
  t.equal(!nc.ok && nc.error.code, 'DPBX_ERR_TRANSPORT_NO_CONNECTION');
  const nl = await layer.send(Buffer.from('x'), { transport: 'udp', address: '127.0.0.1', port: deadPort });
  t.equal(!nl.ok && nl.error.code, 'DPBX_ERR_TRANSPORT_NO_LISTENER');
});

t.test('idle timeout closes an unused TCP connection (virtual time)', async (t) => {
  const clock = new FakeClock();
  const layer = await started(t, { listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }], clock, idleTimeoutMs: 60_000, idleSweepIntervalMs: 1_000 });
  const client = await tcpClient(layer.listener('tcp')!.port);
  t.teardown(() => client.destroy());
  const got = nextMessage(layer);
  client.write(optionsRequest({ transport: 'TCP' }));
  await got;
  t.equal(layer.connectionList.length, 1);
  clock.advance(30_000);
  t.equal(layer.connectionList.length, 1, 'still open before the timeout');
  const closed = nextClose(layer);
  const clientClosed = new Promise((r) => client.once('close', r));
  clock.advance(31_000);
  t.equal((await closed).reason, 'idle-timeout');
  await clientClosed;
  t.equal(layer.counters.connectionsIdleClosed, 1);
  t.equal(layer.connectionList.length, 0);
});

t.test('back-pressure: a peer that stops reading gets writes refused and counted, no unbounded buffering', async (t) => {
  const layer = await started(t, { listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }], maxWriteQueueBytes: 256 * 1024 });
  const client = await tcpClient(layer.listener('tcp')!.port);
  t.teardown(() => client.destroy());
  client.pause();
  const got = nextMessage(layer);
  client.write(optionsRequest({ transport: 'TCP' }));
  const { source } = await got;
  const big = Buffer.alloc(256 * 1024, 0x41);
  const results = [];
  for (let i = 0; i < 200; i++) results.push(layer.send(big.subarray(0, 200 * 1024), { transport: 'tcp', address: source.address, port: source.port, connectionId: source.connectionId! }));
  t.ok(layer.counters.drops['write-queue-full'] > 0, 'some writes were refused');
  const settled = await Promise.race([Promise.all(results.slice(-1)), new Promise((r) => setTimeout(() => r('pending'), 200))]);
  t.not(settled, 'pending', 'a refused write resolves at once');
  client.destroy();
});

t.test('close() releases every port (the same ports can be bound again) and is idempotent', async (t) => {
  const layer = createTransportLayer({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }, { transport: 'tcp', host: '127.0.0.1', port: 0 }] });
  const bound = await layer.listen();
  const client = await tcpClient(layer.listener('tcp')!.port);
  const clientClosed = new Promise((r) => client.once('close', r));
  client.on('error', () => {});
  await new Promise((r) => setTimeout(r, 20));
  const p1 = layer.close();
  const p2 = layer.close();
  t.equal(p1, p2, 'same promise');
  await p1;
  await clientClosed;
  const again = createTransportLayer({ listen: bound.map((b) => ({ transport: b.transport, host: b.address, port: b.port })) });
  const rebound = await again.listen();
  t.same(rebound.map((b) => b.port), bound.map((b) => b.port));
  await again.close();
  const r = await layer.send(Buffer.from('x'), { transport: 'udp', address: '127.0.0.1', port: 9 });
  t.equal(!r.ok && r.error.code, 'DPBX_ERR_TRANSPORT_CLOSED');
});

t.test('a throwing message listener is caught and counted; the next message is still delivered', async (t) => {
  const layer = await started(t, { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] });
  const client = await udpClient(4);
  t.teardown(() => client.close());
  let calls = 0;
  layer.on('message', () => {
    calls++;
    if (calls === 1) throw new Error('app bug');
  });
  const port = layer.listener('udp')!.port;
  const first = nextMessage(layer);
  client.sock.send(optionsRequest(), port, '127.0.0.1');
  await first;
  const second = nextMessage(layer);
  client.sock.send(optionsRequest(), port, '127.0.0.1');
  await second;
  t.equal(calls, 2);
  t.equal(layer.counters.drops['listener-error'], 1);
});

t.test('options are validated at the boundary', async (t) => {
  t.throws(() => createTransportLayer({ listen: [{ transport: 'sctp' as 'udp' }] }), { code: 'DPBX_ERR_TRANSPORT_OPTIONS' });
  t.throws(() => createTransportLayer({ listen: [{ transport: 'tls', port: 0 }] }), { code: 'DPBX_ERR_TRANSPORT_OPTIONS' });
  t.throws(() => createTransportLayer({ listen: [{ transport: 'udp', port: 70000 }] }), { code: 'DPBX_ERR_TRANSPORT_OPTIONS' });
  t.throws(() => createTransportLayer({ idleTimeoutMs: -1 }), { code: 'DPBX_ERR_TRANSPORT_OPTIONS' });
  const a = createTransportLayer({ listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }] });
  const [b] = await a.listen();
  const clash = createTransportLayer({ listen: [{ transport: 'tcp', host: '127.0.0.1', port: b!.port }] });
  await t.rejects(clash.listen(), { code: 'DPBX_ERR_TRANSPORT_LISTEN' });
  await a.close();
});

t.test('UDP receive buffer: enlarged to udpReceiveBufferBytes (default 4 MiB), capped by the kernel with a warning', async (t) => {
  // Linux caps SO_RCVBUF at net.core.rmem_max and reports twice what it granted.
  let rmemMax = Infinity;
  try {
    rmemMax = Number((await import('node:fs')).readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  } catch {
    // not Linux: only the lower bound below is checked
  }
  const warnings: Array<{ obj: object; msg?: string }> = [];
  const logger = { trace() {}, debug() {}, info() {}, error() {}, warn(obj: object, msg?: string) { warnings.push({ obj, msg }); } };
  const dflt = await started(t, { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], logger });
  const got = dflt.listener('udp', 4)!.receiveBufferBytes!;
  const want = 4 * 1024 * 1024;
  t.ok(got >= Math.min(want, rmemMax), `default: ${got} bytes reported (rmem_max ${rmemMax})`);
  t.equal(warnings.some((w) => /rmem_max/.test(w.msg ?? '')), got < want, 'a warning exactly when the kernel granted less');
  const small = await started(t, { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], udpReceiveBufferBytes: 300_000, logger });
  const s = small.listener('udp', 4)!.receiveBufferBytes!;
  t.ok(s >= Math.min(300_000, rmemMax) && s <= got, `asked 300,000: ${s} bytes reported`);
});
