// The CallScript executor: retries with NEW scripts, fallbacks, hook errors, announce/response/pause, status
// labels, CallHook bodies (no trunk credentials), call:end exactly once.
import t from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HookClient, HookError, hookReply } from '../../../lib/hooks/index.js';
import { CallRegistry, CallScriptExecutor, DestResolver, newCallCounters } from '../../../lib/call/index.js';
import {
  FakeDialer,
  FakeInbound,
  FakeMedia,
  FakeRegistrations,
  FakeClock,
  RecordingStatus,
  TRUNK_PASSWORD,
  flush,
  harness,
  testConfig,
} from './fakes.js';

const announce = (url: string) => [{ verb: 'announce', url }];

t.test('retries ask the CallHook with count 1, 2, 3 and run each NEW script, then 480', async (t) => {
  const h = harness({
    replies: [
      (b: any) => announce(`file:/script-${b.count}.wav`),
      (b: any) => announce(`file:/script-${b.count}.wav`),
      (b: any) => announce(`file:/script-${b.count}.wav`),
      (b: any) => announce(`file:/script-${b.count}.wav`),
      announce('file:/never.wav'),
    ],
  });
  t.equal(await h.done, 'unanswered');
  t.same(h.hooks.bodies.map((b) => b.count), [0, 1, 2, 3], 'count 0 then three retries');
  t.same(
    h.media.played.map((p) => p.url),
    ['file:/script-0.wav', 'file:/script-1.wav', 'file:/script-2.wav', 'file:/script-3.wav'],
    'each retry runs the script it got, not the first one (SPEC §8)',
  );
  t.equal(h.inbound.rejected?.code, 480);
  t.equal(h.inbound.rejected?.reason, 'Temporarily Unavailable');
  t.equal(h.status.named('call:end').length, 1);
});

t.test('the configured final code replaces 480; maxRetries is honoured', async (t) => {
  const h = harness({ maxRetries: 1, fallback: { code: 404, reason: 'Nobody Here' }, replies: [announce('file:/a.wav'), announce('file:/b.wav')] });
  t.equal(await h.done, 'unanswered');
  t.equal(h.hooks.bodies.length, 2);
  t.same(h.inbound.rejected, { code: 404, reason: 'Nobody Here', headers: undefined });
});

t.test('a failing CallHook: hook:error and the fallback code (default 480)', async (t) => {
  const h = harness({ replies: [new HookError('DPBX_ERR_HOOK_TIMEOUT', 'no answer within 3000 ms')] });
  t.equal(await h.done, 'hook-failed');
  t.same(h.status.names, ['hook:error', 'call:end']);
  t.same(h.status.named('hook:error')[0]!.data, { code: 'DPBX_ERR_HOOK_TIMEOUT', reason: 'no answer within 3000 ms' });
  t.equal(h.inbound.rejected?.code, 480);
  t.equal(h.registry.cdrs.query('a.example.com')[0]?.finalStatus, 480);
});

t.test('a failing CallHook with a fallback hook: the second hook is asked with the same body', async (t) => {
  const h = harness({
    fallback: { callHook: 'https://backup.example/callhook' },
    replies: [new HookError('DPBX_ERR_HOOK_STATUS', 'answered HTTP 500', 500), [{ verb: 'response', code: 486 }]],
  });
  t.equal(await h.done, 'response');
  t.same(h.hooks.targets, ['https://app.example/callhook', 'https://backup.example/callhook']);
  t.same(h.hooks.bodies[0], h.hooks.bodies[1]);
  t.equal(h.status.named('hook:error').length, 1);
  t.equal(h.inbound.rejected?.code, 486);
});

t.test('a failing retry also takes the fallback', async (t) => {
  const h = harness({ fallback: { code: 503 }, replies: [announce('file:/a.wav'), 'garbage'] });
  t.equal(await h.done, 'hook-failed');
  t.same(h.status.names, ['playback:start', 'playback:complete', 'hook:error', 'call:end']);
  t.equal(h.inbound.rejected?.code, 503);
});

t.test('garbage from a real hook client (HTTP and function hooks) → hook:error + fallback, never a hang', async (t) => {
  const bodies: Record<string, string> = {
    '/bad-json': '{"verb": "connect", ',
    '/not-a-script': '{"hello": "world"}',
    '/bad-verb': '[{"verb": "dance"}]',
    '/redirect-no-contact': '[{"verb": "response", "code": 302}]',
    '/http-500': '',
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/http-500') {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(bodies[req.url ?? ''] ?? '[]');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const client = new HookClient({ timeoutMs: 2000 });
  const cases: Array<[string, string | ((b: Record<string, unknown>) => unknown), string]> = [
    ['invalid JSON', `http://127.0.0.1:${port}/bad-json`, 'DPBX_ERR_HOOK_BAD_JSON'],
    ['an object that is no verb', `http://127.0.0.1:${port}/not-a-script`, 'DPBX_ERR_CALLSCRIPT_INVALID'],
    ['an unknown verb', `http://127.0.0.1:${port}/bad-verb`, 'DPBX_ERR_CALLSCRIPT_INVALID'],
    ['a 3xx without Contact', `http://127.0.0.1:${port}/redirect-no-contact`, 'DPBX_ERR_CALLSCRIPT_INVALID'],
    ['HTTP 500', `http://127.0.0.1:${port}/http-500`, 'DPBX_ERR_HOOK_STATUS'],
    ['a function answering 404', () => hookReply(404), 'DPBX_ERR_HOOK_STATUS'],
    ['a function returning a number', () => 42, 'DPBX_ERR_CALLSCRIPT_INVALID'],
    ['a throwing function', () => { throw new Error('boom'); }, 'DPBX_ERR_HOOK_FUNCTION'],
  ];
  for (const [what, target, code] of cases) {
    const clock = new FakeClock();
    const registry = new CallRegistry({ clock });
    const inbound = new FakeInbound();
    const status = new RecordingStatus();
    const exec = new CallScriptExecutor({
      call: registry.create({ callId: `c-${what}`, domain: 'a.example.com', from: '1001', to: '1002', sourceAddress: '127.0.0.1', source: 'client' }),
      inbound,
      dialer: new FakeDialer(),
      media: new FakeMedia(),
      resolver: new DestResolver({ config: testConfig, registrations: new FakeRegistrations() }),
      hooks: client,
      callHook: target,
      statusHook: 'https://app.example/status',
      status,
      clock,
    });
    t.equal(await exec.run(), 'hook-failed', what);
    t.same(status.names, ['hook:error', 'call:end'], `${what}: events`);
    t.equal((status.named('hook:error')[0]!.data as any).code, code, `${what}: code`);
    t.equal(inbound.rejected?.code, 480, `${what}: fallback 480`);
  }
});

t.test('response: 3xx with Contact is sent with its headers; the script ends', async (t) => {
  const h = harness({
    replies: [[{ verb: 'response', code: 302, headers: { Contact: '<sip:elsewhere@127.0.0.1>', 'X-Why': 'moved' } }, { verb: 'announce', url: 'file:/never.wav' }]],
  });
  t.equal(await h.done, 'response');
  t.same(h.inbound.rejected, { code: 302, reason: 'Moved Temporarily', headers: { 'X-Why': 'moved', Contact: '<sip:elsewhere@127.0.0.1>' } });
  t.same(h.media.played, [], 'verbs after response do not run');
  t.same(h.status.names, ['response:sent', 'call:end']);
  t.same(h.status.named('call:end')[0]!.data, { durationMs: 0, cause: 'response' });
});

t.test('response: a 3xx without Contact is rejected as an invalid script (hook:error, fallback)', async (t) => {
  const h = harness({ replies: [[{ verb: 'response', code: 301 }]] });
  t.equal(await h.done, 'hook-failed');
  t.match((h.status.named('hook:error')[0]!.data as any).reason, /Contact/);
  t.equal(h.inbound.rejected?.code, 480, 'the 301 itself was never sent');
});

t.test('announce before answer is early media: 183 with SDP first, then the play', async (t) => {
  const h = harness({ maxRetries: 0, replies: [[{ verb: 'announce', url: 'file:/welcome.wav', statusLabel: 'greeting' }]] });
  h.media.plays.set('file:/welcome.wav', 2500);
  t.equal(await h.done, 'unanswered');
  t.same(h.inbound.log, ['early 183', 'reject 480']);
  t.same(h.inbound.earlySdp, ['v=0 sdp-for-A']);
  t.same(h.media.played, [{ leg: 'A', url: 'file:/welcome.wav', answered: false }]);
  t.same(
    h.status.events.filter((e) => e.event !== 'call:end').map((e) => [e.event, e.label, e.data]),
    [
      ['playback:start', 'greeting', undefined],
      ['playback:complete', 'greeting', { durationMs: 2500 }],
    ],
  );
});

t.test('a playback that fails reports playback:failed {error} and the script goes on', async (t) => {
  const h = harness({ maxRetries: 0, replies: [[{ verb: 'announce', url: 'file:/missing.wav' }, { verb: 'response', code: 404 }]] });
  h.media.plays.set('file:/missing.wav', new Error('file not found: missing.wav'));
  t.equal(await h.done, 'response');
  t.same(h.status.named('playback:failed')[0]!.data, { error: 'file not found: missing.wav' });
  t.equal(h.inbound.rejected?.code, 404);
});

t.test('caller CANCEL during an announcement stops it at once', async (t) => {
  const h = harness({ replies: [[{ verb: 'announce', url: 'file:/long.wav' }]] });
  h.media.plays.set('file:/long.wav', 'hold');
  await flush();
  await h.clock.advance(1500);
  h.inbound.cancel();
  t.equal(await h.done, 'caller-cancel');
  t.same(h.status.named('playback:complete')[0]!.data, { durationMs: 1500 });
  t.equal(h.hooks.bodies.length, 1);
});

t.test('pause waits in virtual time; a caller CANCEL ends it at once', async (t) => {
  const h = harness({ maxRetries: 0, replies: [[{ verb: 'pause', duration: 10 }, { verb: 'response', code: 486 }]] });
  await flush();
  t.same(h.status.names, ['pause:start']);
  await h.clock.advance(9999);
  t.equal(h.inbound.rejected, undefined, 'still pausing');
  await h.clock.advance(1);
  t.equal(await h.done, 'response');
  t.same(h.status.names, ['pause:start', 'pause:complete', 'response:sent', 'call:end']);

  const h2 = harness({ replies: [[{ verb: 'pause', duration: 3600 }, { verb: 'response', code: 486 }]] });
  await flush();
  await h2.clock.advance(2000);
  h2.inbound.cancel();
  t.equal(await h2.done, 'caller-cancel');
  t.same(h2.status.names, ['pause:start', 'pause:complete', 'call:end']);
  t.equal(h2.clock.pending, 0, 'the pause timer was cleared');
  t.equal(h2.inbound.rejected, undefined, 'the response verb did not run');
  t.same(h2.status.named('call:end')[0]!.data, { durationMs: 2000, cause: 'caller-cancel' });
});

t.test('statusLabel: a string labels that verb\'s events, false silences them; call events always go out', async (t) => {
  const h = harness({
    maxRetries: 0,
    replies: [
      [
        { verb: 'pause', duration: 1, statusLabel: false },
        { verb: 'announce', url: 'file:/a.wav', statusLabel: 'intro' },
        { verb: 'connect', dest: { type: 'client', address: '1009' }, statusLabel: false },
        { verb: 'response', code: 486, statusLabel: 'busy' },
      ],
    ],
  });
  await h.clock.advance(1000);
  t.equal(await h.done, 'response');
  t.same(
    h.status.events.map((e) => [e.event, e.label]),
    [
      ['playback:start', 'intro'],
      ['playback:complete', 'intro'],
      ['response:sent', 'busy'],
      ['call:end', undefined],
    ],
  );
});

t.test('the CallHook body is SPEC §3 and never carries trunk credentials', async (t) => {
  const cfg = testConfig();
  const trunk = cfg.domains.get('a.example.com')!.trunks[0]!;
  t.equal(trunk.outbound?.password, TRUNK_PASSWORD, 'the config trunk has a password');
  const h = harness({
    maxRetries: 0,
    // The SIP layer might hand the whole Trunk object over; only id and name may leave.
    info: {
      source: 'trunk',
      from: '+441234',
      to: '2000',
      sourceAddress: '198.51.100.7',
      trunk: trunk as any,
      headers: { 'X-Carrier': 'a', Authorization: 'Digest username="acct-a", response="abc"' },
    },
    replies: [[{ verb: 'response', code: 486 }]],
  });
  await h.done;
  const body = h.hooks.bodies[0]!;
  t.same(body, {
    domain: 'a.example.com',
    from: '+441234',
    to: '2000',
    callId: 'call-1@test',
    sourceAddress: '198.51.100.7',
    source: 'trunk',
    trunk: { id: 1, name: 'carrier' },
    headers: { 'X-Carrier': 'a' },
    refer: false,
    count: 0,
  });
  const text = JSON.stringify(h.hooks.bodies);
  t.notMatch(text, TRUNK_PASSWORD);
  t.notMatch(text, 'acct-a');
  t.notMatch(text, /password/i);
});

t.test('call:end is sent exactly once however many ends race', async (t) => {
  const h = harness({ replies: [[{ verb: 'connect', dest: 'sip:x@127.0.0.1' }]] });
  await flush();
  h.dialer.attempts[0]!.emit('answered');
  await flush();
  h.inbound.bye();
  h.exec.terminate();
  h.dialer.attempts[0]!.emit('hangup');
  h.inbound.bye();
  t.equal(await h.done, 'caller-hangup');
  await flush();
  t.equal(h.status.named('call:end').length, 1);
  t.equal(h.registry.cdrs.query('a.example.com').length, 1, 'one CDR');
  t.equal(await h.exec.run(), 'caller-hangup', 'run() is idempotent');
});

t.test('a throwing binding is counted, never thrown: answer() failing ends the call with cause error', async (t) => {
  const counters = newCallCounters();
  const h = harness({ counters, replies: [[{ verb: 'connect', dest: 'sip:x@127.0.0.1' }]] });
  h.inbound.answer = () => {
    throw new Error('transaction gone');
  };
  await flush();
  h.dialer.attempts[0]!.emit('answered');
  t.equal(await h.done, 'error');
  t.equal(h.dialer.attempts[0]!.hangups.length, 1, 'the callee is released');
  t.ok(counters.controlErrors >= 1);
  t.equal(h.status.named('call:end').length, 1);
});

t.test('terminate() before answer rejects the caller with 480 and cancels the forks', async (t) => {
  const h = harness({ replies: [[{ verb: 'connect', dest: ['sip:x@127.0.0.1'] }]] });
  await flush();
  h.exec.terminate();
  t.equal(await h.done, 'terminated');
  t.equal(h.dialer.attempts[0]!.cancels.length, 1);
  t.equal(h.inbound.rejected?.code, 480);
  t.notOk(h.status.names.includes('connect:cancel'), 'connect:cancel is for the caller leaving');
});
