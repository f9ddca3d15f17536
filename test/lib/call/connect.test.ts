// The connect verb through the executor: forking, CANCEL with RFC 3326 Reason, timeouts, ringback, early media,
// caller CANCEL, empty and unresolvable dest lists, reconnect.
import t from 'tap';
import { COMPLETED_ELSEWHERE, ConnectRun, formatReason, type ConnectContext } from '../../../lib/call/index.js';
import { STATUS_EVENTS } from '../../../lib/hooks/index.js';
import { FakeRegistrations, flush, harness } from './fakes.js';

const script = (...verbs: unknown[]) => verbs;

t.test('forks to every contact and every dest; first 2xx wins, the others get CANCEL with Reason cause=200', async (t) => {
  const regs = new FakeRegistrations();
  regs.set('a.example.com', '1002', ['sip:1002@10.0.0.2:5060', 'sip:1002@10.0.0.3:5060']);
  const h = harness({
    registrations: regs,
    replies: [script({ verb: 'connect', dest: [{ type: 'client', address: '1002' }, { type: 'sip', address: 'sip:bob@127.0.0.1:5099' }] })],
  });
  await flush();
  t.equal(h.dialer.attempts.length, 3, 'two contacts of the client + the sip dest ring in parallel');
  t.same(h.dialer.attempts.map((a) => a.target.destIndex), [0, 0, 1]);
  t.same(h.inbound.log, ['early 183'], 'caller got a 183 with the relay SDP for the ringback');
  t.same(h.inbound.earlySdp, ['v=0 sdp-for-A']);
  t.ok(h.media.ringing.has('A'), 'ringback plays to the caller');
  t.match(h.media.log[0], /^ringback A file:\/uk\.wav$/, 'DEFAULT_RINGTONE when the verb has no ringtone');

  const [c1, c2, s] = h.dialer.attempts as [any, any, any];
  c1.emit('trying');
  c1.emit('ringing');
  s.emit('ringing');
  c2.emit('answered');
  await flush();
  t.ok(h.inbound.isAnswered, 'caller answered');
  t.equal(h.inbound.answerSdp, 'v=0 sdp-for-A');
  t.same(c1.cancels, [COMPLETED_ELSEWHERE]);
  t.same(s.cancels, [COMPLETED_ELSEWHERE]);
  t.same(c2.cancels, [], 'the winner is not cancelled');
  t.equal(formatReason(c1.cancels[0]), 'SIP;cause=200;text="Call completed elsewhere"');
  t.same(h.media.bridges.at(-1), ['A', c2.id], 'caller bridged to the winner');
  t.notOk(h.media.ringing.has('A'), 'ringback stopped on answer');

  // A late 2xx from a cancelled fork is BYEd.
  s.emit('answered');
  t.equal(s.hangups.length, 1, 'late 2xx of a losing fork gets a BYE');
  t.notOk(h.inbound.log.filter((l) => l === 'answer').length > 1, 'the caller is answered once');

  c2.emit('hangup');
  t.equal(await h.done, 'callee-hangup');
  t.equal(h.inbound.hangups, 1, 'caller gets BYE when the callee hangs up (no reconnect)');
  const answered = h.status.named('connect:answered');
  t.same(answered.map((e) => e.data), [{ dest: { type: 'client', address: '1002' }, index: 0 }]);
  t.same(h.status.named('connect:hangup').map((e) => e.data), [{ endedBy: 'callee' }]);
  t.equal(h.status.named('call:end').length, 1);
  t.equal(h.media.closed, 1);
});

t.test('the StatusHook sees exactly the SPEC §5 sequence for an answered-then-hung-up call', async (t) => {
  const h = harness({ replies: [script({ verb: 'connect', dest: 'sip:bob@127.0.0.1:5099' })] });
  await flush();
  const b = h.dialer.attempts[0]!;
  b.emit('trying');
  b.emit('ringing');
  b.emit('early-media');
  await h.clock.advance(3000);
  b.emit('answered');
  await h.clock.advance(60_000);
  h.inbound.bye();
  t.equal(await h.done, 'caller-hangup');
  t.same(h.status.names, [
    'connect:start',
    'connect:trying',
    'connect:ringing',
    'connect:early-media',
    'connect:answered',
    'connect:hangup',
    'connect:complete',
    'call:end',
  ]);
  for (const e of h.status.events) {
    t.ok((STATUS_EVENTS as readonly string[]).includes(e.event), `${JSON.stringify(e.event)} is a SPEC name`);
    t.equal(e.event, e.event.trim(), 'no stray whitespace');
    t.equal(e.callId, 'call-1@test');
  }
  t.same(h.status.named('connect:hangup')[0]!.data, { endedBy: 'caller' });
  t.same(h.status.named('call:end')[0]!.data, { durationMs: 63_000, cause: 'caller-hangup' });
  t.equal(b.hangups.length, 1, 'callee gets BYE when the caller hangs up');
  t.ok(h.media.log.includes(`bridge A ${b.id}`), 'early media bridged');
  t.ok(h.media.log.indexOf('stop-ringback A') < h.media.log.indexOf(`bridge A ${b.id}`), 'ringback stops at the callee early media');
});

t.test('per-dest timeout cancels only that dest; the verb ends when every dest is done', async (t) => {
  const h = harness({
    maxRetries: 0,
    replies: [
      script({
        verb: 'connect',
        dest: [
          { type: 'sip', address: 'sip:short@127.0.0.1', timeout: 5 },
          { type: 'sip', address: 'sip:long@127.0.0.1', timeout: 20 },
        ],
      }),
    ],
  });
  await flush();
  const [short, long] = h.dialer.attempts as [any, any];
  t.equal(short.opts.timeoutMs, 5000);
  await h.clock.advance(4999);
  t.notOk(short.cancelled, 'not before its timeout');
  await h.clock.advance(1);
  t.ok(short.cancelled, 'short dest cancelled at 5 s');
  t.notOk(long.cancelled, 'long dest still ringing');
  t.same(h.status.named('connect:timeout').map((e) => e.data), [{ dest: { type: 'sip', address: 'sip:short@127.0.0.1' }, index: 0 }]);
  await h.clock.advance(15_000);
  t.ok(long.cancelled, 'long dest cancelled at 20 s');
  t.equal(await h.done, 'unanswered');
  t.equal(h.inbound.rejected?.code, 480, 'final 480 after the script (no retries configured)');
  t.equal(h.status.named('connect:timeout').length, 2);
  t.equal(h.clock.pending, 0, 'no timers left behind');
});

t.test('caller CANCEL while forks ring: every fork CANCELled, connect:cancel, no retries', async (t) => {
  const h = harness({ replies: [script({ verb: 'connect', dest: ['sip:x@127.0.0.1', 'sip:y@127.0.0.1'] })] });
  await flush();
  h.dialer.attempts[0]!.emit('ringing');
  h.inbound.cancel();
  t.equal(await h.done, 'caller-cancel');
  t.ok(h.dialer.attempts.every((a) => a.cancels.length === 1), 'both forks cancelled');
  t.same(h.status.names, ['connect:start', 'connect:ringing', 'connect:cancel', 'connect:complete', 'call:end']);
  t.equal(h.hooks.bodies.length, 1, 'the CallHook is not asked again after the caller left');
  t.equal(h.inbound.rejected, undefined, 'the binding answered 487 itself; no second final response');
  t.equal(h.registry.cdrs.query('a.example.com')[0]?.cause, 'caller-cancel');
  // Events of the cancelled forks that arrive afterwards change nothing.
  h.dialer.attempts[0]!.emit('failed', 487, 'Request Terminated');
  h.dialer.attempts[1]!.emit('answered');
  t.equal(h.dialer.attempts[1]!.hangups.length, 1, 'a 2xx racing the CANCEL is BYEd');
  t.equal(h.status.named('call:end').length, 1);
});

t.test('caller CANCEL while the CallHook is still thinking ends the call at once', async (t) => {
  let release!: (v: unknown) => void;
  const h = harness({ replies: [() => new Promise((r) => (release = r))] });
  await flush();
  h.inbound.cancel();
  t.equal(await h.done, 'caller-cancel');
  release(script({ verb: 'connect', dest: 'sip:late@127.0.0.1' }));
  await flush();
  t.equal(h.dialer.attempts.length, 0, 'the late script is not run');
});

t.test('all forks fail: connect:error per fork with status and reason, then the next verb', async (t) => {
  const h = harness({
    maxRetries: 0,
    replies: [script({ verb: 'connect', dest: ['sip:busy@127.0.0.1', 'sip:nope@127.0.0.1'] }, { verb: 'response', code: 486 })],
  });
  await flush();
  h.dialer.attempts[0]!.emit('failed', 486, 'Busy Here');
  await flush();
  t.equal(h.inbound.rejected, undefined, 'one fork still ringing');
  h.dialer.attempts[1]!.emit('failed', 404, 'Not Found');
  t.equal(await h.done, 'response');
  t.same(h.status.named('connect:error').map((e) => e.data), [
    { status: 486, reason: 'Busy Here' },
    { status: 404, reason: 'Not Found' },
  ]);
  t.same(h.inbound.rejected, { code: 486, reason: 'Busy Here', headers: undefined });
  t.same(h.status.named('response:sent')[0]!.data, { code: 486 });
});

t.test('an unregistered client dest is skipped, not a crash; the other dests still ring', async (t) => {
  const h = harness({
    maxRetries: 0,
    replies: [script({ verb: 'connect', dest: [{ type: 'client', address: '1005' }, 'sip:ok@127.0.0.1'] })],
  });
  await flush();
  t.equal(h.dialer.attempts.length, 1);
  t.same(h.status.named('connect:skipped').map((e) => e.data), [
    { dest: { type: 'client', address: '1005' }, index: 0, reason: 'not registered' },
  ]);
  h.dialer.attempts[0]!.emit('answered');
  await flush();
  t.ok(h.inbound.isAnswered);
  h.inbound.bye();
  t.equal(await h.done, 'caller-hangup');
});

t.test('only unregistered clients: connect:skipped + connect:error, the call does not hang', async (t) => {
  const h = harness({ maxRetries: 0, replies: [script({ verb: 'connect', dest: { type: 'client', address: '1005' } })] });
  t.equal(await h.done, 'unanswered');
  t.same(h.status.names, ['connect:start', 'connect:skipped', 'connect:error', 'connect:complete', 'call:end']);
  t.same(h.status.named('connect:error')[0]!.data, { status: 480, reason: 'No destination available' });
  t.equal(h.inbound.rejected?.code, 480);
  t.equal(h.dialer.attempts.length, 0);
  t.notOk(h.media.log.some((l) => l.startsWith('ringback')), 'no ringback when nothing rings');
});

t.test('an empty dest list ends the connect at once (SPEC §8: it hung forever)', async (t) => {
  // Through the hook the parser already rejects it (hook:error + fallback) ...
  const h = harness({ maxRetries: 0, replies: [script({ verb: 'connect', dest: [] })] });
  t.equal(await h.done, 'hook-failed');
  t.equal(h.status.named('hook:error').length, 1);
  t.equal(h.inbound.rejected?.code, 480);
  // ... and a ConnectRun handed an empty list directly (a programmatic script) finishes unanswered.
  const h2 = harness({ noRun: true });
  const events: string[] = [];
  const ctx = {
    call: h2.exec.call,
    party: h2.inbound,
    dialer: h2.dialer,
    media: h2.media,
    resolver: { resolve: async () => ({ ok: false as const, reason: 'x' }) },
    clock: h2.clock,
    reporter: { emit: (e: string) => void events.push(e) },
    defaultRingtone: 'file:/uk.wav',
    from: '1001',
    guard: async (_w: string, fn: () => unknown) => ({ ok: true as const, value: await fn() }),
    ensureEarly: async () => {},
    answerParty: async () => true,
    onAnswered: () => {},
  } as unknown as ConnectContext;
  const outcome = await new ConnectRun({ verb: 'connect', dest: [] }, ctx).run();
  t.same(outcome, { kind: 'unanswered' });
  t.same(events, ['connect:start', 'connect:skipped', 'connect:error', 'connect:complete']);
});

t.test('ringback uses the verb ringtone and stops at the first callee early media only', async (t) => {
  const h = harness({ replies: [script({ verb: 'connect', dest: ['sip:a@127.0.0.1', 'sip:b@127.0.0.1'], ringtone: 'file:/us.wav' })] });
  await flush();
  t.same(h.media.log, ['ringback A file:/us.wav']);
  const [a, b] = h.dialer.attempts as [any, any];
  b.emit('early-media');
  a.emit('early-media');
  t.same(h.media.log, ['ringback A file:/us.wav', 'stop-ringback A', `bridge A ${b.id}`], 'the first early media is heard');
  t.equal(h.status.named('connect:early-media').length, 1);
  a.emit('answered');
  await flush();
  t.same(h.media.bridges.at(-1), ['A', a.id], 'the answering fork replaces the early bridge');
  t.same(b.cancels, [COMPLETED_ELSEWHERE]);
  h.exec.terminate();
  t.equal(await h.done, 'terminated');
  t.equal(a.hangups.length, 1);
  t.equal(h.inbound.hangups, 1);
});

t.test('reconnect: the callee hangs up, the caller stays and the script goes on', async (t) => {
  const h = harness({
    replies: [
      script(
        { verb: 'connect', dest: 'sip:first@127.0.0.1', reconnect: true },
        { verb: 'announce', url: 'file:/goodbye-transfer.wav' },
        { verb: 'connect', dest: 'sip:second@127.0.0.1' },
      ),
    ],
  });
  await flush();
  const first = h.dialer.attempts[0]!;
  first.emit('answered');
  await flush();
  first.emit('hangup');
  await flush();
  t.equal(h.inbound.hangups, 0, 'caller not hung up');
  t.same(h.media.played, [{ leg: 'A', url: 'file:/goodbye-transfer.wav', answered: true }], 'announce plays into the answered call');
  t.same(h.inbound.earlySdp, ['v=0 sdp-for-A'], 'no new 183 after answer');
  await flush();
  const second = h.dialer.attempts[1]!;
  t.ok(second, 'second connect dialled');
  t.ok(h.media.ringing.has('A'), 'ringback in the call while the next dest rings');
  second.emit('answered');
  await flush();
  t.equal(h.inbound.log.filter((l) => l === 'answer').length, 1, 'caller answered only once');
  t.same(h.media.bridges.at(-1), ['A', second.id]);
  second.emit('hangup');
  t.equal(await h.done, 'callee-hangup');
  t.same(h.status.named('connect:hangup').map((e) => e.data), [{ endedBy: 'callee' }, { endedBy: 'callee' }]);
});

t.test('callerId, callerName and dest headers reach the dialer', async (t) => {
  const h = harness({
    replies: [script({ verb: 'connect', callerId: '0800123', callerName: 'Sales', dest: { type: 'sip', address: 'sip:x@127.0.0.1', headers: { 'X-Tag': 'v1' } } })],
  });
  await flush();
  const a = h.dialer.attempts[0]!;
  t.same(a.opts, { callerId: '0800123', callerName: 'Sales', headers: { 'X-Tag': 'v1' }, timeoutMs: 30_000, from: '1001' });
  h.inbound.cancel();
  await h.done;
});

t.test('a CANCEL crossing our 200 to the caller: callee and caller are both released, cause caller-cancel', async (t) => {
  const h = harness({ replies: [script({ verb: 'connect', dest: 'sip:x@127.0.0.1' })] });
  await flush();
  const b = h.dialer.attempts[0]!;
  // The CANCEL arrives while the 200 is being sent (answer() runs, then the CANCEL listener fires).
  const realAnswer = h.inbound.answer.bind(h.inbound);
  h.inbound.answer = (sdp?: string) => {
    h.inbound.cancel();
    realAnswer(sdp);
  };
  b.emit('answered');
  t.equal(await h.done, 'caller-cancel');
  t.equal(b.hangups.length, 1, 'callee BYE');
  t.equal(h.inbound.hangups, 1, 'caller (answered after all) BYE');
  t.equal(h.status.named('call:end').length, 1);
});

t.test('an initial script (no first CallHook request) is validated like a hook reply', async (t) => {
  const bad = harness({ initialScript: [{ verb: 'response', code: 302 }], maxRetries: 0 });
  t.equal(await bad.done, 'hook-failed');
  t.equal(bad.inbound.rejected?.code, 480);
  t.equal(bad.hooks.bodies.length, 0);
  const good = harness({ initialScript: [{ verb: 'response', code: 603 }] });
  t.equal(await good.done, 'response');
  t.equal(good.inbound.rejected?.code, 603);
  t.equal(good.inbound.rejected?.reason, 'Decline');
});
