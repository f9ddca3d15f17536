/**
 * Errors of media/relay. Every class carries a stable `code`; docs/media.md lists them all.
 */
export type RelayErrorCode =
  | 'DPBX_ERR_PORTS_EXHAUSTED'
  | 'DPBX_ERR_RELAY_OPTIONS'
  | 'DPBX_ERR_RELAY_CLOSED'
  | 'DPBX_ERR_RELAY_SESSION_NOT_FOUND'
  | 'DPBX_ERR_RELAY_SESSION_EXISTS'
  | 'DPBX_ERR_RELAY_LEG_NOT_FOUND'
  | 'DPBX_ERR_RELAY_LEG_EXISTS'
  | 'DPBX_ERR_RELAY_BIND'
  | 'DPBX_ERR_RELAY_NO_TRANSCODER'
  | 'DPBX_ERR_RELAY_TRANSCODER'
  | 'DPBX_ERR_RELAY_SRTP'
  | 'DPBX_ERR_RELAY_PLAY'
  | 'DPBX_ERR_RELAY_WORKER';

export class RelayError extends Error {
  readonly code: RelayErrorCode;
  constructor(code: RelayErrorCode, message: string) {
    super(message);
    this.name = 'RelayError';
    this.code = code;
  }
}

/** No free even/odd port pair is left in [rtpPortMin, rtpPortMax]; the PBX answers 503. */
export class PortsExhaustedError extends RelayError {
  constructor(min: number, max: number) {
    super('DPBX_ERR_PORTS_EXHAUSTED', `no free RTP port pair in ${min}-${max}`);
    this.name = 'PortsExhaustedError';
  }
}

/** Serialisable form used across the worker boundary. */
export interface WireError {
  code: string;
  message: string;
}

export function toWireError(err: unknown): WireError {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return { code: (err as { code: string }).code, message: (err as unknown as Error).message ?? String(err) };
  }
  return { code: 'DPBX_ERR_RELAY_WORKER', message: err instanceof Error ? err.message : String(err) };
}

export function fromWireError(w: WireError): RelayError {
  const code = (w.code.startsWith('DPBX_ERR_') ? w.code : 'DPBX_ERR_RELAY_WORKER') as RelayErrorCode;
  return new RelayError(code, w.message);
}
