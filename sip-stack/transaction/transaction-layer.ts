/**
 * The transaction layer (RFC 3261 §17): routes every received message to the transaction it matches, creates
 * server transactions for new requests, answers what the TU never needs to see (CANCEL per §9.2, 482/483/420/
 * 405/501, 400 for unreadable requests), and starts client transactions for the TU. No I/O of its own: it sends
 * through an injected function and keeps time through an injected Clock.
 */
import { type SipMessage, type SipMessageAny, type SipRequest, type SipResponse, SipParseError, createResponse, generateBranch } from '../message/index.js';
import { type MessageSource, type SendResult, type SendTarget, TransportError, responseTarget } from '../transport/index.js';
import { type Clock, systemTimerClock } from './clock.js';
import { type TimerConfig, type TimerTable, isReliableTransport, resolveTimerConfig, timerValues } from './timers.js';
import { TransactionError } from './errors.js';
import { clientKey, clientTransactionKey, mergedRequestKey, rfc2543AckKey, serverTransactionKey } from './matching.js';
import { type RequestPolicy, checkRequest } from './request-checks.js';
import { InviteClientTransaction } from './invite-client-transaction.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { InviteServerTransaction } from './invite-server-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import type { AnyTransaction, ClientTransaction, ClientTransactionUser, SendFunction, ServerTransaction, TransactionContext,
  TransactionCounters, TransactionLogger, TransactionUser } from './types.js';

export interface TransactionLayerOptions {
  /** How to send; normally `(m, t) => transportLayer.send(m, t)`. */
  send: SendFunction;
  /** The transaction user (UA core). */
  tu: TransactionUser;
  /** Default systemTimerClock; tests pass a VirtualClock. */
  clock?: Clock;
  /** T1/T2/T4 and the automatic-100 delay; defaults 500/4000/5000/200 ms. */
  timers?: Partial<TimerConfig>;
  logger?: TransactionLogger;
  /** Checks applied to new requests before the TU sees them (see RequestPolicy). */
  policy?: RequestPolicy;
}

const noop = (): void => {};
const silent: TransactionLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
const ignoreResponses: ClientTransactionUser = { receiveResponse: noop };

function newCounters(): TransactionCounters {
  return {
    clientTransactions: 0, serverTransactions: 0, retransmissionsSent: 0, absorbed: 0, strayResponses: 0, acksToTu: 0,
    rejected: 0, timeouts: 0, transportErrors: 0, malformed: 0, tuErrors: 0,
  };
}

export class TransactionLayer {
  readonly counters: TransactionCounters = newCounters();
  readonly clock: Clock;
  private readonly sendFn: SendFunction;
  private readonly tu: TransactionUser;
  private readonly logger: TransactionLogger;
  private readonly policy: RequestPolicy;
  private readonly unreliable: TimerTable;
  private readonly reliable: TimerTable;
  private readonly ctx: TransactionContext;
  /** Server transactions by key (plus RFC 2543 ACK keys). */
  private readonly server = new Map<string, ServerTransaction>();
  /** Keys each server transaction is registered under (server map, cancel map, merged map). */
  private readonly serverKeys = new Map<ServerTransaction, { keys: string[]; base: string; merged: string | undefined }>();
  /** §9.2 CANCEL targets by key-without-method. */
  private readonly cancelable = new Map<string, ServerTransaction>();
  /** §8.2.2.2 merged-request index. */
  private readonly merged = new Map<string, ServerTransaction>();
  private readonly client = new Map<string, ClientTransaction>();
  private closed = false;

  constructor(options: TransactionLayerOptions) {
    if (typeof options?.send !== 'function') throw new TransactionError('DPBX_ERR_TRANSACTION_OPTIONS', 'options.send must be a function');
    if (typeof options.tu?.receiveRequest !== 'function') throw new TransactionError('DPBX_ERR_TRANSACTION_OPTIONS', 'options.tu.receiveRequest must be a function');
    let cfg: TimerConfig;
    try {
      cfg = resolveTimerConfig(options.timers);
    } catch (err) {
      throw new TransactionError('DPBX_ERR_TRANSACTION_OPTIONS', (err as Error).message, err);
    }
    this.sendFn = options.send;
    this.tu = options.tu;
    this.clock = options.clock ?? systemTimerClock;
    this.logger = options.logger ?? silent;
    this.policy = options.policy ?? {};
    this.unreliable = timerValues(cfg, false);
    this.reliable = timerValues(cfg, true);
    const layer = this;
    this.ctx = {
      clock: this.clock,
      logger: this.logger,
      counters: this.counters,
      tu: this.tu,
      timersFor: (t) => this.timersFor(t),
      send: (m, t) => this.safeSend(m, t),
      terminated: (tx) => layer.removeTransaction(tx),
      callTu: (what, fn) => layer.callTu(what, fn),
    };
  }

  /** The timer table used for a transport ('udp' → unreliable values, anything else → reliable). */
  timersFor(transport: string): TimerTable {
    return isReliableTransport(transport) ? this.reliable : this.unreliable;
  }

  get serverTransactionCount(): number {
    return this.serverKeys.size;
  }

  get clientTransactionCount(): number {
    return this.client.size;
  }

  // ------------------------------------------------------------------ receive

  /**
   * Hand every received message here (TransportLayer 'message' event). Never throws: malformed input is answered
   * 400 when it can be, else counted in `counters.malformed` and dropped.
   */
  receive(message: SipMessage, source: MessageSource): void {
    if (this.closed) return;
    try {
      if (message.isRequest) this.receiveRequest(message as SipRequest, source);
      else this.receiveResponse(message as SipResponse, source);
    } catch (err) {
      this.counters.malformed++;
      if (message.isRequest && err instanceof SipParseError) this.answerMalformed(message as SipRequest, source, err);
      else this.logger.debug({ err: String(err), source }, 'message dropped');
    }
  }

  private receiveResponse(res: SipResponse, source: MessageSource): void {
    // §17.1.3 matching; anything else is stray (§17.1.1.2 / RFC 6026: late 2xx go to the TU core).
    const key = clientTransactionKey(res);
    if (key === undefined) {
      this.counters.malformed++;
      this.logger.debug({ source }, 'response without Via branch or CSeq dropped');
      return;
    }
    const tx = this.client.get(key);
    if (tx !== undefined) {
      tx.receiveResponse(res);
      return;
    }
    this.counters.strayResponses++;
    const stray = this.tu.receiveStrayResponse;
    if (stray) this.callTu('receiveStrayResponse', () => stray.call(this.tu, res, source));
  }

  private receiveRequest(req: SipRequest, source: MessageSource): void {
    const key = serverTransactionKey(req);
    // §8.1.1 mandatory headers needed for matching and answering; a request without them cannot be handled.
    const missing = req.callId === undefined ? 'Call-ID' : req.cseq === undefined ? 'CSeq' : req.from === undefined ? 'From' : req.to === undefined ? 'To' : undefined;
    if (key === undefined || missing !== undefined) {
      this.counters.malformed++;
      if (key !== undefined && req.method !== 'ACK') this.sendStateless(createResponse(req, 400, `Bad Request (missing ${missing} header)`), req, source);
      return;
    }

    if (req.method === 'ACK') {
      // §17.2.3: the ACK for a non-2xx response matches the INVITE server transaction (RFC 2543 fallback: through
      // the To tag of the response, registered as an extra key).
      const tx = this.server.get(key.key);
      if (tx !== undefined && tx.kind === 'ist') {
        tx.receiveRequest(req);
        return;
      }
      // "the ACK for a 2xx ... is a separate transaction": to the TU (dialog layer).
      this.counters.acksToTu++;
      const onAck = this.tu.receiveAck;
      if (onAck) this.callTu('receiveAck', () => onAck.call(this.tu, req, source));
      return;
    }

    const existing = this.server.get(key.key);
    if (existing !== undefined) {
      existing.receiveRequest(req);
      return;
    }

    const target = responseTarget(req.topVia!, source);
    if (req.method === 'CANCEL') {
      this.receiveCancel(req, source, target, key.key, key.base);
      return;
    }

    // Checks before the TU sees it (§8.2): method, Max-Forwards, merged request, Require.
    let rejection = checkRequest(req, this.policy);
    const mergedKey = mergedRequestKey(req);
    if (rejection === undefined && mergedKey !== undefined && this.policy.detectMergedRequests !== false) {
      // §8.2.2.2: "If the From tag, Call-ID, and CSeq exactly match those associated with an ongoing transaction,
      // but the request does not match that transaction (based on the matching rules in Section 17.2.3), the UAS
      // core SHOULD generate a 482 (Loop Detected) response and pass it to the server transaction."
      const other = this.merged.get(mergedKey);
      if (other !== undefined && !other.terminated) rejection = { status: 482, headers: [] };
    }

    const tx = this.createServerTransaction(req, source, target, key.key, key.base, rejection === undefined ? mergedKey : undefined);
    if (rejection !== undefined) {
      this.counters.rejected++;
      tx.respond(createResponse(req, rejection.status, rejection.reason, { toTag: true, headers: rejection.headers }));
      const onReject = this.tu.requestRejected;
      if (onReject) this.callTu('requestRejected', () => onReject.call(this.tu, req, rejection.status, source));
      return;
    }
    this.callTu('receiveRequest', () => this.tu.receiveRequest(req, tx));
  }

  /**
   * RFC 3261 §9.2: "The CANCEL method requests that the TU at the server side cancel a pending transaction. The TU
   * determines the transaction to be cancelled by taking the CANCEL request, and then assuming that the request
   * method is anything but CANCEL or ACK and applying the transaction matching procedures of Section 17.2.3."
   */
  private receiveCancel(cancel: SipRequest, source: MessageSource, target: SendTarget, key: string, base: string): void {
    const tx = this.createServerTransaction(cancel, source, target, key, undefined, undefined);
    const victim = this.cancelable.get(base);
    if (victim === undefined || victim.terminated) {
      // §9.2: "If the UAS did not find a transaction for the CANCEL request, it SHOULD respond to the CANCEL request
      // with a 481 (Call Leg/Transaction Does Not Exist)."
      this.counters.rejected++;
      tx.respond(createResponse(cancel, 481, undefined, { toTag: true }));
      const onReject = this.tu.requestRejected;
      if (onReject) this.callTu('requestRejected', () => onReject.call(this.tu, cancel, 481, source));
      return;
    }
    // §9.2: "Regardless of the method of the original request, as long as the CANCEL matched an existing
    // transaction, the UAS answers the CANCEL request itself with a 200 (OK) response." ... "The To tag of the
    // response to the CANCEL and the To tag in the response to the original request SHOULD be the same."
    const tag = victim.kind === 'ist' ? victim.ensureLocalTag() : true;
    tx.respond(createResponse(cancel, 200, undefined, { toTag: tag }));
    // "If the original request was an INVITE, the UAS SHOULD immediately respond to the INVITE with a 487".
    // A CANCEL of a non-INVITE request has no further effect.
    if (victim.kind === 'ist') victim.receiveCancel(cancel);
  }

  private createServerTransaction(req: SipRequest, source: MessageSource, target: SendTarget, key: string,
    base: string | undefined, mergedKey: string | undefined): ServerTransaction {
    const tx: ServerTransaction = req.method === 'INVITE'
      ? new InviteServerTransaction(this.ctx, key, req, source, target)
      : new NonInviteServerTransaction(this.ctx, key, req, source, target);
    const reg = { keys: [key], base: base ?? '', merged: mergedKey };
    this.server.set(key, tx);
    this.serverKeys.set(tx, reg);
    if (base !== undefined) {
      const prev = this.cancelable.get(base);
      if (prev === undefined || prev.terminated || prev.kind !== 'ist' || tx.kind === 'ist') this.cancelable.set(base, tx);
    }
    if (mergedKey !== undefined) this.merged.set(mergedKey, tx);
    this.counters.serverTransactions++;
    if (tx.kind === 'ist') {
      const rfc2543 = !key.startsWith('3261|');
      if (rfc2543) {
        tx.onTaggedResponse = (tag) => {
          const ackKey = rfc2543AckKey(req, tag);
          if (ackKey === key || this.server.has(ackKey)) return;
          this.server.set(ackKey, tx);
          reg.keys.push(ackKey);
        };
      }
      tx.start();
    }
    return tx;
  }

  private removeTransaction(tx: AnyTransaction): void {
    if (tx.kind === 'ict' || tx.kind === 'nict') {
      if (this.client.get(tx.id) === tx) this.client.delete(tx.id);
      return;
    }
    const reg = this.serverKeys.get(tx);
    if (reg === undefined) return;
    this.serverKeys.delete(tx);
    for (const k of reg.keys) if (this.server.get(k) === tx) this.server.delete(k);
    if (this.cancelable.get(reg.base) === tx) this.cancelable.delete(reg.base);
    if (reg.merged !== undefined && this.merged.get(reg.merged) === tx) this.merged.delete(reg.merged);
  }

  /** Best effort 400 for a request whose headers could not be read; ACKs are never answered. */
  private answerMalformed(req: SipRequest, source: MessageSource, err: SipParseError): void {
    if (req.method === 'ACK') return;
    try {
      this.sendStateless(createResponse(req, err.status, err.reasonPhrase, { toTag: true }), req, source);
    } catch {
      // The Via or another header needed to answer is unreadable too: the drop is already counted.
    }
  }

  private sendStateless(res: SipResponse, req: SipRequest, source: MessageSource): void {
    const via = req.topVia;
    if (via === undefined) return;
    void this.safeSend(res, responseTarget(via, source));
  }

  // ------------------------------------------------------------------ send

  /**
   * Start a client transaction (RFC 3261 §17.1): INVITE → InviteClientTransaction, anything else but ACK →
   * NonInviteClientTransaction. The request must carry its top Via (the TU decides sent-by and transport);
   * when that Via has no branch, a new RFC 3261 branch is added. Throws TransactionError
   * DPBX_ERR_TRANSACTION_BAD_REQUEST for ACK, a missing Via or CSeq, a CSeq method that differs from the method,
   * or a branch already in use; DPBX_ERR_TRANSACTION_CLOSED after close().
   */
  sendRequest(req: SipRequest, target: SendTarget, user: ClientTransactionUser): ClientTransaction {
    if (this.closed) throw new TransactionError('DPBX_ERR_TRANSACTION_CLOSED', 'transaction layer is closed');
    if (req.method === 'ACK') {
      throw new TransactionError('DPBX_ERR_TRANSACTION_BAD_REQUEST', 'ACK is not sent through a client transaction: use sendAck() for the ACK of a 2xx');
    }
    if (typeof user?.receiveResponse !== 'function') throw new TransactionError('DPBX_ERR_TRANSACTION_BAD_REQUEST', 'user.receiveResponse must be a function');
    const via = req.topVia;
    if (via === undefined) throw new TransactionError('DPBX_ERR_TRANSACTION_BAD_REQUEST', 'request has no Via header');
    const cseq = req.cseq;
    if (cseq === undefined || cseq.method !== req.method) {
      throw new TransactionError('DPBX_ERR_TRANSACTION_BAD_REQUEST', 'request CSeq is missing or its method differs from the request method');
    }
    if (via.branch === undefined || via.branch === '') {
      // §8.1.1.7: "The branch ID inserted by an element compliant with this specification MUST always begin with
      // the characters "z9hG4bK"." (generateBranch adds 128 random bits after it.)
      via.branch = generateBranch();
      req.setTopVia(via);
    }
    // From the Via and CSeq already read: after setTopVia() the request's topVia would be parsed again.
    const key = clientKey(via.branch, cseq.method);
    if (this.client.has(key)) throw new TransactionError('DPBX_ERR_TRANSACTION_BAD_REQUEST', `branch ${via.branch} already used by a ${req.method} client transaction`);
    const tx: ClientTransaction = req.method === 'INVITE'
      ? new InviteClientTransaction(this.ctx, key, req, target, user, (cancel, t, u) => this.startCancel(cancel, t, u))
      : new NonInviteClientTransaction(this.ctx, key, req, target, user);
    this.client.set(key, tx);
    this.counters.clientTransactions++;
    tx.start();
    return tx;
  }

  private startCancel(cancel: SipRequest, target: SendTarget, user: ClientTransactionUser | undefined): void {
    if (this.closed) return;
    try {
      this.sendRequest(cancel, target, user ?? ignoreResponses);
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'CANCEL not sent');
    }
  }

  /**
   * Send an ACK for a 2xx (RFC 3261 §13.2.2.4: the UAC core sends it directly to the transport, it is not part of
   * any transaction). Adds a new branch when the top Via has none. Never throws; resolves with the send result.
   */
  sendAck(ack: SipRequest, target: SendTarget): Promise<SendResult> {
    try {
      const via = ack.topVia;
      if (via !== undefined && (via.branch === undefined || via.branch === '')) {
        via.branch = generateBranch();
        ack.setTopVia(via);
      }
    } catch (err) {
      return Promise.resolve({ ok: false, error: new TransportError('DPBX_ERR_TRANSPORT_SEND', `bad ACK: ${String(err)}`, err) });
    }
    return this.safeSend(ack, target);
  }

  /** Send anything statelessly through the layer's send function (never throws). */
  sendStatelessMessage(message: SipMessageAny, target: SendTarget): Promise<SendResult> {
    return this.safeSend(message, target);
  }

  private safeSend(message: SipMessageAny, target: SendTarget): Promise<SendResult> {
    const failed = (err: unknown): SendResult => ({
      ok: false,
      error: err instanceof TransportError ? err : new TransportError('DPBX_ERR_TRANSPORT_SEND', `send failed: ${String(err)}`, err),
    });
    try {
      return Promise.resolve(this.sendFn(message, target)).then((r) => r ?? failed('send returned nothing'), failed);
    } catch (err) {
      return Promise.resolve(failed(err));
    }
  }

  // ------------------------------------------------------------------ misc

  /** The server transaction a request belongs to (RFC 3261 §17.2.3 matching), if any. */
  findServerTransaction(req: SipRequest): ServerTransaction | undefined {
    try {
      const k = serverTransactionKey(req);
      return k === undefined ? undefined : this.server.get(k.key);
    } catch {
      return undefined;
    }
  }

  /** The client transaction a response belongs to (RFC 3261 §17.1.3), if any. */
  findClientTransaction(res: SipResponse): ClientTransaction | undefined {
    try {
      const k = clientTransactionKey(res);
      return k === undefined ? undefined : this.client.get(k);
    } catch {
      return undefined;
    }
  }

  private callTu(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.counters.tuErrors++;
      this.logger.error({ err: err instanceof Error ? err.message : String(err), callback: what }, 'transaction user callback threw');
    }
  }

  /** Dispose every transaction (no messages sent, no TU callbacks) and refuse new work. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const tx of [...this.client.values()]) tx.dispose();
    for (const tx of [...this.serverKeys.keys()]) tx.dispose();
    this.client.clear();
    this.server.clear();
    this.serverKeys.clear();
    this.cancelable.clear();
    this.merged.clear();
  }
}
