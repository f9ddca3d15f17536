/**
 * A received request the application answers: out-of-dialog requests (REGISTER, OPTIONS, MESSAGE, SUBSCRIBE, ...)
 * and requests inside a session (re-INVITE, UPDATE, INFO, REFER, NOTIFY, ...). respond() builds the response
 * (RFC 3261 §8.2.6) and hands it to the server transaction; for a 2xx to a re-INVITE the session retransmits it
 * until the ACK (§13.3.1.4).
 */
import type { SipRequest, SipResponse } from '../message/index.js';
import type { MessageSource } from '../transport/index.js';
import type { ServerTransaction } from '../transaction/index.js';
import type { ResponseOptions, UaCore } from './core.js';
import { UaError } from './errors.js';

/** @internal How a session takes over 2xx responses to its in-dialog requests. */
export interface InDialogResponder {
  respondInDialog(req: SipRequest, tx: ServerTransaction, res: SipResponse): boolean;
}

export class IncomingRequest {
  readonly request: SipRequest;
  readonly transaction: ServerTransaction;
  private readonly ua: UaCore;
  private readonly responder: InDialogResponder | undefined;
  private _final: SipResponse | undefined;

  /** @internal created by the UserAgent / Session. */
  constructor(ua: UaCore, request: SipRequest, transaction: ServerTransaction, responder?: InDialogResponder) {
    this.ua = ua;
    this.request = request;
    this.transaction = transaction;
    this.responder = responder;
  }

  get method(): string {
    return this.request.method;
  }

  /** Where the request came from (address, port, transport, connection). */
  get source(): MessageSource {
    return this.transaction.source;
  }

  /** True once a final response was sent. */
  get responded(): boolean {
    return this._final !== undefined;
  }

  /** The final response sent, if any. */
  get finalResponse(): SipResponse | undefined {
    return this._final;
  }

  /**
   * Answer the request. Provisional responses (1xx) may come first; the first final response ends it. Throws
   * UaError DPBX_ERR_UA_STATE after a final response, DPBX_ERR_UA_OPTIONS for a status outside 100..699.
   * Returns the response sent.
   */
  respond(status: number, o: ResponseOptions = {}): SipResponse {
    if (!Number.isInteger(status) || status < 100 || status > 699) throw new UaError('DPBX_ERR_UA_OPTIONS', `bad status ${status}`);
    if (this._final !== undefined) throw new UaError('DPBX_ERR_UA_STATE', `${this.request.method} already answered ${this._final.status}`);
    // §8.2.6.2: "the UAS MUST add a tag to the To header field in the response (with the exception of the 100
    // (Trying) response" — in-dialog requests already carry our tag, createResponse keeps it.
    const res = this.ua.buildResponse(this.request, status, o, status > 100);
    if (status >= 200) this._final = res;
    if (this.responder !== undefined && status >= 200) {
      if (!this.responder.respondInDialog(this.request, this.transaction, res)) {
        throw new UaError('DPBX_ERR_UA_STATE', `${this.request.method} transaction no longer accepts responses`);
      }
      return res;
    }
    if (!this.transaction.respond(res)) {
      throw new UaError('DPBX_ERR_UA_STATE', `${this.request.method} transaction no longer accepts responses`);
    }
    return res;
  }
}
