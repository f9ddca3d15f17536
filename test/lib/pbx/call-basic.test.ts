// End to end through createPbx: sipp's built-in uac calls in over a trunk (source CIDR), the CallHook (an
// in-process function) connects it to sipp's built-in uas, the call is answered, ACKed and hung up by BYE.
import t from 'tap';
import { createPbx } from '../../../lib/index.js';
import { skipUnlessCommand, freeUdpPort } from '../../helpers/env.js';
import { spawnSipp, type SippProcess, sippPassed } from '../../helpers/sipp.js';

function sipp(args: string[]): SippProcess {
  return spawnSipp([...args, '-nostdin', '-i', '127.0.0.1'], 160000);
}

t.test('sipp uac → trunk → CallHook connect → sipp uas: answered and released', { skip: skipUnlessCommand('sipp'), timeout: 170000 }, async (t) => {
  const uasPort = await freeUdpPort();
  const hookBodies: Record<string, unknown>[] = [];
  const events: string[] = [];
  const config = {
    domains: {
      'pbx.test': {
        clients: [],
        trunks: [{
          id: 7, name: 'loop', inbound: ['127.0.0.1/32'],
          outbound: { host: '127.0.0.1', port: 5999, username: 'acct', password: 'trunk-secret-pw' },
          dialplan: {
            '*': {
              callHook: (body: unknown) => {
                hookBodies.push(body as Record<string, unknown>);
                return [{ verb: 'connect', dest: { type: 'sip', address: `sip:service@127.0.0.1:${uasPort}` } }];
              },
              statusHook: (body: unknown) => {
                events.push((body as { event: string }).event);
                return {};
              },
            },
          },
          codecs: ['PCMU', 'PCMA'],
        }],
      },
    },
  };
  const pbx = createPbx({ config, sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: 43000, rtpPortMax: 43199 });
  const addr = await pbx.start();
  t.teardown(() => pbx.stop());
  const port = addr.sip.find((s) => s.transport === 'udp')!.port;
  // The SIP objects of a call outlive it (RFC 3261 keeps them up to 64*T1 for retransmissions): once the call has
  // ended they must not hold the B2BUA's listeners (and through them the call's media, legs and closures).
  const ua = pbx.userAgent!;
  const sipObjects: Array<{ what: string; listenerCount(event: string): number }> = [];
  ua.on('invite', (inv) => sipObjects.push({ what: 'UasInvite', listenerCount: (e) => inv.listenerCount(e as 'cancelled') }));
  const invite = ua.invite.bind(ua);
  ua.invite = (...args: Parameters<typeof invite>) => {
    const inv = invite(...args);
    sipObjects.push({ what: 'UacInvite', listenerCount: (e) => inv.listenerCount(e as 'accepted') });
    void inv.result.then((r) => {
      if (r.ok) sipObjects.push({ what: 'callee Session', listenerCount: (e) => r.session.listenerCount(e as 'reinvite') });
    });
    return inv;
  };

  const uas = sipp(['-sn', 'uas', '-p', String(uasPort), '-m', '1', '-timeout', '120', '-timeout_error']);
  t.teardown(() => uas.child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 300));
  const uacPort = await freeUdpPort();
  const uac = sipp([`127.0.0.1:${port}`, '-sn', 'uac', '-s', '5551234', '-p', String(uacPort), '-m', '1', '-d', '500', '-timeout', '120', '-timeout_error']);
  t.teardown(() => uac.child.kill('SIGKILL'));

  const [a, b] = await Promise.all([uac.done, uas.done]);
  sippPassed(t, a, 'the caller completes: INVITE, 200, ACK, BYE, 200');
  sippPassed(t, b, 'the callee completes: INVITE, 180, 200, ACK, BYE, 200');
  t.equal(hookBodies.length, 1, 'the CallHook was asked once');
  const body = hookBodies[0]!;
  t.equal(body.source, 'trunk', 'identified as the trunk by source address');
  t.same(body.trunk, { id: 7, name: 'loop' }, 'trunk id and name only');
  t.equal(body.to, '5551234');
  t.notMatch(JSON.stringify(body), /trunk-secret-pw/, 'no trunk password in the CallHook body');
  await new Promise((r) => setTimeout(r, 500));
  t.ok(events.includes('connect:answered'), `status events: ${events.join(' ')}`);
  t.ok(events.includes('call:end'), 'call:end reported');
  t.equal(pbx.engine.activeCalls, 0, 'no call left behind');
  t.same(sipObjects.map((o) => o.what).sort(), ['UacInvite', 'UasInvite', 'callee Session'], 'both INVITEs and the callee session seen');
  for (const o of sipObjects) {
    const n = ['cancelled', 'trying', 'progress', 'accepted', 'failed', 'reinvite', 'update', 'info', 'refer', 'terminated']
      .reduce((sum, e) => sum + o.listenerCount(e), 0);
    t.equal(n, 0, `${o.what}: no listener left after the call`);
  }
});
