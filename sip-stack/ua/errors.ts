/**
 * Errors of sip-stack/ua. Every error carries a stable `code`:
 *
 * - DPBX_ERR_UA_OPTIONS   — an option given to UserAgent / RegisterClient / a method is invalid.
 * - DPBX_ERR_UA_STATE     — the operation is not allowed in the current state (e.g. accept() after reject()).
 * - DPBX_ERR_UA_TARGET    — a request target cannot be resolved to a transport address (bad URI, DNS failure).
 * - DPBX_ERR_UA_CLOSED    — the user agent is closed.
 * - DPBX_ERR_UA_NO_LISTENER — no listener of the transport needed for a request (e.g. TCP target, UDP only).
 */
export type UaErrorCode =
  | 'DPBX_ERR_UA_OPTIONS'
  | 'DPBX_ERR_UA_STATE'
  | 'DPBX_ERR_UA_TARGET'
  | 'DPBX_ERR_UA_CLOSED'
  | 'DPBX_ERR_UA_NO_LISTENER';

export class UaError extends Error {
  readonly code: UaErrorCode;
  constructor(code: UaErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UaError';
    this.code = code;
  }
}
