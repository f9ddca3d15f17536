import { createRequest, createResponse, type SipRequest, type SipResponse } from '../../../sip-stack/message/index.js';
import { addDialogHeaders } from '../../../sip-stack/dialog/index.js';

export const ALICE_CONTACT = '<sip:alice@127.0.0.1:5070;transport=udp>';
export const BOB_CONTACT = '<sip:bob@127.0.0.1:5080>';

/** Alice's INVITE to Bob, as received by Bob's UAS after two record-routing proxies. */
export function invite(o: { recordRoute?: string[]; cseq?: number; uri?: string } = {}): SipRequest {
  const req = createRequest({ method: 'INVITE', uri: o.uri ?? 'sip:bob@biloxi.example', from: '"Alice" <sip:alice@atlanta.example>',
    fromTag: 'a1', to: '<sip:bob@biloxi.example>', callId: 'call-1@atlanta', cseq: o.cseq ?? 314159,
    via: 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKinv1', contact: ALICE_CONTACT });
  for (const rr of o.recordRoute ?? []) req.append('Record-Route', rr);
  return req;
}

/** Bob's response to an INVITE with a To tag and Contact (Record-Route copied). */
export function answer(req: SipRequest, status: number, toTag = 'b1', contact = BOB_CONTACT): SipResponse {
  return addDialogHeaders(req, createResponse(req, status, undefined, { toTag }), contact);
}
