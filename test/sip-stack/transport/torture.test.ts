/**
 * Robustness against the RFC 4475 torture messages: every message is sent over UDP and over TCP to a running
 * transport. The transport must never crash, must account for every datagram (delivered, answered, or counted
 * as a drop), must answer the malformed-but-readable requests as RFC 4475 says, and must still deliver and answer
 * a good OPTIONS afterwards.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { createTransportLayer, type TransportLayer } from '../../../sip-stack/transport/transport-layer.js';
import { responseTarget } from '../../../sip-stack/transport/response-target.js';
import { topVia } from '../../../sip-stack/transport/message-adapter.js';
import type { TransportCounters } from '../../../sip-stack/transport/counters.js';
import { fixturePath } from '../../helpers/env.js';
import { messageWithCallId, nextMessage, okFor, optionsRequest, readUntil, udpClient } from './helpers.js';

/** The corpus: test/fixtures/rfc4475, the 49 messages of RFC 4475 (see the README there). */
const dir = fixturePath('rfc4475');
const files = readdirSync(dir).filter((f) => f.endsWith('.dat')).sort();

/**
 * RFC 4475 §3.1.2 / §3.3: requests that are malformed but readable enough to answer (a Via and a CSeq line),
 * with the status the RFC asks for. Every other torture message is either delivered (valid, or valid syntax
 * with application-level trouble such as an unknown URI scheme) or, for the bad responses, dropped and counted.
 */
const MUST_ANSWER: Record<string, number> = {
  'badinv01.dat': 400, // §3.1.2.1 extraneous header field separators
  'clerr.dat': 400, // §3.1.2.2 Content-Length larger than the message (over UDP)
  'ncl.dat': 400, // §3.1.2.3 negative Content-Length
  'scalar02.dat': 400, // §3.1.2.4 overlarge scalar values
  'quotbal.dat': 400, // §3.1.2.6 unterminated quoted string in display name
  'ltgtruri.dat': 400, // §3.1.2.7 <> enclosing the Request-URI
  'lwsruri.dat': 400, // §3.1.2.8 LWS inside the Request-URI
  'lwsstart.dat': 400, // §3.1.2.9 multiple SP between request line elements
  'trws.dat': 400, // §3.1.2.10 SP after the SIP version
  'escruri.dat': 400, // §3.1.2.11 escaped headers in the Request-URI
  'regbadct.dat': 400, // §3.1.2.13 name-addr URI with ? not enclosed in <>
  'badaspec.dat': 400, // §3.1.2.14 spaces within addr-spec
  'baddn.dat': 400, // §3.1.2.15 non-token characters in an unquoted display name
  'badvers.dat': 505, // §3.1.2.16 unknown SIP version
  'mismatch01.dat': 400, // §3.1.2.17 CSeq method mismatch
  'mismatch02.dat': 501, // §3.1.2.18 unknown method with CSeq method mismatch
  'insuf.dat': 400, // §3.3.1 missing Call-ID, From, To
  'multi01.dat': 400, // §3.3.8 multiple values in single-valued headers
  'mcl01.dat': 400, // §3.3.9 multiple Content-Length values
};

/** RFC 4475 §3.1.2.5 and §3.1.2.19: "An element receiving this response will simply discard it." */
const MUST_DISCARD = new Set(['scalarlg.dat', 'bigcode.dat']);

function outcomeDelta(before: TransportCounters, after: TransportCounters): number {
  const drops = (c: TransportCounters) => Object.values(c.drops).reduce((a, b) => a + b, 0);
  return after.received - before.received + (after.errorResponsesSent - before.errorResponsesSent) + (drops(after) - drops(before)) + (after.keepAlivePongs - before.keepAlivePongs);
}

function snapshot(l: TransportLayer): TransportCounters {
  return structuredClone(l.counters);
}

t.test('the corpus is there', async (t) => {
  t.equal(files.length, 49, `all 49 RFC 4475 messages in ${dir}`);
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
    } else if (MUST_DISCARD.has(f)) {
      t.equal(answered, 0, `${f}: discarded, not answered`);
      t.equal(after.received - before.received - 1, 0, `${f}: not delivered`);
    } else {
      t.equal(answered, 0, `${f}: not answered by the transport`);
      t.equal(after.received - before.received - 1, 1, `${f}: delivered to the layer above`);
    }
  }
  t.equal(delivered.length, files.length - Object.keys(MUST_ANSWER).length - MUST_DISCARD.size,
    'every other torture message was delivered');

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
  // Over a stream, Content-Length frames the message. Answered as over UDP: every readable bad request, also
  // those whose Content-Length breaks the framing (ncl, mcl01: answered, then the connection is closed).
  // Not answered: clerr (Content-Length 9999: over a stream the rest simply has not arrived yet) and baddn (no
  // empty line: the header section never ends).
  for (const [f, status] of Object.entries(MUST_ANSWER)) {
    if (f === 'clerr.dat' || f === 'baddn.dat') {
      t.equal(got[f], '', `${f}: incomplete over a stream, closed without an answer`);
      continue;
    }
    t.match(got[f], new RegExp(`^SIP/2\\.0 ${status} `), `${f}: answered ${status} on its connection`);
  }
  // RFC 3261 §18.3: on a stream, Content-Length MUST be present; inv2543 (RFC 2543 syntax) has none.
  t.match(got['inv2543.dat'], /^SIP\/2\.0 400 Bad Request \(Content-Length is mandatory/, 'inv2543.dat: 400 over a stream');
  for (const f of files) {
    if (MUST_ANSWER[f] === undefined && f !== 'inv2543.dat') t.equal(got[f], '', `${f}: no answer from the transport`);
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
