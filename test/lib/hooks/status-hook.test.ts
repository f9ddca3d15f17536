import t from 'tap';
import { HookClient, StatusHookQueue, STATUS_EVENTS, hookReply } from '../../../lib/hooks/index.js';

const noSleep = () => Promise.resolve();

t.test('event names are exactly SPEC §5, with no stray whitespace', async (t) => {
  t.equal(STATUS_EVENTS.length, 22);
  for (const e of STATUS_EVENTS) t.match(e, /^[a-z]+:[a-z-]+$/);
});

t.test('emit never waits and delivers {callId, event, timestamp, label?, ...data}', async (t) => {
  const bodies: any[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const q = new StatusHookQueue({
    client: new HookClient(),
    sleep: noSleep,
    now: () => new Date('2026-11-23T10:00:00Z'),
  });
  const hook = async (b: Record<string, unknown>) => {
    await gate;
    bodies.push(b);
    return {};
  };
  const before = Date.now();
  q.emit(hook, { callId: 'c1', event: 'connect:answered', label: 'sales', data: { dest: '1002', index: 0 } });
  t.ok(Date.now() - before < 50, 'emit returned before the hook answered');
  t.equal(q.size, 1);
  release();
  await q.drain();
  t.same(bodies, [{ dest: '1002', index: 0, callId: 'c1', event: 'connect:answered', timestamp: '2026-11-23T10:00:00.000Z', label: 'sales' }]);
  t.equal(q.counters.delivered, 1);
});

t.test('events of one call arrive in order even when an earlier one is slow', async (t) => {
  const order: string[] = [];
  const q = new StatusHookQueue({ client: new HookClient(), sleep: noSleep });
  const hook = async (b: Record<string, unknown>) => {
    if (b.event === 'connect:start') await new Promise((r) => setTimeout(r, 30));
    order.push(b.event as string);
    return {};
  };
  q.emit(hook, { callId: 'c', event: 'connect:start' });
  q.emit(hook, { callId: 'c', event: 'connect:trying' });
  q.emit(hook, { callId: 'c', event: 'call:end' });
  await q.drain();
  t.same(order, ['connect:start', 'connect:trying', 'call:end']);
});

t.test('a failing hook is retried, then given up and counted', async (t) => {
  let calls = 0;
  const q = new StatusHookQueue({ client: new HookClient(), retries: 2, sleep: noSleep });
  q.emit(() => { calls++; return hookReply(500); }, { callId: 'x', event: 'hook:error' });
  await q.drain();
  t.equal(calls, 3);
  t.equal(q.counters.retried, 2);
  t.equal(q.counters.failed, 1);

  let n = 0;
  q.emit(() => (++n < 2 ? hookReply(503) : {}), { callId: 'y', event: 'call:end' });
  await q.drain();
  t.equal(n, 2);
  t.equal(q.counters.delivered, 1);
});

t.test('unknown event names are refused and the queue is bounded', async (t) => {
  const q = new StatusHookQueue({ client: new HookClient(), maxQueued: 2, sleep: noSleep });
  q.emit(() => ({}), { callId: 'a', event: 'connect:answered ' as any });
  t.equal(q.counters.invalid, 1);
  const never = () => new Promise(() => {});
  const q2 = new StatusHookQueue({ client: new HookClient({ timeoutMs: 20 }), maxQueued: 2, retries: 0, sleep: noSleep });
  q2.emit(never, { callId: 'a', event: 'call:end' });
  q2.emit(never, { callId: 'b', event: 'call:end' });
  q2.emit(never, { callId: 'c', event: 'call:end' });
  t.equal(q2.counters.dropped, 1);
  await q2.drain();
  t.equal(q2.counters.failed, 2);
});

t.test('no target: nothing is queued', async (t) => {
  const q = new StatusHookQueue({ client: new HookClient() });
  q.emit(undefined, { callId: 'a', event: 'call:end' });
  t.equal(q.size, 0);
  t.equal(q.counters.emitted, 0);
});
