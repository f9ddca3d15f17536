/**
 * Checks a UAS applies to a new request before its TU sees it (RFC 3261 §8.2.1, §8.2.2.3, §16.3 step 3), as a
 * pure function so the TU can also call it itself. The merged-request check (§8.2.2.2, 482) needs the set of
 * ongoing transactions and lives in the TransactionLayer.
 */
import type { SipRequest } from '../message/index.js';

/** Methods of RFC 3261 and the extensions a SIP PBX meets (3262, 3265, 3311, 3428, 3515, 3903, 6086). */
export const STANDARD_METHODS: readonly string[] = Object.freeze([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO',
  'REFER', 'MESSAGE', 'UPDATE',
]);

export interface RequestPolicy {
  /**
   * Methods the TU handles. A known method not listed is answered 405 with Allow (§8.2.1). Default: every method
   * is allowed.
   */
  allowedMethods?: readonly string[];
  /**
   * Methods the stack recognises; any other is answered 501 (§21.5.2). Default STANDARD_METHODS plus
   * allowedMethods. Pass [] together with no allowedMethods to turn the check off.
   */
  knownMethods?: readonly string[];
  /**
   * Option tags the TU supports. When given, a request whose Require lists any other tag is answered 420 with an
   * Unsupported header (§8.2.2.3). Default: not checked (the TU must check).
   */
  supportedOptions?: readonly string[];
  /** Answer 483 to a dialog-creating request with Max-Forwards 0 (except OPTIONS). Default true. */
  checkMaxForwards?: boolean;
  /** Answer 482 to merged requests (§8.2.2.2). Default true. */
  detectMergedRequests?: boolean;
}

/** A response the layer sends instead of passing the request to the TU. */
export interface Rejection {
  status: number;
  reason?: string;
  headers: Array<[string, string]>;
}

/**
 * Apply the method, Max-Forwards and Require checks, in that order. ACK and CANCEL are never rejected here (an
 * ACK is never answered; CANCEL is handled by §9.2). May throw SipParseError when Max-Forwards or Require is
 * malformed.
 */
export function checkRequest(req: SipRequest, policy: RequestPolicy = {}): Rejection | undefined {
  const m = req.method;
  if (m === 'ACK' || m === 'CANCEL') return undefined;
  const allowed = policy.allowedMethods;
  const known = policy.knownMethods ?? STANDARD_METHODS;
  const isKnown = known.includes(m) || (allowed?.includes(m) ?? false);
  if (!isKnown && (known.length > 0 || allowed !== undefined)) {
    // §21.5.2: "The server does not support the functionality required to fulfill the request. This is the
    // appropriate response when a UAS does not recognize the request method and is not capable of supporting it
    // for any user."
    return { status: 501, headers: allowed ? [['Allow', allowed.join(', ')]] : [] };
  }
  if (allowed !== undefined && !allowed.includes(m)) {
    // §8.2.1: "If a UAS recognizes but does not support the method of a request, it MUST generate a 405 (Method
    // Not Allowed) response. ... The UAS MUST also add an Allow header field to the 405 (Method Not Allowed)
    // response."
    return { status: 405, headers: [['Allow', allowed.join(', ')]] };
  }
  // §16.3 step 3: "If the Max-Forwards value is zero (0), the element MUST NOT forward the request. If the request
  // was for OPTIONS, the element MAY act as the final recipient and respond per Section 11. Otherwise, the element
  // MUST return a 483 (Too many hops) response." A B2BUA forwards dialog-creating requests, so it applies the proxy
  // rule to them. Deviation (deliberate): in-dialog requests (To tag) end at this UA and are not checked.
  if (policy.checkMaxForwards !== false && m !== 'OPTIONS' && req.maxForwards === 0 && req.to?.tag === undefined) {
    return { status: 483, headers: [] };
  }
  if (policy.supportedOptions !== undefined) {
    // §8.2.2.3: "If a UAS does not understand an option-tag listed in a Require header field, it MUST respond by
    // generating a response with status code 420 (Bad Extension). The UAS MUST add an Unsupported header field,
    // and list in it those options it does not understand amongst those in the Require header field".
    const supported = policy.supportedOptions;
    const unsupported = req.require.filter((o) => !supported.includes(o));
    if (unsupported.length > 0) return { status: 420, headers: [['Unsupported', unsupported.join(', ')]] };
  }
  return undefined;
}
