import t from 'tap';
import { responseTarget, viaStamp, rportRequested, type ViaView } from '../../../sip-stack/transport/response-target.js';
import type { MessageSource } from '../../../sip-stack/transport/types.js';

function via(p: Partial<ViaView>): ViaView {
  return { transport: 'UDP', host: '192.0.2.1', port: undefined, received: undefined, rport: undefined, ...p };
}
const udpSource: MessageSource = { transport: 'udp', address: '198.51.100.7', port: 40000, localAddress: '0.0.0.0', localPort: 5060 };

t.test('RFC 3261 §18.2.1: received is added when sent-by differs from the source address', async (t) => {
  t.same(viaStamp(via({ host: '192.0.2.1' }), udpSource), { received: '198.51.100.7', rport: undefined });
  t.same(viaStamp(via({ host: 'pc33.example.com' }), udpSource), { received: '198.51.100.7', rport: undefined }, 'domain name → received');
  t.same(viaStamp(via({ host: '198.51.100.7', port: 40000 }), udpSource), { received: undefined, rport: undefined }, 'same address: nothing');
});

t.test('IPv6 sent-by compares by value, brackets and zero compression ignored', async (t) => {
  const src: MessageSource = { ...udpSource, address: '::1' };
  t.same(viaStamp(via({ host: '[0:0:0:0:0:0:0:1]' }), src), { received: undefined, rport: undefined });
  t.same(viaStamp(via({ host: '[2001:db8::9]' }), src), { received: '::1', rport: undefined }, 'received holds the bare IPv6 address');
  t.same(viaStamp(via({ host: '127.0.0.1' }), { ...udpSource, address: '::ffff:127.0.0.1' }), { received: undefined, rport: undefined }, 'v4-mapped source');
});

t.test('RFC 3581 §4: rport without value is filled with the source port and received is set too', async (t) => {
  t.ok(rportRequested(via({ rport: null })));
  t.ok(rportRequested(via({ rport: true })));
  t.notOk(rportRequested(via({ rport: 5070 })));
  t.notOk(rportRequested(via({})));
  t.same(viaStamp(via({ host: '198.51.100.7', rport: null }), udpSource), { received: '198.51.100.7', rport: 40000 });
  t.same(viaStamp(via({ host: '10.0.0.1', rport: 5070 }), udpSource), { received: '198.51.100.7', rport: undefined }, 'rport with a value is left alone');
});

t.test('RFC 3261 §18.2.2 over UDP: received address and sent-by port (default 5060)', async (t) => {
  t.same(responseTarget(via({ host: '192.0.2.1', received: '198.51.100.7' }), udpSource), { transport: 'udp', address: '198.51.100.7', port: 5060 });
  t.same(responseTarget(via({ host: '192.0.2.1', port: 5080 }), udpSource), { transport: 'udp', address: '192.0.2.1', port: 5080 });
  t.same(responseTarget(via({ host: '[2001:db8::1]', port: 5062 }), { ...udpSource, address: '2001:db8::1' }), { transport: 'udp', address: '2001:db8::1', port: 5062 });
});

t.test('RFC 3581 §4: a filled rport wins over the sent-by port', async (t) => {
  t.same(responseTarget(via({ host: '10.0.0.1', port: 5060, received: '198.51.100.7', rport: 40000 }), udpSource), { transport: 'udp', address: '198.51.100.7', port: 40000 });
});

t.test('reliable transports go back over the connection the request came in on', async (t) => {
  const src: MessageSource = { transport: 'tcp', address: '198.51.100.7', port: 50123, localAddress: '127.0.0.1', localPort: 5060, connectionId: 'tcp-7' };
  t.same(responseTarget(via({ transport: 'TCP', host: 'client.example', received: '198.51.100.7' }), src), { transport: 'tcp', address: '198.51.100.7', port: 5060, connectionId: 'tcp-7' });
  const tls: MessageSource = { ...src, transport: 'tls', connectionId: 'tls-2' };
  t.same(responseTarget(via({ transport: 'TLS', host: '198.51.100.7' }), tls), { transport: 'tls', address: '198.51.100.7', port: 5061, connectionId: 'tls-2' }, 'TLS default port 5061');
});
