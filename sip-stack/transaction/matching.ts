/**
 * Transaction matching keys: RFC 3261 §17.1.3 (responses → client transactions) and §17.2.3 (requests → server
 * transactions) including the RFC 2543 fallback for a top Via without the `z9hG4bK` magic cookie, plus the
 * merged-request key of §8.2.2.2. Pure functions over parsed messages; they throw SipParseError when a header
 * they need is malformed (the layer turns that into a 400 or a counted drop).
 */
import { type SipRequest, type SipResponse, type Via, BRANCH_MAGIC_COOKIE } from '../message/index.js';
import { defaultPort } from '../transport/index.js';

/** Method a server transaction is keyed by: "the method of the request matches the one that created the
 * transaction, except for ACK, where the method of the request that created the transaction is INVITE". */
export function transactionMethod(method: string): string {
  return method === 'ACK' ? 'INVITE' : method;
}

function sentBy(via: Via): string {
  return `${via.host.toLowerCase()}:${via.port ?? defaultPort(via.transport)}`;
}

/** Parts of a server transaction key: `base` identifies the request regardless of method (CANCEL matching). */
export interface ServerKey {
  /** Whether the RFC 3261 rules (magic cookie branch) apply; false = RFC 2543 fallback. */
  rfc3261: boolean;
  /** Everything but the method. */
  base: string;
  /** base + method (ACK → INVITE). */
  key: string;
}

/**
 * RFC 3261 §17.2.3: "the branch parameter in the request is equal to the one in the top Via header field of the
 * request that created the transaction, the sent-by value in the top Via of the request is equal to the one in
 * the request that created the transaction, and the method of the request matches the one that created the
 * transaction, except for ACK". Without the magic cookie: "the INVITE request matches a transaction if the
 * Request-URI, To tag, From tag, Call-ID, CSeq, and top Via header field match those of the INVITE request which
 * created the transaction. ... The ACK request matches a transaction if the Request-URI, From tag, Call-ID, CSeq
 * number (not the method), and top Via header field match those of the INVITE request which created the
 * transaction, and the To tag of the ACK matches the To tag of the response sent by the server transaction."
 * `method` overrides the request's method (CANCEL matching of §9.2 uses 'INVITE' or the cancelled method).
 * Returns undefined when the request has no Via.
 */
export function serverTransactionKey(req: SipRequest, method?: string): ServerKey | undefined {
  const via = req.topVia;
  if (via === undefined) return undefined;
  const m = transactionMethod(method ?? req.method);
  const branch = via.branch;
  if (branch !== undefined && branch.startsWith(BRANCH_MAGIC_COOKIE) && branch.length > BRANCH_MAGIC_COOKIE.length) {
    const base = `3261|${branch}|${sentBy(via)}`;
    return { rfc3261: true, base, key: `${base}|${m}` };
  }
  const base = rfc2543Base(req, req.to?.tag);
  return { rfc3261: false, base, key: `${base}|${m}` };
}

/**
 * RFC 2543 key of the ACK that acknowledges a non-2xx response carrying `responseToTag`, for the INVITE `invite`
 * (registered by the INVITE server transaction when it sends a tagged response).
 */
export function rfc2543AckKey(invite: SipRequest, responseToTag: string): string {
  return `${rfc2543Base(invite, responseToTag)}|INVITE`;
}

function rfc2543Base(req: SipRequest, toTag: string | undefined): string {
  const cseq = req.cseq;
  const via = req.topVia;
  return `2543|${req.uriText}|${toTag ?? ''}|${req.from?.tag ?? ''}|${req.callId ?? ''}|${cseq?.seq ?? ''}|${via?.toString() ?? ''}`;
}

/**
 * RFC 3261 §17.1.3: "If the response has the same value of the branch parameter in the top Via header field as
 * the branch parameter in the top Via header field of the request that created the transaction" and "if the
 * method parameter in the CSeq header field matches the method of the request that created the transaction".
 */
export function clientTransactionKey(msg: SipRequest | SipResponse): string | undefined {
  const branch = msg.topVia?.branch;
  const method = msg.cseq?.method;
  if (branch === undefined || method === undefined) return undefined;
  return clientKey(branch, method);
}

/** The client transaction key of a top Via branch and a CSeq method (clientTransactionKey). */
export function clientKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

/**
 * RFC 3261 §8.2.2.2 merged-request key: "If the request has no tag in the To header field, the UAS core MUST check
 * the request against ongoing transactions. If the From tag, Call-ID, and CSeq exactly match those associated with
 * an ongoing transaction, but the request does not match that transaction (based on the matching rules in Section
 * 17.2.3), the UAS core SHOULD generate a 482 (Loop Detected) response". Undefined when the To has a tag.
 */
export function mergedRequestKey(req: SipRequest): string | undefined {
  if (req.to?.tag !== undefined) return undefined;
  const cseq = req.cseq;
  if (cseq === undefined) return undefined;
  return `${req.from?.tag ?? ''}|${req.callId ?? ''}|${cseq.seq}|${cseq.method}`;
}
