/**
 * Robustness against the RFC 4475 torture messages: every message is sent over UDP and over TCP to a running
 * transport. The transport must never crash, must account for every datagram (delivered, answered, or counted
 * as a drop), must answer the malformed-but-readable requests as RFC 4475 says, and must still deliver and answer
 * a good OPTIONS afterwards.
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { createTransportLayer, type TransportLayer } from '../../../sip-stack/transport/transport-layer.js';
import { responseTarget } from '../../../sip-stack/transport/response-target.js';
import { topVia } from '../../../sip-stack/transport/message-adapter.js';
import type { TransportCounters } from '../../../sip-stack/transport/counters.js';
import { fixturePath, repoRoot } from '../../helpers/env.js';
import { messageWithCallId, nextMessage, okFor, optionsRequest, readUntil, udpClient } from './helpers.js';

/** The corpus: test/fixtures/rfc4475 (the message layer's copy); the same files ship in the sip@0.0.6 package. */
function corpusDir(): string {
  const own = fixturePath('rfc4475');
  if (existsSync(own) && readdirSync(own).some((f) => f.endsWith('.dat'))) return own;
  return join(repoRoot, 'node_modules', 'sip', 'test', 'messages');
}
const dir = corpusDir();
const files = readdirSync(dir).filter((f) => f.endsWith('.dat')).sort();

/**
 * RFC 4475 §3.1.2 / §3.3: requests that are malformed but whose Via/From/To/Call-ID/CSeq are readable, with the
 * status the RFC asks for.
 */
const MUST_ANSWER: Record<string, number> = {
  'clerr.dat': 400, // §3.1.2.2 Content-Length larger than the message (over UDP)
  'ncl.dat': 400, // §3.1.2.3 negative Content-Length
  'scalar02.dat': 400, // §3.1.2.4 overlarge scalar values
  'quotbal.dat': 400, // §3.1.2.6 unterminated quoted string in display name
  'ltgtruri.dat': 400, // §3.1.2.7 <> enclosing the Request-URI
  'regbadct.dat': 400, // §3.1.2.14 unescaped specials in a Contact URI
  'badaspec.dat': 400, // §3.1.2.15 unquoted name-addr specials
  'mcl01.dat': 400, // §3.1.2.11 multiple Content-Length values
  'multi01.dat': 400, // §3.1.2.12 multiple values in single-valued headers
  'mismatch01.dat': 400, // §3.1.2.18 CSeq method mismatch
  'badvers.dat': 505, // §3.3.? unknown SIP version
};

function outcomeDelta(before: TransportCounters, after: TransportCounters): number {
  const drops = (c: TransportCounters) => Object.values(c.drops).reduce((a, b) => a + b, 0);
  return after.received - before.received + (after.errorResponsesSent - before.errorResponsesSent) + (drops(after) - drops(before)) + (after.keepAlivePongs - before.keepAlivePongs);
}

function snapshot(l: TransportLayer): TransportCounters {
  return structuredClone(l.counters);
}

t.test('the corpus is there', async (t) => {
  t.ok(files.length >= 45, `found ${files.length} torture messages in ${dir}`);
});

t.test('every RFC 4475 message over UDP: one outcome each, required error answers, good OPTIONS still answered', async (t) => {
  const layer = createTransportLayer({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] });
  await layer.listen();
  t.teardown(() => layer.close());
  const port = layer.listener('udp')!.port;
  const client = await udpClient(4);
  t.teardown(() => client.close());
  const replies: string[] = [];
  client.sock.on('message', (b) => replies.push(b.toString('latin1')));
  // Markers are recognised by Call-ID and swallowed here, the rest are the torture outcomes.
  const delivered: string[] = [];
  layer.on('message', (m) => {
    const id = m.callId ?? '';
    if (!id.startsWith('marker-')) delivered.push(id);
  });

  let expectedReplies = 0;
  for (const f of files) {
    const before = snapshot(layer);
    client.sock.send(readFileSync(join(dir, f)), port, '127.0.0.1');
    // Loopback UDP keeps order: once the marker is delivered, the torture datagram has been handled.
    const marker = messageWithCallId(layer, `marker-${f}`);
    client.sock.send(optionsRequest({ callId: `marker-${f}` }), port, '127.0.0.1');
    await marker;
    const after = snapshot(layer);
    t.equal(outcomeDelta(before, after) - 1, 1, `${f}: exactly one outcome (delivered, answered or counted drop)`);
    const answered = after.errorResponsesSent - before.errorResponsesSent;
    expectedReplies += answered;
    // Wait for every answer so far to reach the client: the last one is then this file's.
    while (replies.length < expectedReplies) await new Promise((r) => setImmediate(r));
    const want = MUST_ANSWER[f];
    if (want !== undefined) {
      t.equal(answered, 1, `${f}: answered`);
      t.match(replies[expectedReplies - 1], new RegExp(`^SIP/2\\.0 ${want} `), `${f}: answered ${want} (RFC 4475)`);
    }
  }
  t.ok(delivered.length > 0, 'valid torture messages were delivered');

  const final = nextMessage(layer);
  const req = optionsRequest({ callId: 'marker-final', viaParams: ';rport' });
  client.sock.send(req, port, '127.0.0.1');
  const { message, source } = await final;
  const before = replies.length;
  t.ok((await layer.send(Buffer.from(okFor(req)), responseTarget(topVia(message)!, source))).ok);
  while (replies.length === before) await new Promise((r) => setImmediate(r));
  t.match(replies[before], /^SIP\/2\.0 200 OK/, 'good OPTIONS still answered');
});

t.test('every RFC 4475 message over TCP (one connection each): no crash, answers on the connection, good OPTIONS after', async (t) => {
  const layer = createTransportLayer({ listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }] });
  await layer.listen();
  t.teardown(() => layer.close());
  const port = layer.listener('tcp')!.port;
  const got: Record<string, string> = {};
  for (const f of files) {
    const sock: Socket = connect({ host: '127.0.0.1', port });
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.once('connect', () => r()));
    let text = '';
    sock.on('data', (b) => (text += b.toString('latin1')));
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.end(readFileSync(join(dir, f)));
    await closed;
    got[f] = text;
  }
  // Over a stream, Content-Length frames the message: these carry a correct one and are answered as over UDP.
  for (const f of ['mismatch01.dat', 'badvers.dat', 'badaspec.dat', 'quotbal.dat']) {
    t.match(got[f], new RegExp(`^SIP/2\\.0 ${MUST_ANSWER[f]} `), `${f}: answered on its connection`);
  }
  t.equal(layer.connectionList.length, 0, 'every connection was closed and removed from the table');
  t.equal(layer.counters.connectionsAccepted, files.length);
  t.equal(layer.counters.connectionsClosed, files.length);

  const sock = connect({ host: '127.0.0.1', port });
  t.teardown(() => sock.destroy());
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const req = optionsRequest({ transport: 'TCP', callId: 'tcp-final' });
  const arrived = nextMessage(layer);
  sock.write(req);
  const { message, source } = await arrived;
  const reply = readUntil(sock, (s) => s.includes('200 OK'));
  t.ok((await layer.send(Buffer.from(okFor(req)), responseTarget(topVia(message)!, source))).ok);
  t.match(await reply, /^SIP\/2\.0 200 OK/);
});
