// Redirect of a live call (SPEC §7, PUT /domains/:d/calls/:id → CallScriptExecutor.redirect): the running verb
// is interrupted (ringing forks CANCELled with a Reason, a bridged callee BYEd while the caller stays, pause and
// announce aborted, a CallHook request abandoned), the new script or CallHook takes over, retries count again.
import t from 'tap';
import { REDIRECTED, formatReason } from '../../../lib/call/index.js';
import { FakeRegistrations, flush, harness } from './fakes.js';

const connect = (address: string, extra: Record<string, unknown> = {}) => ({ verb: 'connect', dest: { type: 'sip', address }, ...extra });

t.test('redirect during ringing: forks CANCELled with Reason, ringback stopped, the new script runs', async (t) => {
  const h = harness({ maxRetries: 1, replies: [[connect('sip:bob@127.0.0.1:5099')], [{ verb: 'response', code: 404 }]] });
  await flush();
  const bob = h.dialer.attempts[0]!;
  bob.emit('ringing');
  await flush();
  t.ok(h.media.ringing.has('A'), 'ringback while bob rings');

  t.equal(h.exec.redirect({ script: [connect('sip:carol@127.0.0.1:5098')] }), true, 'accepted');
  await flush();
  t.same(bob.cancels, [REDIRECTED], 'the ringing fork is CANCELled with an RFC 3326 Reason');
  t.equal(formatReason(bob.cancels[0]!), 'SIP;cause=487;text="Call redirected"');
  t.equal(h.dialer.attempts.length, 2, 'the new script dials carol');
  const carol = h.dialer.attempts[1]!;
  t.match(carol.what, /^sip:sip:carol@/);
  t.same(h.inbound.log, ['early 183'], 'one 183 for the whole call; the caller was neither answered nor rejected');
  t.ok(h.media.ringing.has('A'), 'ringback again for carol');
  t.same(h.status.names, [
    'connect:start',
    'connect:ringing',
    'connect:cancel',
    'connect:complete',
    'connect:start',
  ]);
  t.equal(h.registry.get('a.example.com', h.exec.call.id)?.state, 'ringing');

  carol.emit('answered');
  await flush();
  t.ok(h.inbound.isAnswered, 'caller answered by carol');
  t.same(h.media.bridges.at(-1), ['A', carol.id]);
  t.equal(h.hooks.bodies.length, 1, 'a script redirect asks no hook');
  h.inbound.bye();
  t.equal(await h.done, 'caller-hangup');
  t.equal(carol.hangups.length, 1, 'carol gets the BYE');
  t.equal(h.exec.counters.redirects, 1);
  t.equal(h.status.named('call:end').length, 1);
});

t.test('redirect during a bridged call: the callee leg is released, the caller stays and is connected anew', async (t) => {
  const h = harness({ replies: [[connect('sip:bob@127.0.0.1:5099')]] });
  await flush();
  const bob = h.dialer.attempts[0]!;
  bob.emit('answered');
  await flush();
  t.ok(h.inbound.isAnswered);
  t.equal(h.exec.call.state, 'answered');

  t.ok(h.exec.redirect({ script: [connect('sip:carol@127.0.0.1:5098')] }));
  await flush();
  t.same(bob.hangups, [REDIRECTED], 'the callee gets a BYE with the Reason');
  t.same(bob.cancels, [], 'no CANCEL after its 2xx');
  t.equal(h.inbound.hangups, 0, 'the caller stays');
  t.ok(h.media.log.includes('unbridge A'), 'the caller is unbridged from the released callee');
  t.equal(h.exec.call.getLegs().find((l) => l.id === bob.id)?.state, 'ended');
  bob.emit('hangup'); // a late BYE-related event from bob must not end the call
  await flush();
  t.equal(h.inbound.hangups, 0, 'still up');

  const carol = h.dialer.attempts[1]!;
  t.ok(carol, 'carol dialled');
  carol.emit('answered');
  await flush();
  t.same(h.media.bridges.at(-1), ['A', carol.id], 'caller bridged to carol');
  t.equal(h.inbound.log.filter((l) => l === 'answer').length, 1, 'the caller is not answered twice');
  t.equal(h.exec.call.state, 'answered');
  t.same(
    h.status.names.filter((n) => n.startsWith('connect:')),
    ['connect:start', 'connect:answered', 'connect:complete', 'connect:start', 'connect:answered'],
    'no connect:hangup for a redirect (neither party hung up)',
  );
  carol.emit('hangup');
  t.equal(await h.done, 'callee-hangup');
  t.equal(h.inbound.hangups, 1);
});

t.test('redirect during pause: the pause ends at once and the new script runs; retries count again', async (t) => {
  const h = harness({
    replies: [
      [{ verb: 'pause', duration: 1 }], // count 0
      [{ verb: 'pause', duration: 3600 }, { verb: 'response', code: 486 }], // count 1
      (b: any) => [{ verb: 'response', code: 600 + b.count }], // after the redirected script: count 1 again
    ],
  });
  await flush();
  await h.clock.advance(1000);
  t.same(h.hooks.bodies.map((b) => b.count), [0, 1], 'first script ran, first retry asked');
  await h.clock.advance(2000);
  t.ok(h.exec.redirect({ script: [{ verb: 'announce', url: 'file:/redirected.wav' }] }));
  await flush();
  t.equal(h.clock.pending, 0, 'the pause timer was cleared');
  t.same(h.media.played.map((p) => p.url), ['file:/redirected.wav'], 'the new script runs');
  const r = await h.done;
  t.equal(r, 'response');
  t.same(h.hooks.bodies.map((b) => b.count), [0, 1, 1], 'the retry count restarts for the redirected script');
  t.equal(h.inbound.rejected?.code, 601, 'the retry script after the redirect decided the end');
  t.notOk(h.inbound.log.includes('reject 486'), 'the rest of the interrupted script never ran');
  t.same(h.status.names, [
    'pause:start',
    'pause:complete',
    'pause:start',
    'pause:complete',
    'playback:start',
    'playback:complete',
    'response:sent',
    'call:end',
  ]);
});

t.test('redirect to {callHook, statusHook}: announcement aborted, new hook asked with count 0, new StatusHook used', async (t) => {
  const h = harness({
    maxRetries: 0,
    replies: [[{ verb: 'announce', url: 'file:/long.wav' }], (b: any) => [{ verb: 'response', code: 486, reason: `count ${b.count}` }]],
  });
  h.media.plays.set('file:/long.wav', 'hold');
  await flush();
  await h.clock.advance(1500);
  t.ok(h.exec.redirect({ callHook: 'https://new.example/callhook', statusHook: 'https://new.example/status' }));
  t.equal(await h.done, 'response');
  t.same(h.hooks.targets, ['https://app.example/callhook', 'https://new.example/callhook']);
  t.equal(h.hooks.bodies[1]!.count, 0, 'the new CallHook is asked with count 0');
  t.equal(h.hooks.bodies[1]!.callId, 'call-1@test');
  t.same(h.inbound.rejected, { code: 486, reason: 'count 0', headers: undefined });
  t.same(h.status.named('playback:complete')[0]!.data, { durationMs: 1500 }, 'the announcement stopped at the redirect');
  const byEvent = h.status.events.map((e, i) => `${e.event} ${h.status.targets[i]}`);
  t.same(byEvent, [
    'playback:start https://app.example/status',
    'playback:complete https://app.example/status',
    'response:sent https://new.example/status',
    'call:end https://new.example/status',
  ]);
});

t.test('redirect to a CallHook without statusHook keeps the StatusHook; a failing new hook takes the fallback', async (t) => {
  const h = harness({ replies: [[{ verb: 'pause', duration: 60 }], new Error('boom')] });
  await flush();
  t.ok(h.exec.redirect({ callHook: 'file:other.json' }));
  t.equal(await h.done, 'hook-failed');
  t.same(h.status.names, ['pause:start', 'pause:complete', 'hook:error', 'call:end']);
  t.ok(h.status.targets.every((x) => x === 'https://app.example/status'));
  t.equal(h.inbound.rejected?.code, 480);
});

t.test('redirect while the CallHook is being asked: the late reply is ignored', async (t) => {
  let release!: (v: unknown) => void;
  const h = harness({ replies: [() => new Promise((r) => (release = r))] });
  await flush();
  t.equal(h.hooks.bodies.length, 1, 'the hook request is in progress');
  t.ok(h.exec.redirect({ script: [{ verb: 'response', code: 503 }] }));
  t.equal(await h.done, 'response');
  t.equal(h.inbound.rejected?.code, 503);
  release([{ verb: 'response', code: 486 }]);
  await flush();
  t.equal(h.inbound.log.filter((l) => l.startsWith('reject')).length, 1, 'the late script never ran');
});

t.test('redirect while resolving dests: nothing is dialled', async (t) => {
  // A registration lookup held open keeps the connect in its Resolving state.
  class SlowRegistrations extends FakeRegistrations {
    gate!: () => void;
    override async lookup(aor: { domain: string; user: string }) {
      await new Promise<void>((r) => (this.gate = r));
      return super.lookup(aor);
    }
  }
  const regs = new SlowRegistrations();
  regs.set('a.example.com', '1002', ['sip:1002@10.0.0.2:5060']);
  const h = harness({ registrations: regs, maxRetries: 0, replies: [[{ verb: 'connect', dest: { type: 'client', address: '1002' } }]] });
  await flush();
  t.ok(regs.gate, 'the connect is resolving');
  t.ok(h.exec.redirect({ script: [{ verb: 'response', code: 404 }] }));
  regs.gate();
  t.equal(await h.done, 'response');
  t.equal(h.dialer.attempts.length, 0, 'the resolved contact was never dialled');
  t.equal(h.inbound.rejected?.code, 404);
  t.same(h.status.names, ['connect:start', 'connect:cancel', 'connect:complete', 'response:sent', 'call:end']);
});

t.test('redirect during early media: the caller is unbridged from the cancelled fork', async (t) => {
  const h = harness({ replies: [[connect('sip:bob@127.0.0.1:5099')]] });
  await flush();
  const bob = h.dialer.attempts[0]!;
  bob.emit('early-media');
  await flush();
  t.same(h.media.bridges.at(-1), ['A', bob.id]);
  t.ok(h.exec.redirect({ script: [{ verb: 'pause', duration: 5 }] }));
  await flush();
  t.same(bob.cancels, [REDIRECTED]);
  t.ok(h.media.log.includes('unbridge A'));
  h.inbound.cancel();
  t.equal(await h.done, 'caller-cancel');
});

t.test('redirect after the end answers false; an invalid script throws and changes nothing', async (t) => {
  const h = harness({ replies: [[{ verb: 'pause', duration: 10 }, { verb: 'response', code: 486 }]], maxRetries: 0 });
  await flush();
  t.throws(() => h.exec.redirect({ script: [{ verb: 'dance' }] }), { code: 'DPBX_ERR_CALLSCRIPT_INVALID' });
  t.throws(() => h.exec.redirect({ script: 'not an array' }), { code: 'DPBX_ERR_CALLSCRIPT_INVALID' });
  t.equal(h.exec.counters.redirects, 0);
  await h.clock.advance(10_000);
  t.equal(await h.done, 'response', 'the original script went on');
  t.equal(h.inbound.rejected?.code, 486);
  t.equal(h.exec.redirect({ script: [{ verb: 'response', code: 404 }] }), false, 'the call has ended');

  const h2 = harness({ replies: [[{ verb: 'pause', duration: 10 }]] });
  await flush();
  h2.inbound.cancel();
  t.equal(h2.exec.redirect({ script: [{ verb: 'response', code: 404 }] }), false, 'the caller already left');
  t.equal(await h2.done, 'caller-cancel');
});
