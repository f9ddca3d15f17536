// Public entry point of sip-stack/transport/ — other layers import only this file.
export {
  TransportLayer,
  createTransportLayer,
  mtuExceeded,
  UDP_MTU_LIMIT,
  type TransportLayerOptions,
  type ListenOptions,
  type TlsListenOptions,
  type TlsClientOptions,
  type BoundListener,
  type ConnectionInfo,
  type SendResult,
  type TransportEvents,
} from './transport-layer.js';
export { responseTarget, viaStamp, rportRequested, defaultPort, type ViaView, type ViaStamp } from './response-target.js';
export { TransportError, type TransportErrorCode } from './errors.js';
export { createCounters, DROP_REASONS, type TransportCounters, type DropReason } from './counters.js';
export { systemClock, type TransportClock } from './clock.js';
export type { CloseReason } from './stream-connection.js';
export { normalizeAddress, sameAddress, flowKey } from './address.js';
export type { TransportProtocol, SendTarget, MessageSource, TransportLogger } from './types.js';
