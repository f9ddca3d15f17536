import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigValidationError, normalizeConfig, redactConfig } from '../../../lib/config/index.js';
import { fixturePath } from '../../helpers/env.js';

const specExample = () => JSON.parse(readFileSync(fixturePath('config', 'spec-example.json'), 'utf8'));

t.test('the SPEC §2 example loads and normalises', async (t) => {
  const cfg = normalizeConfig(specExample(), { filePath: '/srv/hooks' });
  const d = cfg.domains.get('pbx.example.com')!;
  t.equal(d.id, 1);
  t.equal(d.clients.length, 2);
  const [c1, c2] = d.clients;
  t.equal(c1!.auth.kind, 'reghook');
  t.same(c1!.codecs, ['G722', 'PCMA', 'PCMU'], 'default codecs filled in');
  t.equal(c1!.maxContacts, 1, 'maxContacts defaults to 1');
  t.equal(c2!.auth.kind, 'password');
  t.equal(c2!.expires, 300);
  t.equal(c2!.maxContacts, 3);
  const nine = c2!.dialplan.entries.find((e) => e.pattern.source === '9*')!;
  t.same(nine.callHook, { kind: 'file', name: 'outbound.json', path: join('/srv/hooks', 'outbound.json') });
  t.same(nine.statusHook, { kind: 'url', url: 'https://app.example.com/status' });
  const tr = d.trunks[0]!;
  t.equal(tr.name, 'carrier');
  t.same(tr.inbound.map((c) => [c.family, c.prefix]), [
    [4, 120],
    [6, 32],
  ]);
  t.same(tr.outbound, {
    host: 'sip.carrier.example',
    port: 5060,
    transport: 'udp',
    username: 'acct',
    password: 'pw',
    register: true,
    expires: 600,
  });
  t.same(tr.codecs, ['PCMA', 'PCMU']);
  t.equal(cfg.trunkRoutes.length, 2);
});

t.test('defaults and canonical codec names', async (t) => {
  const cfg = normalizeConfig(
    {
      domains: {
        'PBX.Test': {
          clients: [{ username: '1000', password: 'x', codecs: ['pcmu', 'g711a', 'OPUS', 'PCMU'] }],
          trunks: [{ id: 'a', name: 'a', outbound: { host: 'h.test', transport: 'TLS' } }],
        },
      },
    },
    { defaultCodecs: ['PCMU'] },
  );
  const d = cfg.domains.get('pbx.test')!;
  t.equal(d.name, 'pbx.test', 'domain names lower-cased');
  t.same(d.clients[0]!.codecs, ['PCMU', 'PCMA', 'opus'], 'aliases canonical, duplicates dropped');
  t.same(d.clients[0]!.dialplan.entries, []);
  t.same(d.trunks[0]!.outbound, { host: 'h.test', port: 5061, transport: 'tls', register: false, expires: 3600 });
  t.same(d.trunks[0]!.codecs, ['PCMU'], 'defaultCodecs option used');
});

function issuesOf(raw: unknown): string[] {
  try {
    normalizeConfig(raw, { filePath: '/srv/hooks' });
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      t.equal(err.code, 'DPBX_ERR_CONFIG_INVALID');
      return err.issues.map((i) => `${i.path}: ${i.message}`);
    }
    throw err;
  }
  return [];
}

t.test('validator errors name the offending path', async (t) => {
  const bad = specExample();
  bad.domains['pbx.example.com'].clients[1].dialplan['9*'].callHook = 'ftp://x';
  t.same(issuesOf(bad), ['domains["pbx.example.com"].clients[1].dialplan["9*"].callHook: must be a URL or file:NAME']);

  t.match(issuesOf({}), ['domains: must be an object keyed by domain name']);
  t.match(issuesOf(null), ['(root): must be an object with "domains"']);
  t.match(issuesOf({ domains: { 'bad domain!': {} } }), ['domains["bad domain!"]: key must be a domain name (FQDN)']);

  const many = issuesOf({
    domains: {
      'a.test': {
        domain_id: {},
        clients: [
          { username: '1000' },
          { username: '', password: 'x' },
          { username: '1001', password: 'x', reghook: 'https://h.test/r' },
          { username: '1002', password: 'x', maxContacts: 0, expires: -5, codecs: ['PCMU', 'speex'] },
          { username: '1003', reghook: 'notaurl' },
          { username: '1004', password: 'x', dialplan: { '1': 'file:../../etc/passwd', '2': { statusHook: 'https://h.test/s' } } },
          { username: '1002', password: 'y' },
          'nope',
        ],
        trunks: [
          { id: 1, name: 't', inbound: ['10.0.0.0/8', '10.0.0.0/33', 'fe80::/200', 7], outbound: { host: 'h.test', port: 70000, transport: 'sctp', register: true } },
          { name: '' },
        ],
      },
      'b.test': { clients: {}, trunks: [{ id: 9, name: 'dup', inbound: ['10.0.0.0/8'] }] },
    },
  });
  const expected = [
    'domains["a.test"].domain_id: must be a number or string',
    'domains["a.test"].clients[0]: must have a reghook or a password',
    'domains["a.test"].clients[1].username: must be a non-empty pattern string',
    'domains["a.test"].clients[2]: must have either reghook or password, not both',
    'domains["a.test"].clients[3].codecs[1]: unknown codec "speex"',
    'domains["a.test"].clients[3].expires: must be a positive integer (seconds)',
    'domains["a.test"].clients[3].maxContacts: must be a positive integer',
    'domains["a.test"].clients[4].reghook: must be a URL or file:NAME',
    'domains["a.test"].clients[5].dialplan["1"]: file: hook must name a file inside FILE_PATH',
    'domains["a.test"].clients[5].dialplan["2"].callHook: must be a URL or file:NAME',
    'domains["a.test"].clients[6].username: duplicate of clients[3].username',
    'domains["a.test"].clients[7]: must be an object',
    'domains["a.test"].trunks[0].inbound[1]: prefix length must be 0..32',
    'domains["a.test"].trunks[0].inbound[2]: prefix length must be 0..128',
    'domains["a.test"].trunks[0].inbound[3]: must be a CIDR string',
    'domains["a.test"].trunks[0].outbound.transport: must be one of udp, tcp, tls, ws, wss',
    'domains["a.test"].trunks[0].outbound.port: must be a port number 1..65535',
    'domains["a.test"].trunks[0].outbound.username: is required when register is true',
    'domains["a.test"].trunks[1].id: must be a number or string',
    'domains["a.test"].trunks[1].name: must be a non-empty string',
    'domains["b.test"].clients: must be an array',
  ];
  for (const e of expected) t.ok(many.includes(e), e);
  t.equal(many.length, expected.length, 'no unexpected issues: ' + JSON.stringify(many.filter((m) => !expected.includes(m))));
});

t.test('the same CIDR on two trunks is refused (a source must identify one trunk)', async (t) => {
  const issues = issuesOf({
    domains: {
      'a.test': { trunks: [{ id: 1, name: 'x', inbound: ['10.0.0.0/8'] }] },
      'b.test': { trunks: [{ id: 1, name: 'y', inbound: ['10.1.2.3/8'] }] },
    },
  });
  t.same(issues, ['domains["b.test"].trunks[0].inbound[0]: same network as domains["a.test"].trunks[0] (a source must identify one trunk)']);
});

t.test('function hooks are accepted for library users', async (t) => {
  const fn = async () => [];
  const cfg = normalizeConfig({ domains: { 'a.test': { clients: [{ username: '*', reghook: fn }] } } });
  const auth = cfg.domains.get('a.test')!.clients[0]!.auth;
  t.equal(auth.kind === 'reghook' && auth.reghook.kind === 'function' && auth.reghook.fn, fn);
});

t.test('secrets never appear in errors or in redactConfig()', async (t) => {
  const raw = specExample();
  raw.domains['pbx.example.com'].clients[1].password = 'TOPSECRET-client';
  raw.domains['pbx.example.com'].trunks[0].outbound.password = 'TOPSECRET-trunk';
  raw.domains['pbx.example.com'].trunks[0].dialplan['*'] = 'https://user:TOPSECRET-url@app.example.com/x';
  const safe = JSON.stringify(redactConfig(normalizeConfig(raw)));
  t.notMatch(safe, /TOPSECRET/);
  t.match(safe, /"hasPassword":true/);
  t.match(safe, /"username":"acct"/);
  t.match(safe, /file:outbound.json/);
  raw.domains['pbx.example.com'].clients[1].password = 12345;
  raw.domains['pbx.example.com'].trunks[0].outbound.password = '';
  let msg = '';
  try {
    normalizeConfig(raw);
  } catch (err) {
    msg = (err as Error).message;
  }
  t.match(msg, /clients\[1\]\.password: must be a non-empty string/);
  t.notMatch(msg, /12345|TOPSECRET/);
});
