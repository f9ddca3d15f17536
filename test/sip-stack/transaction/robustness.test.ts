/**
 * Mutated input never throws out of TransactionLayer.receive(), and once virtual time has run out every
 * transaction is gone (no leaked transactions or timers).
 */
import t from 'tap';
import { createResponse, parseMessage, type SipMessageAny, type SipRequest } from '../../../sip-stack/message/index.js';
import { request, setup, udpSource, tcpSource } from './helpers.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

const GARBAGE = ['', ' ', 'x', ';;;', '<>', 'SIP/2.0/UDP', 'SIP/2.0/UDP h;branch=', 'SIP/2.0/UDP [::1', '1', '-1', '99999999999 INVITE',
  '1 ACK', '1 CANCEL', '0', 'z9hG4bK', '<sip:a@b>;tag=', '<sip:a@b>;tag=x', 'abc INVITE', '100rel, foo', 'SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKx'];
const HEADERS = ['Via', 'CSeq', 'From', 'To', 'Call-ID', 'Max-Forwards', 'Require'];
const METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'FOO', 'REGISTER'];

t.test('random header mutations of requests and responses never throw and leave nothing behind', async (t) => {
  const rnd = prng(42);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const { layer, clock, tu } = setup({ policy: { supportedOptions: ['100rel'] } });
  tu.onRequest = (req, tx) => {
    if (rnd() < 0.5) {
      try {
        tx.respond(createResponse(req, pick([100, 180, 200, 486, 603]), undefined, { toTag: 'fz' }));
      } catch {
        // a mutated request may not be answerable by the TU: fine
      }
    }
  };
  const branches = ['z9hG4bK-a', 'z9hG4bK-b', 'nocookie', null];
  let thrown = 0;
  for (let i = 0; i < 3000; i++) {
    const method = pick(METHODS);
    const base: SipRequest = request({ method, branch: pick(branches), callId: pick(['c1', 'c2']), cseq: pick([1, 2]), toTag: rnd() < 0.3 ? 'tt' : undefined });
    let msg: SipMessageAny = base;
    if (rnd() < 0.3) msg = parseMessage(createResponse(base, pick([100, 180, 200, 487, 503])).toBuffer());
    const n = Math.floor(rnd() * 3);
    for (let k = 0; k < n; k++) {
      const h = pick(HEADERS);
      if (rnd() < 0.2) msg.remove(h);
      else msg.set(h, pick(GARBAGE) || 'x');
    }
    try {
      layer.receive(msg, rnd() < 0.5 ? udpSource : tcpSource);
    } catch {
      thrown++;
    }
    clock.advance(Math.floor(rnd() * 300));
  }
  t.equal(thrown, 0, 'receive() never threw');
  // A well-behaved TU answers everything in the end.
  for (const { req, tx } of tu.requests) {
    if (tx.finalSent || tx.terminated) continue;
    try {
      tx.respond(createResponse(req, 500, undefined, { toTag: 'fz' }));
    } catch {
      tx.dispose();
    }
  }
  clock.runAll();
  t.equal(layer.serverTransactionCount, 0, 'every server transaction terminated');
  t.equal(clock.pending, 0, 'no timer left');
  t.ok(layer.counters.serverTransactions > 100, 'the run created transactions');
  t.ok(layer.counters.malformed > 0, 'and counted malformed input');
});
