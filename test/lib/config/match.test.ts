import t from 'tap';
import { findDomain, findTrunk, matchClient, matchDialplan, matchTrunkBySource, normalizeConfig } from '../../../lib/config/index.js';

const cfg = normalizeConfig({
  domains: {
    'a.test': {
      clients: [
        { username: '*', password: 'p', dialplan: { '*': 'https://a.test/any' } },
        { username: '1???', password: 'p', dialplan: { '1???': 'https://a.test/internal' } },
        { username: '1000', password: 'p' },
        { username: '10*', password: 'p' },
      ],
      trunks: [
        { id: 1, name: 'wide', inbound: ['198.51.100.0/24', '2001:db8::/32'] },
        { id: 'narrow', name: 'narrow', inbound: ['198.51.100.128/25'] },
      ],
    },
    'B.test': {
      clients: [{ username: '2000', password: 'p', dialplan: { '2???': 'https://b.test/internal' } }],
      trunks: [{ id: 1, name: 'b-trunk', inbound: ['203.0.113.0/24', '2001:db8:beef::/48'] }],
    },
  },
});

t.test('findDomain: case-insensitive, exact, unknown → undefined', async (t) => {
  t.equal(findDomain(cfg, 'A.TEST')!.name, 'a.test');
  t.equal(findDomain(cfg, 'b.test')!.name, 'b.test');
  t.equal(findDomain(cfg, 'b.test.')!.name, 'b.test', 'trailing dot');
  t.equal(findDomain(cfg, 'x.a.test'), undefined);
  t.equal(findDomain(cfg, 'test'), undefined);
  t.equal(findDomain(cfg, 'c.test'), undefined);
});

t.test('matchClient: most specific username pattern wins, not list order', async (t) => {
  const a = findDomain(cfg, 'a.test')!;
  t.equal(matchClient(a, '1000')!.username.source, '1000');
  t.equal(matchClient(a, '1001')!.username.source, '1???');
  t.equal(matchClient(a, '10012')!.username.source, '10*');
  t.equal(matchClient(a, 'alice')!.username.source, '*');
  const b = findDomain(cfg, 'b.test')!;
  t.equal(matchClient(b, '1000'), undefined, 'clients of another domain are never matched');
  t.equal(matchClient(b, '2000')!.username.source, '2000');
});

t.test('domains are isolated: dialplans and trunks stay in their domain', async (t) => {
  const b = findDomain(cfg, 'b.test')!;
  t.equal(matchDialplan(matchClient(b, '2000')!.dialplan, '1234'), undefined);
  t.equal(findTrunk(b, 'wide'), undefined);
  t.equal(findTrunk(b, 1)!.name, 'b-trunk');
  t.equal(findTrunk(findDomain(cfg, 'a.test')!, 'narrow')!.name, 'narrow');
});

t.test('matchTrunkBySource: IPv4, IPv6, IPv4-mapped; longest prefix wins', async (t) => {
  const m = (ip: string) => {
    const r = matchTrunkBySource(cfg, ip);
    return r && `${r.domain.name}/${r.trunk.name}`;
  };
  t.equal(m('198.51.100.7'), 'a.test/wide');
  t.equal(m('198.51.100.200'), 'a.test/narrow');
  t.equal(m('::ffff:198.51.100.200'), 'a.test/narrow');
  t.equal(m('2001:db8::1'), 'a.test/wide');
  t.equal(m('2001:db8:beef::1'), 'b.test/b-trunk', 'the /48 of b.test wins over the /32 of a.test');
  t.equal(m('203.0.113.9'), 'b.test/b-trunk');
  t.equal(m('192.0.2.1'), undefined);
  t.equal(m('garbage'), undefined);
});
