import t from 'tap';
import { PortPool, createRelay, PortsExhaustedError, RelayError } from '../../../media/relay/index.js';
import { randomRange, canBind, PCMU } from './helpers.js';
import { createSocket } from 'node:dgram';

t.test('allocates even RTP ports with RTCP on port + 1, round-robin, and reuses released pairs', async (t) => {
  const pool = new PortPool(30001, 30010); // first even port is 30002; pairs 30002..30009 (30010 lacks its +1)
  const got = [pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()];
  t.same(got, [30002, 30004, 30006, 30008]);
  let err: unknown;
  try {
    pool.allocate();
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof PortsExhaustedError && err.code === 'DPBX_ERR_PORTS_EXHAUSTED', 'exhaustion is a PortsExhaustedError');
  pool.release(30004);
  pool.release(30004); // idempotent
  t.equal(pool.allocate(), 30004);
  t.equal(pool.allocated, 4);
  pool.quarantine(30006);
  t.equal(pool.free, 0);
  t.throws(() => new PortPool(5000, 4000), RelayError);
});

t.test('relay: exhaustion is a typed error; all ports are released after close and can be bound again', async (t) => {
  const range = randomRange(3);
  const relay = await createRelay({ ...range, bindAddress: '127.0.0.1', workers: 0 });
  t.teardown(() => relay.close());
  const s = await relay.createSession();
  const infos = [];
  for (const id of ['A', 'B', 'C']) infos.push(await s.addLeg({ id, codecs: [PCMU], rtcpMux: id === 'C' }));
  t.same(infos.map((i) => i.localPort % 2), [0, 0, 0], 'even RTP ports');
  t.equal(infos[0]!.localRtcpPort, infos[0]!.localPort + 1);
  t.equal(infos[2]!.localRtcpPort, infos[2]!.localPort, 'rtcp-mux: one port');
  await t.rejects(s.addLeg({ id: 'D', codecs: [PCMU] }), { code: 'DPBX_ERR_PORTS_EXHAUSTED' });
  await s.removeLeg('B');
  const again = await s.addLeg({ id: 'D', codecs: [PCMU] });
  t.equal(again.localPort, infos[1]!.localPort, 'the released pair is reused');
  await s.close();
  t.equal(relay.ports.allocated, 0);
  for (let p = range.rtpPortMin; p <= range.rtpPortMax; p++) t.ok(await canBind(p), `port ${p} free`);
});

t.test('a pair busy outside the relay is skipped (quarantined), not reported as exhaustion', async (t) => {
  const range = randomRange(2);
  const blocker = createSocket('udp4');
  await new Promise<void>((r) => blocker.bind(range.rtpPortMin, '127.0.0.1', () => r()));
  const relay = await createRelay({ ...range, bindAddress: '127.0.0.1', workers: 0 });
  t.teardown(async () => { blocker.close(); await relay.close(); });
  const s = await relay.createSession();
  const info = await s.addLeg({ id: 'A', codecs: [PCMU] });
  t.equal(info.localPort, range.rtpPortMin + 2);
  await t.rejects(s.addLeg({ id: 'B', codecs: [PCMU] }), { code: 'DPBX_ERR_PORTS_EXHAUSTED' });
});
