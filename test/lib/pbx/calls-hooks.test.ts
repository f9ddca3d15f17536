// SPEC §3 CallHook failures through createPbx with a real sipp caller: a hook that is down (connection
// refused), slow (beyond the hook timeout), or answers garbage (not JSON / not a CallScript) → the fallback
// final code (480 by default) reaches the caller, a `hook:error` StatusHook event is sent, and nothing is left
// behind (no active call in the engine, no media session in the relay).
import t from 'tap';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { skipUnlessCommand } from '../../helpers/env.js';
import { StatusLog, freeMediaPort, freeUdpPort, loopTrunkConfig, rtpSink, settled, sipMessages, sipp, startTestPbx } from './calls-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');

/** A TCP port nothing listens on (bound a moment ago, then closed): connecting to it is refused. */
function closedTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createTcpServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

t.test('CallHook down, slow or garbage → fallback 480, hook:error, nothing left hanging', { skip, timeout: 90000 }, async (t) => {
  const asked: Record<string, Record<string, unknown>> = {};
  const held: ServerResponse[] = [];
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      try {
        asked[req.url ?? ''] = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        asked[req.url ?? ''] = { unparsable: raw };
      }
      if (req.url === '/slow') return void held.push(res); // never answered before the hook timeout
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (req.url === '/garbage') res.end('<html>this is {not json');
      else if (req.url === '/bad-verb') res.end(JSON.stringify([{ verb: 'dance', style: 'tango' }]));
      else res.end('[]');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const r of held) r.destroy();
    server.closeAllConnections();
    server.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const downUrl = `http://127.0.0.1:${await closedTcpPort()}/down`;

  const status = new StatusLog();
  const entry = (callHook: string) => ({ callHook, statusHook: status.hook });
  const config = loopTrunkConfig({
    '1001': entry(downUrl),
    '1002': entry(`${base}/slow`),
    '1003': entry(`${base}/garbage`),
    '1004': entry(`${base}/bad-verb`),
  }, { codecs: ['PCMA'] });
  const tp = await startTestPbx(t, config, { hookTimeoutMs: 400 });

  const cases = [
    { number: '1001', what: 'down (connection refused)', code: 'DPBX_ERR_HOOK_UNREACHABLE', path: undefined },
    { number: '1002', what: 'slow (beyond the hook timeout)', code: 'DPBX_ERR_HOOK_TIMEOUT', path: '/slow' },
    { number: '1003', what: 'answering garbage (not JSON)', code: 'DPBX_ERR_HOOK_BAD_JSON', path: '/garbage' },
    { number: '1004', what: 'answering an invalid verb', code: 'DPBX_ERR_CALLSCRIPT_INVALID', path: '/bad-verb' },
  ];
  for (const c of cases) {
    t.test(`CallHook ${c.what}`, async (t) => {
      const sink = await rtpSink(t);
      const caller = sipp(t, {
        scenario: 'call-uac-rejected.xml', port: await freeUdpPort(), mediaPort: await freeMediaPort(),
        target: `127.0.0.1:${tp.port}`, args: ['-s', c.number, '-key', 'rtp_port', String(sink.port)],
      });
      const r = await caller.done;
      sippPassed(t, r, 'caller: INVITE, final failure, ACK');
      const msgs = sipMessages(caller.messages());
      const final = msgs.find((m) => m.dir === 'received' && /^SIP\/2\.0 [3-6]/.test(m.startLine));
      t.match(final?.startLine, /^SIP\/2\.0 480 /, `the fallback final code reaches the caller: ${final?.startLine}`);
      if (c.path) t.equal(asked[c.path]?.count, 0, 'the hook was asked (count 0)');
      const callId = msgs.find((m) => m.dir === 'sent' && m.startLine.startsWith('INVITE '))?.header('Call-ID') ?? '-';

      await settled(tp); // engine.activeCalls 0 and no relay session (fails after a liveness bound otherwise)
      t.equal(tp.pbx.engine.activeCalls, 0, 'no active call');
      t.equal(tp.relaySessions(), 0, 'no media session left in the relay');
      const events = status.forCall(callId);
      t.same(events.map((e) => e.event), ['hook:error', 'call:end'], 'hook:error then call:end');
      t.equal(events[0]?.code, c.code, `hook:error code ${c.code}`);
      t.equal(events.at(-1)?.cause, 'hook-failed', 'call:end cause hook-failed');
    });
  }
});
