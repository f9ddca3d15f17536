/**
 * Errors of the transaction layer. Every class carries a stable `code`; docs/sip-transaction.md lists them all.
 * Network input never surfaces as one of these thrown: it becomes a SIP response or a counted drop.
 */

export type TransactionErrorCode =
  /** Timer B or F fired: no final response (RFC 3261 §17.1.1.2 / §17.1.2.2). Maps to a local 408. */
  | 'DPBX_ERR_TRANSACTION_TIMEOUT'
  /** Timer H fired: the INVITE server transaction never got the ACK for its non-2xx final response (§17.2.1). */
  | 'DPBX_ERR_TRANSACTION_NO_ACK'
  /** The transport failed to send a request or response (§17.1.4, §17.2.4). Maps to a local 503. */
  | 'DPBX_ERR_TRANSACTION_TRANSPORT'
  /** A request handed to sendRequest() cannot start a transaction (no Via, no CSeq, ACK, wrong method, ...). */
  | 'DPBX_ERR_TRANSACTION_BAD_REQUEST'
  /** A response handed to respond() does not fit the request (status out of range, 100 with a tag, ...). */
  | 'DPBX_ERR_TRANSACTION_BAD_RESPONSE'
  /** Invalid options given to the TransactionLayer. */
  | 'DPBX_ERR_TRANSACTION_OPTIONS'
  /** The layer was closed. */
  | 'DPBX_ERR_TRANSACTION_CLOSED';

export class TransactionError extends Error {
  override readonly name = 'TransactionError';
  readonly code: TransactionErrorCode;

  constructor(code: TransactionErrorCode, message: string, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.code = code;
  }
}
