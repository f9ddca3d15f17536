/**
 * Stream framing for TCP/TLS (RFC 3261 §18.3): Content-Length delimits messages; partial and coalesced input;
 * RFC 5626 §3.5.1 CRLF keep-alives; bounded buffers; errors that keep framing and errors that end it.
 */
import t from 'tap';
import { SipStreamFramer, SipRequest, type FramerEvent, parseMessage } from '../../../sip-stack/message/index.js';

function request(callId: string, body = '', extra: string[] = []): Buffer {
  return Buffer.from([
    'MESSAGE sip:bob@example.com SIP/2.0',
    'Via: SIP/2.0/TCP client.example.com;branch=z9hG4bK' + callId,
    'Max-Forwards: 70',
    'To: <sip:bob@example.com>',
    'From: <sip:alice@example.com>;tag=1',
    `Call-ID: ${callId}`,
    'CSeq: 1 MESSAGE',
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n'));
}

const ids = (evs: FramerEvent[]) => evs.map((e) => (e.type === 'message' ? (e.message as SipRequest).callId : e.type));

t.test('coalesced messages in one chunk are all delivered, in order', async (t) => {
  const f = new SipStreamFramer();
  const evs = f.push(Buffer.concat([request('a', 'hello'), request('b'), request('c', 'x'.repeat(100))]));
  t.same(ids(evs), ['a', 'b', 'c']);
  t.equal(f.buffered, 0);
  t.equal(f.counters.messages, 3);
  const c = evs[2]!;
  t.equal(c.type === 'message' && c.message.body.length, 100);
});

t.test('a message split at every possible byte boundary is delivered exactly once', async (t) => {
  const msg = request('split', 'body with\r\n\r\nblank lines');
  for (let cut = 1; cut < msg.length; cut++) {
    const f = new SipStreamFramer();
    const first = f.push(msg.subarray(0, cut));
    const second = f.push(msg.subarray(cut));
    const got = [...first, ...second];
    if (got.length !== 1 || got[0]!.type !== 'message') {
      t.fail(`cut at ${cut}: ${JSON.stringify(ids(got))}`);
      return;
    }
    t.equal(got[0]!.message.body.toString(), 'body with\r\n\r\nblank lines', `cut ${cut}`);
  }
});

t.test('byte-by-byte input of several messages', async (t) => {
  const all = Buffer.concat([request('1', 'a'), Buffer.from('\r\n\r\n'), request('2', 'bb')]);
  const f = new SipStreamFramer();
  const evs: FramerEvent[] = [];
  for (let i = 0; i < all.length; i++) evs.push(...f.push(all.subarray(i, i + 1)));
  t.same(ids(evs).filter((x) => x !== 'pong'), ['1', 'ping', '2'], 'a split CRLFCRLF may first show as a pong, then the ping');
  t.equal(f.counters.messages, 2);
});

t.test('RFC 5626 keep-alives: CRLFCRLF is a ping, a single CRLF a pong', async (t) => {
  const f = new SipStreamFramer();
  t.same(ids(f.push(Buffer.from('\r\n\r\n'))), ['ping']);
  t.same(ids(f.push(Buffer.from('\r\n'))), ['pong']);
  t.same(ids(f.push(Buffer.concat([Buffer.from('\r\n\r\n'), request('k')]))), ['ping', 'k']);
  t.equal(f.counters.pings, 2);
});

t.test('Content-Length is mandatory on a stream: fatal 400, answered before closing', async (t) => {
  const noCl = Buffer.from(request('n').toString().replace(/Content-Length: 0\r\n/, ''));
  const f = new SipStreamFramer();
  const evs = f.push(noCl);
  t.equal(evs.length, 1);
  const e = evs[0]!;
  if (e.type !== 'error') throw new Error('expected an error');
  t.equal(e.error.fatal, true);
  t.equal(e.error.status, 400);
  t.equal(e.error.code, 'DPBX_ERR_SIP_CONTENT_LENGTH');
  const answer = parseMessage(e.error.responseFor!());
  t.equal(answer.callId, 'n', 'the answer is for this request');
  t.ok(f.failed);
  t.same(f.push(request('after')), [], 'nothing more is framed once framing is lost');
});

t.test('limits on a stream: oversized header section (513) and body (413) end the connection', async (t) => {
  const f1 = new SipStreamFramer({ maxHeaderBytes: 256 });
  const evs1 = f1.push(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nX-Pad: ' + 'p'.repeat(400)));
  t.equal(evs1.length, 1, 'fails without waiting for the end of a header section that can never fit');
  t.equal(evs1[0]!.type === 'error' && evs1[0]!.error.status, 513);
  t.equal(f1.buffered, 0, 'nothing kept');
  const f2 = new SipStreamFramer({ maxBodyBytes: 10 });
  const evs2 = f2.push(Buffer.from(request('big').toString().replace('Content-Length: 0', 'Content-Length: 1000000')));
  const e2 = evs2[0]!;
  t.equal(e2.type === 'error' && e2.error.status, 413);
  t.equal(e2.type === 'error' && e2.error.fatal, true);
  t.type(e2.type === 'error' && e2.error.responseFor, 'function', '413 answered before closing');
});

t.test('a framed but malformed message is an error event; framing goes on', async (t) => {
  const bad = Buffer.from(request('bad').toString().replace('CSeq: 1 MESSAGE', 'CSeq: 1 INVITE'));
  const f = new SipStreamFramer();
  const evs = f.push(Buffer.concat([bad, request('good')]));
  t.same(evs.map((e) => e.type), ['error', 'message']);
  const e = evs[0]!;
  t.equal(e.type === 'error' && e.error.fatal, false);
  t.equal(e.type === 'error' && e.error.code, 'DPBX_ERR_SIP_CSEQ_MISMATCH');
  t.equal(f.counters.parseErrors, 1);
});

t.test('messages keep their bytes after the caller reuses its chunk buffer', async (t) => {
  const chunk = Buffer.concat([request('keep', 'payload'), request('next').subarray(0, 20)]);
  const f = new SipStreamFramer();
  const evs = f.push(chunk);
  chunk.fill(0x41);
  const m = evs[0]!;
  // The first message was framed in place (a view of the chunk); the partial tail was copied.
  t.equal(m.type, 'message');
  const rest = f.push(request('next').subarray(20));
  t.same(ids(rest), ['next'], 'the buffered partial message was copied, not referenced');
});

t.test('reset() forgets a failure and buffered bytes', async (t) => {
  const f = new SipStreamFramer({ maxHeaderBytes: 64 });
  f.push(Buffer.from('X'.repeat(100)));
  t.ok(f.failed);
  f.reset();
  t.equal(f.failed, undefined);
  t.same(ids(new SipStreamFramer().push(request('r'))), ['r']);
});
