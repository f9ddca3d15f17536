// Random interleavings of caller, callee and clock events (seeded): whatever happens, the call ends exactly once,
// every connect:start is closed by one connect:complete, no timer is left and nothing throws.
import t from 'tap';
import { FakeRegistrations, flush, harness } from './fakes.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('200 seeded random call histories keep the invariants', async (t) => {
  let failures = 0;
  const causes: Record<string, number> = {};
  for (let seed = 1; seed <= 200; seed++) {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const regs = new FakeRegistrations();
    regs.set('a.example.com', '1002', ['sip:1002@10.0.0.2', 'sip:1002@10.0.0.3']);
    const scriptFor = () => [
      pick([{ verb: 'pause', duration: 2 }, { verb: 'announce', url: 'file:/a.wav' }, { verb: 'connect', dest: 'sip:z@127.0.0.1', timeout: 3 }]),
      { verb: 'connect', reconnect: rnd() < 0.5, dest: [{ type: 'client', address: '1002', timeout: 5 }, { type: 'sip', address: 'sip:y@127.0.0.1', timeout: 8 }] },
      pick([{ verb: 'announce', url: 'file:/b.wav' }, { verb: 'pause', duration: 1 }, { verb: 'response', code: 486 }]),
    ];
    const h = harness({
      registrations: regs,
      maxRetries: Math.floor(rnd() * 4),
      replies: [scriptFor, scriptFor, scriptFor, scriptFor, scriptFor],
    });
    let ended = false;
    void h.done.then(() => (ended = true));
    for (let step = 0; step < 60 && !ended; step++) {
      const r = rnd();
      const live = h.dialer.attempts;
      if (r < 0.35 && live.length) {
        const a = pick(live);
        const ev = pick(['trying', 'ringing', 'early-media', 'answered', 'failed', 'timeout', 'hangup'] as const);
        if (ev === 'failed') a.emit('failed', pick([404, 486, 487, 503]), 'x');
        else a.emit(ev);
      } else if (r < 0.4) h.inbound.cancel();
      else if (r < 0.43) h.inbound.bye();
      else if (r < 0.45) h.exec.terminate();
      else if (r < 0.5 && h.inbound.isAnswered && live.length) h.exec.referRequested('sip:1002@a.example.com', { by: pick(['caller', 'callee'] as const) });
      else await h.clock.advance(Math.floor(rnd() * 4000));
      await flush(2);
    }
    if (!ended) {
      h.exec.terminate();
      await h.clock.advance(10_000);
    }
    await h.done;
    const names = h.status.names;
    const starts = names.filter((n) => n === 'connect:start').length;
    const completes = names.filter((n) => n === 'connect:complete').length;
    const ok =
      names.filter((n) => n === 'call:end').length === 1 &&
      names.at(-1) === 'call:end' &&
      starts === completes &&
      h.clock.pending === 0 &&
      h.media.closed === 1 &&
      h.exec.counters.internalErrors === 0 &&
      h.registry.cdrs.query('a.example.com').length === 1;
    causes[await h.done] = (causes[await h.done] ?? 0) + 1;
    if (!ok) {
      failures++;
      t.fail(`seed ${seed}: ${names.join(',')} pending=${h.clock.pending} closed=${h.media.closed} internal=${h.exec.counters.internalErrors}`);
    }
  }
  t.equal(failures, 0);
  t.comment(`end causes: ${JSON.stringify(causes)}`);
  t.ok(Object.keys(causes).length >= 5, 'the histories reach many different ends');
});
