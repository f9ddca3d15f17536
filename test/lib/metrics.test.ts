import t from 'tap';
import { MetricsRegistry } from '../../lib/metrics.js';

t.test('renders Prometheus text with HELP, TYPE, labels and escaping', async (t) => {
  const r = new MetricsRegistry();
  r.register(() => [
    { name: 'dpbx_calls_active', help: 'calls up', type: 'gauge', samples: [{ labels: { domain: 'a"b' }, value: 3 }] },
  ]);
  const counters = { received: 5, parseErrors: 2 };
  r.registerCounters('dpbx_sip', 'SIP transport', () => counters, { transport: 'udp' });
  counters.received++;
  t.equal(
    r.render(),
    [
      '# HELP dpbx_calls_active calls up',
      '# TYPE dpbx_calls_active gauge',
      'dpbx_calls_active{domain="a\\"b"} 3',
      '# HELP dpbx_sip_received_total SIP transport: received',
      '# TYPE dpbx_sip_received_total counter',
      'dpbx_sip_received_total{transport="udp"} 6',
      '# HELP dpbx_sip_parse_errors_total SIP transport: parseErrors',
      '# TYPE dpbx_sip_parse_errors_total counter',
      'dpbx_sip_parse_errors_total{transport="udp"} 2',
      '',
    ].join('\n'),
  );
});

t.test('same family from two collectors is merged; a throwing collector is skipped', async (t) => {
  const r = new MetricsRegistry();
  r.registerCounters('x', 'h', () => ({ n: 1 }), { leg: 'a' });
  r.registerCounters('x', 'h', () => ({ n: 2 }), { leg: 'b' });
  r.register(() => { throw new Error('broken'); });
  const text = r.render();
  t.equal(text.match(/# TYPE x_n_total counter/g)?.length, 1);
  t.match(text, /x_n_total\{leg="a"\} 1\nx_n_total\{leg="b"\} 2/);
});
