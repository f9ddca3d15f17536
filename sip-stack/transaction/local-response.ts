/**
 * Responses the transaction layer makes up for the TU instead of the network: 408 when Timer B/F fires and 503
 * when the transport fails (RFC 3261 §8.1.3.1), for client transaction users without timeout/transportError.
 */
import { type SipRequest, type SipResponse, createResponse } from '../message/index.js';
import type { TransactionError } from './errors.js';

const local = new WeakSet<SipResponse>();

/** Build a locally generated response to one of our own requests and remember that it is local. */
export function localResponse(request: SipRequest, status: number, err?: TransactionError): SipResponse {
  const res = createResponse(request, status);
  if (err !== undefined) res.set('Warning', `399 dragon-pbx "${err.code}"`);
  local.add(res);
  return res;
}

/** True for a response made up by the transaction layer (408 timeout, 503 transport error), not received. */
export function isLocalResponse(res: SipResponse): boolean {
  return local.has(res);
}
