/**
 * Errors of the transport layer. Every class carries a stable `code`; docs/sip-transport.md lists them all.
 * Bad network input never becomes one of these thrown past the layer: it is answered (400/413/513) or counted
 * as a drop. These errors are for the layer above: bad options, listen failures, failed sends (returned in a
 * SendResult, never thrown).
 */

export type TransportErrorCode =
  | 'DPBX_ERR_TRANSPORT_OPTIONS'
  | 'DPBX_ERR_TRANSPORT_LISTEN'
  | 'DPBX_ERR_TRANSPORT_CLOSED'
  | 'DPBX_ERR_TRANSPORT_NO_LISTENER'
  | 'DPBX_ERR_TRANSPORT_CONNECT'
  | 'DPBX_ERR_TRANSPORT_CONNECT_TIMEOUT'
  | 'DPBX_ERR_TRANSPORT_NO_CONNECTION'
  | 'DPBX_ERR_TRANSPORT_BACKPRESSURE'
  | 'DPBX_ERR_TRANSPORT_SEND';

export class TransportError extends Error {
  readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'TransportError';
    this.code = code;
  }
}
