// Call, CallRegistry, CDRs and the SIP ladder.
import t from 'tap';
import { CallEngine, CallRegistry, CallState, MemoryCdrStore, CallError } from '../../../lib/call/index.js';
import { FakeClock, FakeDialer, FakeInbound, FakeMedia, FakeRegistrations, RecordingStatus, ScriptedHooks, flush, testConfig } from './fakes.js';

const info = (domain: string, callId = 'x@h') => ({ callId, domain, from: '1001', to: '1002', sourceAddress: '127.0.0.1', source: 'client' as const });

t.test('Call state follows its transition table; close() is idempotent and writes one CDR', async (t) => {
  const clock = new FakeClock();
  const reg = new CallRegistry({ clock, newId: () => 'id-1' });
  const call = reg.create(info('A.example.com'));
  t.equal(call.info.domain, 'a.example.com');
  t.equal(call.state, CallState.New);
  t.throws(() => call.transition(CallState.Answered), { code: 'DPBX_ERR_CALL_STATE' });
  call.transition(CallState.Routing);
  call.transition(CallState.Ringing);
  call.addLeg({ id: 'B1', role: 'callee', dest: { type: 'sip', address: 'sip:x@h' }, destIndex: 0 });
  clock.t += 2000;
  call.transition(CallState.Answered);
  call.updateLeg('B1', 'answered');
  clock.t += 5000;
  const ends: unknown[] = [];
  call.onEnd((c) => ends.push(c));
  const cdr = call.close('caller-hangup');
  t.same(call.close('error'), cdr, 'second close returns the same record');
  t.equal(ends.length, 1);
  t.equal(cdr.cause, 'caller-hangup');
  t.equal(cdr.durationMs, 7000);
  t.equal(cdr.talkMs, 5000);
  t.equal(call.state, CallState.Ended);
  t.equal(call.getLegs()[0]!.state, 'ended');
  t.same(reg.cdrs.query('a.example.com').map((c) => c.id), ['id-1']);
  t.equal(reg.size, 0, 'an ended call leaves the registry');
});

t.test('the registry is domain-scoped', async (t) => {
  const reg = new CallRegistry({ clock: new FakeClock() });
  const a = reg.create(info('a.example.com'));
  reg.create(info('b.example.com'));
  t.equal(reg.get('a.example.com', a.id), a);
  t.equal(reg.get('b.example.com', a.id), undefined, 'another domain cannot see the call');
  t.equal(reg.list('a.example.com').length, 1);
  t.equal(reg.list().length, 2);
  t.same(Object.keys(a.toJSON()).sort(), ['callId', 'domain', 'from', 'id', 'legs', 'source', 'startedAt', 'state', 'to']);
});

t.test('CDR query: newest first, from/to window, limit', async (t) => {
  const store = new MemoryCdrStore(3);
  const base = { callId: 'c', domain: 'a.example.com', from: '1', to: '2', source: 'client' as const, endedAt: 0, durationMs: 0, talkMs: 0, cause: 'x', hookRequests: 1, transfers: 0 };
  for (let i = 1; i <= 5; i++) store.add({ ...base, id: `c${i}`, startedAt: i * 1000 });
  t.equal(store.dropped, 2, 'bounded per domain');
  t.same(store.query('a.example.com').map((c) => c.id), ['c5', 'c4', 'c3']);
  t.same(store.query('a.example.com', { from: 4000 }).map((c) => c.id), ['c5', 'c4']);
  t.same(store.query('a.example.com', { to: 5000, limit: 1 }).map((c) => c.id), ['c4']);
  t.same(store.query('b.example.com'), []);
});

t.test('the SIP ladder keeps order, is bounded, masks credentials, and outlives the call briefly', async (t) => {
  const clock = new FakeClock();
  const reg = new CallRegistry({ clock, ladderCapacity: 3 });
  const call = reg.create(info('a.example.com'));
  call.ladder.append({ direction: 'in', leg: 'A', summary: 'INVITE sip:1002@a SIP/2.0', raw: 'INVITE sip:1002@a SIP/2.0\r\nAuthorization: Digest username="1001", response="deadbeef"\r\nproxy-authorization:Digest x\r\n\r\n' });
  call.ladder.append({ direction: 'out', leg: 'A', summary: 'SIP/2.0 100 Trying' });
  call.ladder.append({ direction: 'out', leg: 'B1', summary: 'INVITE sip:1002@10.0.0.2 SIP/2.0' });
  call.ladder.append({ direction: 'in', leg: 'B1', summary: 'SIP/2.0 180 Ringing', at: 5 });
  const l = call.ladder.list();
  t.same(l.map((e) => e.summary), ['SIP/2.0 100 Trying', 'INVITE sip:1002@10.0.0.2 SIP/2.0', 'SIP/2.0 180 Ringing']);
  t.equal(call.ladder.dropped, 1);
  t.equal(l[0]!.at, clock.t);
  t.equal(l[2]!.at, 5);
  const c2 = reg.create(info('a.example.com'));
  c2.ladder.append({ direction: 'in', leg: 'A', summary: 'INVITE', raw: 'INVITE x SIP/2.0\r\nAuthorization: Digest response="deadbeef"\r\n' });
  t.notMatch(c2.ladder.list()[0]!.raw!, 'deadbeef');
  t.match(c2.ladder.list()[0]!.raw!, 'Authorization: [redacted]');
  c2.close('caller-hangup');
  t.equal(reg.ladder(c2.id)?.length, 1, 'ladder readable after the end');
  t.equal(reg.ladder('nope'), undefined);
});

t.test('CallEngine starts calls, finds executors per domain, and validates its options', async (t) => {
  t.throws(() => new CallEngine({ config: undefined as any, registrations: new FakeRegistrations(), hooks: new ScriptedHooks([]) }), CallError);
  const clock = new FakeClock();
  const status = new RecordingStatus();
  const hooks = new ScriptedHooks([[{ verb: 'connect', dest: 'sip:x@127.0.0.1' }]]);
  const engine = new CallEngine({ config: testConfig, registrations: new FakeRegistrations(), hooks, status, clock });
  const inbound = new FakeInbound();
  const dialer = new FakeDialer();
  const { call, done } = engine.startCall(info('a.example.com'), { inbound, dialer, media: new FakeMedia() }, {
    callHook: { kind: 'file', name: 'x.json', path: '/srv/hooks/x.json' },
    statusHook: 'https://app/status',
  });
  t.same(hooks.targets, ['file:/srv/hooks/x.json'], 'a config file: hook becomes a file: target with its resolved path');
  await flush();
  t.equal(engine.executorIn('b.example.com', call.id), undefined);
  t.ok(engine.executorIn('a.example.com', call.id));
  t.equal(engine.activeCalls, 1);
  engine.terminateAll();
  t.equal(await done, 'terminated');
  await flush();
  t.equal(engine.activeCalls, 0);
  t.equal(engine.counters.calls, 1);
  t.equal(engine.registry.cdrs.query('a.example.com')[0]?.cause, 'terminated');
  t.equal(dialer.attempts[0]!.cancels.length, 1);
});
