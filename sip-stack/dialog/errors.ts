/**
 * Errors of the dialog layer. Each class carries a stable `code`; docs/sip-dialog.md lists them all.
 * Bad network input never throws from this layer: in-dialog requests get a verdict (accept / 481 / 491 / 500)
 * and malformed messages get `{ok:false}` results. These errors are for misuse by the layer above.
 */

export type DialogErrorCode =
  /** A dialog cannot be built from these messages (no To tag, no Contact, not an INVITE, a non-1xx/2xx). */
  | 'DPBX_ERR_DIALOG_CREATE'
  /** The request is not allowed in the dialog's state or role (anything after Terminated, a UAS BYE while Early). */
  | 'DPBX_ERR_DIALOG_STATE'
  /** A new INVITE while another INVITE transaction is in progress in either direction (RFC 3261 §14.1). */
  | 'DPBX_ERR_DIALOG_PENDING'
  /** ACK and CANCEL are not built by createRequest() (use createAck(); CANCEL belongs to the transaction). */
  | 'DPBX_ERR_DIALOG_METHOD'
  /** An invalid option (timer values, session interval below 90 s, ...). */
  | 'DPBX_ERR_DIALOG_OPTIONS'
  /** A second reliable provisional while one is unacknowledged and the queue is full (RFC 3262 §3). */
  | 'DPBX_ERR_DIALOG_RELIABLE_PENDING';

export class DialogError extends Error {
  readonly code: DialogErrorCode;

  constructor(code: DialogErrorCode, message: string) {
    super(message);
    this.name = 'DialogError';
    this.code = code;
  }
}
