// Builders the UA layers need: requests, responses (RFC 3261 §8.2.6.2), branch / tag / Call-ID generators.

import { randomBytes } from 'node:crypto';
import { SipRequest, SipResponse, type HeaderValueInput } from './message.js';
import { SipUri } from './uri.js';
import { NameAddr, parseNameAddr } from './name-addr.js';
import { Via, BRANCH_MAGIC_COOKIE } from './via.js';
import { defaultReason } from './errors.js';
import { isToken } from './scan.js';

// Random identifiers come from a pooled buffer of cryptographic randomness to keep the per-call cost low.
let pool = Buffer.alloc(0);
let poolPos = 0;
function randomHex(bytes: number): string {
  if (poolPos + bytes > pool.length) {
    pool = randomBytes(4096);
    poolPos = 0;
  }
  const s = pool.toString('hex', poolPos, poolPos + bytes);
  poolPos += bytes;
  return s;
}

/** A new RFC 3261 branch: the magic cookie `z9hG4bK` followed by 128 random bits. */
export function generateBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomHex(16);
}

/** A new From/To tag (64 random bits). */
export function generateTag(): string {
  return randomHex(8);
}

/** A new Call-ID (128 random bits), optionally `@host`. */
export function generateCallId(host?: string): string {
  const id = randomHex(16);
  return host ? `${id}@${host}` : id;
}

export type AddressInput = string | SipUri | NameAddr | { uri: string | SipUri; displayName?: string; tag?: string };

function toNameAddr(a: AddressInput, header: string): NameAddr {
  if (a instanceof NameAddr) return a;
  if (typeof a === 'string') return parseNameAddr(a, header);
  if (a instanceof SipUri) return new NameAddr(a);
  const uri = typeof a.uri === 'string' ? parseNameAddr(`<${a.uri}>`, header).uri : a.uri;
  const na = new NameAddr(uri, a.displayName);
  if (a.tag !== undefined) na.tag = a.tag;
  return na;
}

export interface CreateRequestOptions {
  method: string;
  uri: string | SipUri;
  from: AddressInput;
  to: AddressInput;
  /** Default: a new Call-ID. */
  callId?: string;
  /** Default: 1. */
  cseq?: number;
  /** Default: a new tag when the From has none. */
  fromTag?: string;
  /** A Via to put on top (transports normally stamp it); with `branch` the branch is set on it. */
  via?: Via | string;
  /** Default 70. */
  maxForwards?: number;
  contact?: AddressInput | AddressInput[];
  /** Extra headers in order: [name, value] pairs or an object. */
  headers?: Array<[string, HeaderValueInput]> | Record<string, HeaderValueInput | HeaderValueInput[]>;
  body?: Buffer | string;
  contentType?: string;
}

/** Build a request with the mandatory headers of RFC 3261 §8.1.1. */
export function createRequest(o: CreateRequestOptions): SipRequest {
  if (!isToken(o.method)) throw new TypeError('invalid SIP method');
  const req = new SipRequest(o.method, o.uri);
  if (o.via !== undefined) req.append('Via', o.via);
  req.append('Max-Forwards', o.maxForwards ?? 70);
  req.append('To', toNameAddr(o.to, 'To'));
  const from = toNameAddr(o.from, 'From');
  if (o.fromTag !== undefined) from.tag = o.fromTag;
  else if (from.tag === undefined) from.tag = generateTag();
  req.append('From', from);
  req.append('Call-ID', o.callId ?? generateCallId());
  const seq = o.cseq ?? 1;
  if (!Number.isInteger(seq) || seq < 0 || seq > 0x7fffffff) throw new TypeError('CSeq must be an integer below 2**31');
  req.append('CSeq', `${seq} ${o.method}`);
  if (o.contact !== undefined) {
    const cs = Array.isArray(o.contact) ? o.contact : [o.contact];
    for (const c of cs) req.append('Contact', toNameAddr(c, 'Contact'));
  }
  appendHeaders(req, o.headers);
  if (o.body !== undefined) {
    req.body = o.body;
    if (o.contentType !== undefined) req.set('Content-Type', o.contentType);
  }
  return req;
}

function appendHeaders(m: SipRequest | SipResponse, h: CreateRequestOptions['headers']): void {
  if (h === undefined) return;
  if (Array.isArray(h)) {
    for (const [k, v] of h) m.append(k, v);
  } else {
    for (const k of Object.keys(h)) {
      const v = h[k]!;
      if (Array.isArray(v)) for (const x of v) m.append(k, x);
      else m.append(k, v);
    }
  }
}

export interface CreateResponseOptions {
  /** Tag to put on the To header when the request's To has none: a string, or true for a new one. */
  toTag?: string | boolean;
  headers?: CreateRequestOptions['headers'];
  body?: Buffer | string;
  contentType?: string;
}

/** The request lines a response copies (RFC 3261 §8.2.6.2), and Timestamp for a 100 Trying (§8.2.6.1). */
const copied = (key: string): boolean => key === 'via' || key === 'from' || key === 'to' || key === 'call-id' || key === 'cseq';
const copiedTo100 = (key: string): boolean => copied(key) || key === 'timestamp';

/** The request's parsed To, or undefined when it is absent or does not parse. */
function parsedTo(req: SipRequest): NameAddr | undefined {
  try {
    return req.to;
  } catch {
    return undefined;
  }
}

/**
 * Build a response to a request as RFC 3261 §8.2.6.2 says: Via values in order, From, Call-ID and CSeq equal to
 * the request's; To equal to the request's, plus a tag when it had none and `toTag` is given. A 100 Trying
 * copies Timestamp (§8.2.6.1).
 */
export function createResponse(req: SipRequest, status: number, reason?: string, o?: CreateResponseOptions): SipResponse {
  if (!Number.isInteger(status) || status < 100 || status > 699) throw new TypeError('SIP status must be 100..699');
  // The request's lines are picked without reading `req.headers`, which would turn a parsed request into field mode.
  const fields = req.pickLines(status === 100 ? copiedTo100 : copied);
  const tagged = o?.toTag !== undefined && o.toTag !== false;
  const to = parsedTo(req);
  let addedTag: string | undefined;
  let toLines = 0;
  for (let i = 0; i < fields.length; i++) {
    const h = fields[i]!;
    if (h.key !== 'to') continue;
    toLines++;
    // An existing tag: from the parsed To (cached), or a textual look when it does not parse (error responses).
    if (!tagged || (to !== undefined ? to.tag !== undefined : /;\s*tag\s*=/i.test(h.value))) continue;
    const tag = addedTag = o!.toTag === true ? generateTag() : o!.toTag as string;
    fields[i] = { key: 'to', name: 'To', value: `${h.value};tag=${tag}` };
  }
  const res = new SipResponse(status, reason ?? defaultReason(status), fields);
  // The response's To is the request's with the tag appended, which parsing its text would give too.
  if (toLines === 1 && to !== undefined) {
    const copy = to.clone();
    if (addedTag !== undefined) copy.tag = addedTag;
    res.primeTyped('to', copy);
  }
  appendHeaders(res, o?.headers);
  if (o?.body !== undefined) {
    res.body = o.body;
    if (o.contentType !== undefined) res.set('Content-Type', o.contentType);
  }
  return res;
}
