/**
 * Public entry point of sip-stack/transaction — RFC 3261 §17 transactions with RFC 6026 (Accepted state, Timers
 * L and M). Other layers import only this file. Full reference: docs/sip-transaction.md.
 *
 * Usage (the ua layer wires it):
 *   const layer = new TransactionLayer({ send: (m, t) => transport.send(m, t), tu, clock?, timers?, policy? });
 *   transport.on('message', (m, src) => layer.receive(m, src));
 *   // server side: tu.receiveRequest(req, tx) → tx.respond(createResponse(req, 180, ...)); CANCEL is answered by
 *   //   the layer (200 + 487 unless the TU answers in tx.on('cancel')); 100 Trying goes out after 200 ms.
 *   // client side: const tx = layer.sendRequest(req, target, { receiveResponse(res, tx) {...} });
 *   //   INVITE: tx.cancel({reason}) sends CANCEL per §9.1; ACK for non-2xx is automatic; ACK for 2xx → sendAck().
 * Time: pass a VirtualClock in tests and call clock.advance(ms).
 */
export { type Clock, type TimerHandle, systemTimerClock, VirtualClock } from './clock.js';
export { type TimerConfig, type TimerTable, DEFAULT_TIMER_CONFIG, timerValues, resolveTimerConfig, isReliableTransport } from './timers.js';
export { TransactionError, type TransactionErrorCode } from './errors.js';
export { serverTransactionKey, clientTransactionKey, mergedRequestKey, rfc2543AckKey, transactionMethod, type ServerKey } from './matching.js';
export { checkRequest, STANDARD_METHODS, type RequestPolicy, type Rejection } from './request-checks.js';
export { localResponse, isLocalResponse } from './local-response.js';
export type { TransactionEvents } from './transaction.js';
export { InviteClientTransaction, InviteClientState, createCancel, createAckForNon2xx, type CancelOptions, type InviteClientEvents } from './invite-client-transaction.js';
export { NonInviteClientTransaction, NonInviteClientState, type NonInviteClientEvents } from './non-invite-client-transaction.js';
export { InviteServerTransaction, InviteServerState, type InviteServerEvents } from './invite-server-transaction.js';
export { NonInviteServerTransaction, NonInviteServerState, type NonInviteServerEvents } from './non-invite-server-transaction.js';
export { TransactionLayer, type TransactionLayerOptions } from './transaction-layer.js';
export type { TransactionUser, ClientTransactionUser, ClientTransaction, ServerTransaction, AnyTransaction, TransactionKind,
  TransactionCounters, TransactionLogger, SendFunction } from './types.js';
