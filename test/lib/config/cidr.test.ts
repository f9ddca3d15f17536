import t from 'tap';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../../../lib/config/index.js';

const c = (s: string) => {
  const r = parseCidr(s);
  if (typeof r === 'string') throw new Error(r);
  return r as Cidr;
};
const inside = (cidr: string, ip: string) => cidrContains(c(cidr), parseIp(ip)!);

t.test('IPv4 CIDRs', async (t) => {
  t.ok(inside('198.51.100.0/24', '198.51.100.7'));
  t.ok(inside('198.51.100.0/24', '198.51.100.255'));
  t.notOk(inside('198.51.100.0/24', '198.51.101.1'));
  t.ok(inside('10.0.0.0/8', '10.255.1.2'));
  t.ok(inside('198.51.100.9', '198.51.100.9'), 'bare address = /32');
  t.notOk(inside('198.51.100.9', '198.51.100.10'));
  t.ok(inside('198.51.100.77/25', '198.51.100.1'), 'host bits are masked');
  t.notOk(inside('198.51.100.77/25', '198.51.100.200'));
  t.ok(inside('0.0.0.0/0', '203.0.113.5'));
  t.notOk(inside('0.0.0.0/0', '2001:db8::1'), 'IPv4 /0 does not swallow IPv6');
});

t.test('IPv4-mapped IPv6 sources match IPv4 networks', async (t) => {
  t.ok(inside('198.51.100.0/24', '::ffff:198.51.100.7'));
  t.ok(inside('198.51.100.0/24', '::FFFF:c633:6407'));
  t.notOk(inside('198.51.100.0/24', '::ffff:198.51.99.7'));
});

t.test('IPv6 CIDRs', async (t) => {
  t.ok(inside('2001:db8::/32', '2001:db8:1234::1'));
  t.ok(inside('2001:db8::/32', '[2001:db8::5]'));
  t.notOk(inside('2001:db8::/32', '2001:db9::1'));
  t.ok(inside('2001:db8:0:1::/64', '2001:db8:0:1:ffff::1'));
  t.notOk(inside('2001:db8:0:1::/64', '2001:db8:0:2::1'));
  t.ok(inside('2001:db8::1', '2001:db8:0:0:0:0:0:1'), 'bare address = /128');
  t.ok(inside('fe80::/10', 'fe80::1%eth0'), 'zone id ignored');
  t.ok(inside('::1/128', '::1'));
  t.ok(inside('2001:db8::/127', '2001:db8::1'));
  t.notOk(inside('2001:db8::/127', '2001:db8::2'));
});

t.test('bad CIDRs are rejected with a reason', async (t) => {
  t.type(parseCidr('198.51.100.0/33'), 'string');
  t.type(parseCidr('2001:db8::/129'), 'string');
  t.type(parseCidr('300.1.1.1/8'), 'string');
  t.type(parseCidr('host.example/24'), 'string');
  t.type(parseCidr('10.0.0.0/x'), 'string');
  t.equal(parseIp('not-an-ip'), undefined);
});
