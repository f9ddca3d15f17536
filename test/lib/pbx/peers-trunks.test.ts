// Trunks with real peers (SPEC §2, §6): an inbound call from 127.0.0.2 is matched to the trunk by its source CIDR
// and connected out through a trunk whose carrier (a sipp UAS) challenges with 407: the PBX answers with the
// trunk's credentials (verified here against the trunk password). A caller from 127.0.0.3 is no trunk: its INVITE
// is challenged (401, realm = the domain) and never reaches the CallHook.
import t from 'tap';
import { parseAuth, verifyDigest } from '../../../sip-stack/index.js';
import { skipUnlessCommand } from '../../helpers/env.js';
import { freeUdpPort, logged, sipp, startPbx, waitFor } from './peers-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');
const TRUNK_PASSWORD = 'carrier-pw-7Qz';

function config(carrierPort: number, hookBodies: Record<string, unknown>[], events: string[]) {
  return {
    domains: {
      'pbx.test': {
        clients: [{ id: 1, username: '1000', password: 'pw-1000', dialplan: { '*': 'file:none.json' } }],
        trunks: [{
          id: 3, name: 'carrier', inbound: ['127.0.0.2/32'],
          outbound: { host: '127.0.0.1', port: carrierPort, username: 'acct-77', password: TRUNK_PASSWORD },
          codecs: ['PCMU'],
          dialplan: {
            '*': {
              callHook: (body: Record<string, unknown>) => {
                hookBodies.push(body);
                return [{ verb: 'connect', dest: { type: 'trunk', address: `00${String(body.to)}`, trunk_name: 'carrier' } }];
              },
              statusHook: (body: { event: string }) => {
                events.push(body.event);
                return {};
              },
            },
          },
        }],
      },
    },
  };
}

t.test('inbound by CIDR from 127.0.0.2 → outbound trunk answering a 407 with the trunk credentials', { skip, timeout: 120000 }, async (t) => {
  const carrierPort = await freeUdpPort();
  const hookBodies: Record<string, unknown>[] = [];
  const events: string[] = [];
  const { pbx, port } = await startPbx(t, config(carrierPort, hookBodies, events));

  const carrier = sipp(t, { scenario: 'peer-trunk-uas-407.xml', port: carrierPort, logs: true, args: ['-key', 'realm', 'carrier.test'] });
  await new Promise((r) => setTimeout(r, 200)); // sipp binds its port
  const callerPort = await freeUdpPort('127.0.0.2');
  const caller = sipp(t, { scenario: 'uac', port: callerPort, ip: '127.0.0.2', remote: `127.0.0.1:${port}`, args: ['-s', '4420', '-d', '300'] });

  const [c, u] = await Promise.all([caller.done, carrier.done]);
  sippPassed(t, c, 'the caller completes (INVITE, 200, ACK, BYE)');
  sippPassed(t, u, 'the carrier completes (407, ACK, INVITE with credentials, 200, ACK, BYE)');
  if (c.code !== 0 || u.code !== 0) t.comment(c.out.slice(-1500), u.out.slice(-1500));

  t.equal(hookBodies.length, 1, 'one CallHook request');
  t.equal(hookBodies[0]?.source, 'trunk', 'identified as the trunk by its source address 127.0.0.2');
  t.same(hookBodies[0]?.trunk, { id: 3, name: 'carrier' });
  t.equal(hookBodies[0]?.sourceAddress, '127.0.0.2');
  t.notMatch(JSON.stringify(hookBodies), new RegExp(TRUNK_PASSWORD), 'no trunk password in the CallHook body');

  const pa = logged(carrier.logs(), 'PROXY-AUTH');
  t.equal(pa.length, 1, 'the second INVITE carried Proxy-Authorization');
  const auth = parseAuth(pa[0] ?? 'Digest', 'Proxy-Authorization');
  t.equal(auth.scheme, 'Digest');
  t.equal(auth.username, 'acct-77', 'the trunk username');
  t.equal(auth.realm, 'carrier.test', 'the realm of the challenge');
  t.match(auth.nonce ?? '', /c0ffee$/, 'the nonce of the challenge');
  t.match(auth.params.uri ?? '', /^sip:004420@127\.0\.0\.1/, 'the digest uri is the Request-URI');
  const params = {
    username: auth.params.username!, realm: auth.params.realm!, nonce: auth.params.nonce!, uri: auth.params.uri!,
    response: auth.params.response!, algorithm: auth.params.algorithm, qop: auth.params.qop, nc: auth.params.nc, cnonce: auth.params.cnonce,
  };
  t.ok(verifyDigest(params, TRUNK_PASSWORD, 'INVITE'), 'the digest response verifies with the trunk password');
  t.notOk(verifyDigest(params, TRUNK_PASSWORD + 'x', 'INVITE'), 'and not with another password');

  await waitFor(() => events.includes('call:end'), 'call:end', 15000).catch(() => undefined);
  t.ok(events.includes('connect:answered'), `answered (${events.join(' ')})`);
  t.ok(events.includes('call:end'), 'call:end');
  t.equal(pbx.engine.activeCalls, 0, 'no call left behind');
});

t.test('a caller from 127.0.0.3 is no trunk: challenged with 401, realm = the domain, no CallHook', { skip, timeout: 120000 }, async (t) => {
  const hookBodies: Record<string, unknown>[] = [];
  const { pbx, port } = await startPbx(t, config(9, hookBodies, []));
  const p = await freeUdpPort('127.0.0.3');
  const caller = sipp(t, { scenario: 'peer-uac-challenged.xml', port: p, ip: '127.0.0.3', remote: `127.0.0.1:${port}`, logs: true, args: ['-s', '5000', '-key', 'domain', 'pbx.test'] });
  const r = await caller.done;
  sippPassed(t, r, 'INVITE → 401 → ACK');
  if (r.code !== 0) t.comment(r.out.slice(-1500));
  t.same(logged(caller.logs(), 'CHALLENGE'), ['realm="pbx.test"'], 'the challenge names the domain as realm');
  t.equal(hookBodies.length, 0, 'the CallHook was not asked');
  t.equal(pbx.engine.activeCalls, 0);
});
