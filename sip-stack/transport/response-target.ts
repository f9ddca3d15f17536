/**
 * RFC 3261 §18.2.1 (received) + RFC 3581 (rport) stamping decisions, and §18.2.2 response targeting.
 * Pure functions over a minimal Via view, no I/O.
 */
import { normalizeAddress, sameAddress } from './address.js';
import type { MessageSource, SendTarget, TransportProtocol } from './types.js';

/** The parts of a Via header these functions need (the message layer's typed Via satisfies it). */
export interface ViaView {
  /** Transport token of the sent-protocol ("UDP", "TCP", "TLS", ...), any case. */
  transport: string;
  /** sent-by host: IPv4, IPv6 (with or without brackets) or a host name. */
  host: string;
  /** sent-by port, undefined when absent. */
  port: number | undefined;
  /** `received` parameter, undefined when absent. */
  received: string | undefined;
  /**
   * `rport` parameter: a number when it has a value, `true` (or null / '' / NaN from some parsers) when present
   * without a value, undefined when absent.
   */
  rport: number | true | null | string | undefined;
}

/** What stamping a request's top Via must do (RFC 3261 §18.2.1, RFC 3581 §4). */
export interface ViaStamp {
  /** Value for `received`, or undefined when it must not be added. */
  received: string | undefined;
  /** Value for `rport`, or undefined when it must not be filled. */
  rport: number | undefined;
}

/** True when the Via's rport parameter is present but has no value (the client asks for symmetric response). */
export function rportRequested(via: ViaView): boolean {
  const r = via.rport;
  if (r === undefined) return false;
  if (r === true || r === null || r === '') return true;
  if (typeof r === 'number') return Number.isNaN(r);
  return false;
}

/**
 * RFC 3261 §18.2.1: "When the server transport receives a request over any transport, it MUST examine the value
 * of the "sent-by" parameter in the top Via header field value. If the host portion of the "sent-by" parameter
 * contains a domain name, or if it contains an IP address that differs from the packet source address, the
 * server MUST add a "received" parameter to that Via header field value."
 * RFC 3581 §4: when rport is present without a value, the server MUST set it to the source port, and MUST add
 * received (even when the address is the same).
 */
export function viaStamp(via: ViaView, source: Pick<MessageSource, 'address' | 'port'>): ViaStamp {
  const wantRport = rportRequested(via);
  const differs = !sameAddress(via.host, source.address);
  return {
    received: differs || wantRport ? normalizeAddress(source.address) : undefined,
    rport: wantRport ? source.port : undefined,
  };
}

/** Default port of a transport (RFC 3261 §19.1.2: 5060, 5061 for TLS). */
export function defaultPort(transport: string): number {
  return transport.toLowerCase() === 'tls' ? 5061 : 5060;
}

function toProtocol(viaTransport: string, fallback: TransportProtocol): TransportProtocol {
  const t = viaTransport.toLowerCase();
  return t === 'udp' || t === 'tcp' || t === 'tls' ? t : fallback;
}

/**
 * Where to send a response to a request whose top Via is `via` (as stamped on receipt) and that arrived from
 * `source` — RFC 3261 §18.2.2 with RFC 3581 §4:
 * - reliable transport (TCP/TLS): over the connection the request came in on (connectionId); should it be gone,
 *   to the `received` address (else the sent-by host) at the sent-by port (default 5060/5061);
 * - unreliable (UDP): to `received` (else the sent-by host) at `rport` when it carries a value (RFC 3581),
 *   else at the sent-by port (default 5060). `maddr` (multicast) is deliberately ignored.
 * The transport is the one the request arrived on (the Via's must match it; when it doesn't, the source wins).
 */
export function responseTarget(via: ViaView, source: MessageSource): SendTarget {
  const transport = source.transport ?? toProtocol(via.transport, 'udp');
  const address = normalizeAddress(via.received ?? via.host);
  const sentByPort = via.port ?? defaultPort(via.transport);
  if (transport === 'tcp' || transport === 'tls') {
    const target: SendTarget = { transport, address, port: sentByPort };
    if (source.connectionId !== undefined) target.connectionId = source.connectionId;
    return target;
  }
  const r = via.rport;
  const rport = typeof r === 'number' && Number.isInteger(r) && r > 0 && r < 65536 ? r : typeof r === 'string' && /^\d{1,5}$/.test(r) ? Number(r) : undefined;
  return { transport, address, port: rport ?? sentByPort };
}
