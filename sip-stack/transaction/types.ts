/**
 * Shared types of the transaction layer: the delegates the transaction user (TU) implements, the send function
 * the layer is given, and the internal context every transaction runs in.
 */
import type { SipMessageAny, SipRequest, SipResponse } from '../message/index.js';
import type { MessageSource, SendResult, SendTarget, TransportLogger } from '../transport/index.js';
import type { Clock } from './clock.js';
import type { TimerTable } from './timers.js';
import type { TransactionError } from './errors.js';
import type { InviteClientTransaction } from './invite-client-transaction.js';
import type { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import type { InviteServerTransaction } from './invite-server-transaction.js';
import type { NonInviteServerTransaction } from './non-invite-server-transaction.js';

export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
export type AnyTransaction = ClientTransaction | ServerTransaction;

/** 'ict' INVITE client, 'nict' non-INVITE client, 'ist' INVITE server, 'nist' non-INVITE server. */
export type TransactionKind = 'ict' | 'nict' | 'ist' | 'nist';

/** Structurally compatible with pino and the transport layer's logger; default is silent. */
export type TransactionLogger = TransportLogger;

/**
 * How the layer sends: normally `(m, t) => transportLayer.send(m, t)`. Must not throw; a failure is reported as
 * `{ok: false, error}` (a thrown error or rejected promise is treated the same way).
 */
export type SendFunction = (message: SipMessageAny, target: SendTarget) => Promise<SendResult> | SendResult;

/**
 * The transaction user: the layer above (UA core, dialogs). Everything the network sends that is not absorbed by a
 * transaction ends up here. Exceptions thrown by these callbacks are caught and logged.
 */
export interface TransactionUser {
  /**
   * A new request (not a retransmission, not ACK, not CANCEL) for which a server transaction was created and that
   * passed the layer's checks. The TU answers through `tx.respond()`.
   */
  receiveRequest(request: SipRequest, tx: ServerTransaction): void;
  /**
   * An ACK that matched no server transaction: the ACK for a 2xx (RFC 3261 §17.2.3 gives it its own branch), or an
   * ACK that arrives while an INVITE server transaction is in the RFC 6026 Accepted state.
   */
  receiveAck?(ack: SipRequest, source: MessageSource): void;
  /**
   * A response that matched no client transaction: 2xx retransmissions and forked 2xx after Timer M ended the
   * INVITE client transaction (RFC 3261 §17.1.1.2 / RFC 6026 §8.4). Default: dropped and counted.
   */
  receiveStrayResponse?(response: SipResponse, source: MessageSource): void;
  /**
   * A request the layer answered itself (405/501/482/483/420/481/400) without creating work for the TU; for
   * logging and metrics.
   */
  requestRejected?(request: SipRequest, status: number, source: MessageSource): void;
  /** A transaction ended with an error (timeout, missing ACK, transport failure). For logging and metrics. */
  transactionError?(tx: AnyTransaction, err: TransactionError): void;
}

/**
 * Delegate of one client transaction. When `timeout` (or `transportError`) is absent, the layer passes a locally
 * generated 408 (or 503) response to `receiveResponse` instead — RFC 3261 §8.1.3.1: "a transport failure ... the
 * UAC SHOULD treat it as a 503", and Timer B/F expiry "should be treated as a 408".
 */
export interface ClientTransactionUser {
  /** Every response the transaction passes up: 1xx, the final, and (INVITE, RFC 6026 Accepted) further 2xx. */
  receiveResponse(response: SipResponse, tx: ClientTransaction): void;
  /** Timer B / Timer F fired (or 64*T1 passed after a CANCEL without a final response, §9.1). */
  timeout?(tx: ClientTransaction, err: TransactionError): void;
  /** The transport could not send the request (or the ACK). */
  transportError?(tx: ClientTransaction, err: TransactionError): void;
  /** The transaction reached Terminated (after any of the above). */
  terminated?(tx: ClientTransaction): void;
}

/** Counters for metrics; plain numbers, read them at any time. */
export interface TransactionCounters {
  clientTransactions: number;
  serverTransactions: number;
  /** Requests or responses re-sent by a timer or in answer to a retransmission. */
  retransmissionsSent: number;
  /** Retransmitted requests/responses/ACKs swallowed by a transaction. */
  absorbed: number;
  strayResponses: number;
  /** ACKs handed to TransactionUser.receiveAck. */
  acksToTu: number;
  /** Requests answered by the layer itself (see requestRejected). */
  rejected: number;
  timeouts: number;
  transportErrors: number;
  /** Messages dropped because a header needed for matching was missing or malformed. */
  malformed: number;
  /** Exceptions thrown by TU callbacks (caught). */
  tuErrors: number;
}

/** @internal What a transaction needs from its layer. */
export interface TransactionContext {
  readonly clock: Clock;
  readonly logger: TransactionLogger;
  readonly counters: TransactionCounters;
  timersFor(transport: string): TimerTable;
  send(message: SipMessageAny, target: SendTarget): Promise<SendResult>;
  /** Called exactly once when a transaction reaches Terminated. */
  terminated(tx: AnyTransaction): void;
  /** Run a TU callback, catching and counting exceptions. */
  callTu(what: string, fn: () => void): void;
  tu: TransactionUser;
}
