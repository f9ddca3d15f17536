/**
 * Errors of the call engine (lib/call). Each has a stable `code`; docs/call-engine.md lists them with a sentence
 * each. The executor never lets one of these escape into the SIP layer: they are logged, counted and turned into
 * a final response, a BYE, or a StatusHook event.
 */
export type CallErrorCode =
  /** A state change the call's transition table does not allow (a bug in a binding, never network input). */
  | 'DPBX_ERR_CALL_STATE'
  /** A Dest could not be turned into something to dial (unregistered client, unknown trunk, bad URI). Carried
   *  by failed DestResolutions and reported as `connect:skipped`. */
  | 'DPBX_ERR_CALL_DEST_UNRESOLVED'
  /** The CallHook failed (timeout, non-200, invalid JSON, invalid CallScript) and no fallback hook answered. */
  | 'DPBX_ERR_CALL_HOOK_FAILED'
  /** A CallControl binding (SIP UA or media relay) threw or rejected. */
  | 'DPBX_ERR_CALL_CONTROL'
  /** A REFER that cannot be acted on now (call not connected, transfer already running). */
  | 'DPBX_ERR_CALL_TRANSFER_REFUSED'
  /** The executor itself failed (a bug); the call was ended with cause `error`. */
  | 'DPBX_ERR_CALL_INTERNAL'
  /** Invalid options given to a call-engine factory. */
  | 'DPBX_ERR_CALL_OPTIONS';

export class CallError extends Error {
  readonly code: CallErrorCode;
  constructor(code: CallErrorCode, message: string) {
    super(message);
    this.name = 'CallError';
    this.code = code;
  }
}
