// The assembled PBX on its SIP side: a real sipp phone registers with digest auth (and un-registers), a wrong
// password is refused, OPTIONS is answered, requests for unknown domains get 404, stray in-dialog requests 481.
import t from 'tap';
import { createSocket } from 'node:dgram';
import { createPbx, type Pbx } from '../../../lib/index.js';
import { parseMessage, type SipResponse } from '../../../sip-stack/index.js';
import { fixturePath, skipUnlessCommand, freeUdpPort } from '../../helpers/env.js';
import { spawnSipp, type SippResult, sippPassed } from '../../helpers/sipp.js';

const config = {
  domains: {
    'pbx.test': {
      clients: [{ id: 1, username: '1000', password: 'pw-1000-secret', dialplan: { '1???': 'file:nothing.json' } }],
    },
  },
};

async function startPbx(t: { teardown(fn: () => unknown): void }): Promise<{ pbx: Pbx; port: number }> {
  const pbx = createPbx({ config, sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false });
  const addr = await pbx.start();
  t.teardown(() => pbx.stop());
  const udp = addr.sip.find((s) => s.transport === 'udp')!;
  return { pbx, port: udp.port };
}

function sipp(args: string[]): Promise<SippResult> {
  return spawnSipp(args, 30000).done;
}

async function register(port: number, user: string, password: string) {
  const local = await freeUdpPort();
  return sipp([
    '-p', String(local),
    `127.0.0.1:${port}`, '-sf', fixturePath('sipp', 'pbx-register-auth.xml'), '-s', user, '-key', 'domain', 'pbx.test',
    '-key', 'expires', '120', '-au', user, '-ap', password, '-auth_uri', 'pbx.test', '-m', '1', '-i', '127.0.0.1', '-timeout', '60', '-timeout_error',
    '-nostdin', '-bg', '-trace_err', '-error_file', `/tmp/dpbx-sipp-reg-${process.pid}.log`,
  ].filter((a) => a !== '-bg'));
}

/** Send one raw request over UDP and wait for the first final response. */
function ask(port: number, text: string): Promise<SipResponse> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('no final response'));
    }, 5000);
    sock.on('message', (buf) => {
      const m = parseMessage(buf);
      if (!m.isRequest && m.status >= 200) {
        clearTimeout(timer);
        sock.close();
        resolve(m);
      }
    });
    sock.bind(0, '127.0.0.1', () => {
      const lp = sock.address().port;
      sock.send(Buffer.from(text.replace(/LPORT/g, String(lp)).split('\n').join('\r\n')), port, '127.0.0.1');
    });
  });
}

const req = (method: string, uri: string, to: string, extra = '') =>
  `${method} ${uri} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:LPORT;branch=z9hG4bK-${Math.random().toString(36).slice(2)};rport
From: <sip:probe@pbx.test>;tag=abc
To: ${to}
Call-ID: ${Math.random().toString(36).slice(2)}@127.0.0.1
CSeq: 1 ${method}
Max-Forwards: 70
Contact: <sip:probe@127.0.0.1:LPORT>
${extra}Content-Length: 0

`;

t.test('OPTIONS, unknown domain, stray in-dialog request', async (t) => {
  const { port } = await startPbx(t);
  const opt = await ask(port, req('OPTIONS', 'sip:127.0.0.1', '<sip:127.0.0.1>'));
  t.equal(opt.status, 200, 'OPTIONS to our address → 200');
  t.match(opt.get('Allow') ?? '', /INVITE/, 'with Allow');
  t.equal((await ask(port, req('OPTIONS', 'sip:pbx.test', '<sip:pbx.test>'))).status, 200, 'OPTIONS to a served domain → 200');
  t.equal((await ask(port, req('INVITE', 'sip:1000@other.example', '<sip:1000@other.example>'))).status, 404, 'INVITE for an unknown domain → 404, not 500');
  t.equal((await ask(port, req('REGISTER', 'sip:other.example', '<sip:1000@other.example>', 'Expires: 60\n'))).status, 404, 'REGISTER for an unknown domain → 404');
  t.equal((await ask(port, req('BYE', 'sip:1000@pbx.test', '<sip:1000@pbx.test>;tag=nope'))).status, 481, 'BYE for no dialog → 481');
  t.equal((await ask(port, req('SUBSCRIBE', 'sip:1000@pbx.test', '<sip:1000@pbx.test>', 'Event: presence\n'))).status, 405, 'SUBSCRIBE → 405');
  const reg = await ask(port, req('REGISTER', 'sip:pbx.test', '<sip:1000@pbx.test>', 'Expires: 60\n'));
  t.equal(reg.status, 401, 'REGISTER without credentials → 401');
  const challenge = reg.get('WWW-Authenticate') ?? '';
  t.match(challenge, /realm="pbx.test"/, 'realm = the domain (never "undefined")');
});

t.test('sipp registers with digest auth and un-registers', { skip: skipUnlessCommand('sipp') }, async (t) => {
  const { pbx, port } = await startPbx(t);
  const r = await register(port, '1000', 'pw-1000-secret');
  sippPassed(t, r, 'the sipp scenario completes');
  t.ok(pbx.registrar.counters.ok >= 2, 'registered and un-registered');
  t.equal(await pbx.store.lookup({ domain: 'pbx.test', user: '1000' }), undefined, 'no binding left after Expires: 0');
  const bad = await register(port, '1000', 'wrong');
  t.not(bad.code, 0, 'a wrong password does not register');
  t.ok(pbx.registrar.counters.authFailures >= 1, 'counted as an auth failure');
});
