/**
 * What the ua layer's objects (UasInvite, UacInvite, Session, IncomingRequest, RegisterClient) need from their
 * UserAgent. Kept as an interface so those files import no runtime code from user-agent.ts.
 */
import type { SipRequest, SipResponse, SipUri, Via } from '../message/index.js';
import type { MessageSource, SendResult, SendTarget, TransportProtocol } from '../transport/index.js';
import type { Clock, ClientTransaction, ClientTransactionUser, ServerTransaction, TimerConfig, TransactionLayer,
  TransactionLogger } from '../transaction/index.js';
import type { DialogSet, SessionTimerPolicy } from '../dialog/index.js';
import type { DigestClient } from '../auth/index.js';

/** Something that owns a dialog and handles what arrives in it. */
export interface DialogUsage {
  /** A request of the dialog that passed the dialog's CSeq checks (not ACK, not CANCEL). */
  receiveRequest(req: SipRequest, tx: ServerTransaction): void;
  /** An ACK of the dialog (the ACK for a 2xx, RFC 3261 §13.2.2.4). */
  receiveAck(ack: SipRequest, source: MessageSource): void;
}

/** Options for building a response. */
export interface ResponseOptions {
  reason?: string;
  headers?: Array<[string, string | number]> | Record<string, string | number | Array<string | number>>;
  body?: Buffer | string;
  /** Default 'application/sdp' when a body is given. */
  contentType?: string;
}

/** Options for a request inside a dialog. */
export interface InDialogOptions {
  headers?: Array<[string, string | number]> | Record<string, string | number | Array<string | number>>;
  body?: Buffer | string;
  /** Default 'application/sdp' for INVITE/UPDATE/ACK bodies; required otherwise when a body is given. */
  contentType?: string;
}

/** @internal */
export interface UaCore {
  readonly clock: Clock;
  readonly timerConfig: TimerConfig;
  readonly transactions: TransactionLayer;
  readonly dialogs: DialogSet;
  readonly logger: TransactionLogger;
  readonly allow: readonly string[];
  readonly supported: readonly string[];
  readonly closed: boolean;
  /** RFC 4028 policy when session timers are on. */
  readonly sessionTimers: SessionTimerPolicy | undefined;
  /** A Via for a new request over `transport` (sent-by = public or listener address, rport; no branch). */
  via(transport: TransportProtocol): Via;
  /** Our Contact for `transport`. */
  contact(transport: TransportProtocol): string;
  /** Our address for `transport` ("host:port"), for From URIs. */
  hostPort(transport: TransportProtocol): string;
  /** Transport a request to `uri` goes over (its transport parameter, sips → tls, else udp) unless overridden. */
  transportFor(uri: SipUri, destination?: SendTarget): TransportProtocol;
  /** The next hop of a request: its top Route when there is one, else its Request-URI. */
  nextHop(req: SipRequest): SipUri;
  /** Address of `uri` (DNS for host names), or `destination` when given. */
  resolve(uri: SipUri, destination?: SendTarget): Promise<SendTarget>;
  /** Adds User-Agent (requests) or Server (responses) headers. */
  decorate(m: SipRequest | SipResponse): void;
  /** A response to `req` with the common headers. */
  buildResponse(req: SipRequest, status: number, o?: ResponseOptions, toTag?: string | boolean): SipResponse;
  registerUsage(key: string, usage: DialogUsage): void;
  unregisterUsage(key: string, usage: DialogUsage): void;
  /**
   * Send a request through a client transaction once its target is resolved. Resolves with the transaction, or
   * undefined when the target could not be resolved or the UA closed (then `user` receives a local 503).
   */
  startClientTransaction(req: SipRequest, destination: SendTarget | undefined, user: ClientTransactionUser): Promise<ClientTransaction | undefined>;
  /**
   * Send a non-INVITE request and resolve with its final response (a local 408/503 on timeout/transport error).
   * With `digest`, a 401/407 is answered once (new CSeq, same Call-ID, RFC 3261 §22.2).
   */
  request(req: SipRequest, destination?: SendTarget, digest?: DigestClient): Promise<SipResponse>;
  /** Send the ACK for a 2xx (RFC 3261 §13.2.2.4, outside any transaction). */
  sendAck(ack: SipRequest, destination?: SendTarget): Promise<SendResult>;
  /** Send a message without a transaction (2xx retransmission after the transaction ended). */
  sendStateless(m: SipRequest | SipResponse, target: SendTarget): Promise<SendResult>;
  /** Count and log an exception of an application listener. */
  listenerError(event: string, err: unknown): void;
}

/** Content-Type for a body: the given one, else application/sdp. */
export function bodyType(o: { body?: Buffer | string; contentType?: string }): string | undefined {
  if (o.body === undefined) return undefined;
  return o.contentType ?? 'application/sdp';
}

/** Append headers given as pairs or as an object. */
export function appendHeaders(m: SipRequest | SipResponse, h: ResponseOptions['headers']): void {
  if (h === undefined) return;
  if (Array.isArray(h)) {
    for (const [k, v] of h) m.append(k, v);
    return;
  }
  for (const k of Object.keys(h)) {
    const v = h[k]!;
    if (Array.isArray(v)) for (const x of v) m.append(k, x);
    else m.append(k, v);
  }
}

/** CSeq number of a message, or undefined when absent or unreadable. */
export function cseqOf(m: SipRequest | SipResponse): { seq: number; method: string } | undefined {
  try {
    return m.cseq;
  } catch {
    return undefined;
  }
}

/** Header pairs from the dialog layer (values may be numbers or typed values) as plain strings. */
export function stringHeaders(h: ReadonlyArray<readonly [string, { toString(): string } | string | number]>): Array<[string, string]> {
  return h.map(([k, v]) => [k, String(v)]);
}
