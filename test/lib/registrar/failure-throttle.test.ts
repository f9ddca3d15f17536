import t from 'tap';
import { FailureThrottle, throttleKey } from '../../../lib/registrar/index.js';

t.test('sliding window: blocked at N failures, for as long as the oldest counted one stays in the window', async (t) => {
  const th = new FailureThrottle({ maxFailures: 3, windowMs: 10_000 });
  const t0 = 1_000_000;
  t.equal(th.recordFailure('192.0.2.1', t0), 0);
  t.equal(th.recordFailure('192.0.2.1', t0 + 1000), 0);
  t.equal(th.blockedFor('192.0.2.1', t0 + 2000), 0);
  t.equal(th.recordFailure('192.0.2.1', t0 + 4000), 6, 'third failure: blocked until t0 + 10 s');
  t.equal(th.blockedFor('192.0.2.1', t0 + 9500), 1);
  t.equal(th.blockedFor('192.0.2.1', t0 + 10_000), 0, 'the first failure left the window');
  t.equal(th.recordFailure('192.0.2.1', t0 + 10_500), 1, 'a new failure re-blocks until t0 + 11 s (the second one leaves)');
  t.equal(th.blockedFor('192.0.2.2', t0), 0, 'other sources are independent');
  t.equal(th.blockedSources(t0 + 10_500), 1);
  th.prune(t0 + 100_000);
  t.equal(th.size, 0, 'pruned when everything left the window');
});

t.test('keys: IPv4 (also IPv4-mapped) per address, IPv6 per /64', async (t) => {
  t.equal(throttleKey('192.0.2.1'), '192.0.2.1');
  t.equal(throttleKey('::ffff:192.0.2.1'), '192.0.2.1');
  t.equal(throttleKey('2001:db8:1:2:aaaa::1'), throttleKey('2001:db8:1:2:bbbb::9'));
  t.not(throttleKey('2001:db8:1:2::1'), throttleKey('2001:db8:1:3::1'));
  t.equal(throttleKey('[2001:db8::1]'), '2001:db8:0:0::/64');
  const th = new FailureThrottle({ maxFailures: 2, windowMs: 1000 });
  th.recordFailure('2001:db8::1', 0);
  th.recordFailure('2001:db8::2', 0);
  t.ok(th.blockedFor('2001:db8::3', 1) > 0, 'a host rotating addresses inside its /64 is still blocked');
});

t.test('memory is bounded: least recently failing sources are dropped first', async (t) => {
  const th = new FailureThrottle({ maxFailures: 1, windowMs: 60_000, maxSources: 3 });
  for (let i = 1; i <= 5; i++) th.recordFailure(`198.51.100.${i}`, i);
  t.equal(th.size, 3);
  t.equal(th.blockedFor('198.51.100.1', 10), 0, 'oldest forgotten');
  t.ok(th.blockedFor('198.51.100.5', 10) > 0);
});

t.test('bad options throw RangeError', async (t) => {
  t.throws(() => new FailureThrottle({ maxFailures: 0 }), RangeError);
  t.throws(() => new FailureThrottle({ windowMs: 0 }), RangeError);
});
