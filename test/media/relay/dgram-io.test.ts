/**
 * The core relay scenarios again with the node:dgram fallback I/O (DPBX_RELAY_IO=dgram): latching and re-latching,
 * strangers, re-INVITE, malformed packets, SSRC switches, payload-type mapping, hold, media timeout, errors
 * (relay.test.ts); RTCP pass-through and generation, rtcp-mux, old-style hold, counters (rtcp-hold-counters);
 * SRTP in every mix (srtp); announcements and ringback (play); port pool exhaustion and release (port-pool).
 * The files themselves run with the default I/O (native when the addon is built).
 */
import t from 'tap';

process.env.DPBX_RELAY_IO = 'dgram';
const { getUdpIo } = await import('../../../media/relay/udp-io.js');
t.equal(getUdpIo().mode, 'dgram', 'DPBX_RELAY_IO=dgram selects node:dgram');

await import('./relay.test.js');
await import('./rtcp-hold-counters.test.js');
await import('./srtp.test.js');
await import('./play.test.js');
await import('./port-pool.test.js');
