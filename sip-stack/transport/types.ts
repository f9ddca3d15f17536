/**
 * Shared types of the transport layer: transports, send targets, receive sources, logger.
 */

export type TransportProtocol = 'udp' | 'tcp' | 'tls';

/** Where send() delivers a message. */
export interface SendTarget {
  transport: TransportProtocol;
  /** IP address (v4 or v6, with or without [brackets]) or, for TCP/TLS connects, a host name. */
  address: string;
  port: number;
  /**
   * TCP/TLS: the connection to use (from a received message's source). When it is still open it wins over the
   * address/port flow lookup — RFC 3261 §18.2.2 / RFC 5626: responses and requests to a registered contact go
   * back over the connection they came in on. When it is gone, the address/port flow is used (and opened if
   * needed, unless `noConnect`).
   */
  connectionId?: string;
  /** TCP/TLS: never open a new connection for this send; fail with DPBX_ERR_TRANSPORT_NO_CONNECTION instead. */
  noConnect?: boolean;
}

/** Where a received message came from. */
export interface MessageSource {
  transport: TransportProtocol;
  /** Source IP address (IPv4-mapped IPv6 addresses are reported as plain IPv4). */
  address: string;
  port: number;
  /** Local address/port the message arrived on. */
  localAddress: string;
  localPort: number;
  /** TCP/TLS: id of the connection (pass it back in SendTarget.connectionId). UDP: undefined. */
  connectionId?: string;
}

/** Structurally compatible with pino; default is silent. */
export interface TransportLogger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: TransportLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
