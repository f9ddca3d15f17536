// Public entry point of media/relay/ — other layers import only this file.
export { createRelay, Relay, MediaSessionHandle, resolveRelayOptions } from './relay.js';
export { RelayError, PortsExhaustedError, type RelayErrorCode } from './errors.js';
export { PortPool } from './port-pool.js';
export type {
  CodecSpec, MediaDirection, RemoteAddress, SrtpLegOptions, LegOptions, LegUpdate, LegInfo, DropCounters,
  LegStats, SessionStats, PlayOptions, SessionEvents, TranscoderCodec, RtpMeta, TranscodedFrame, Transcoder,
  TranscoderSpec, CreateTranscoder, RelayLogger, RelayOptions,
} from './types.js';
