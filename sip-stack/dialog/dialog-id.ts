// Dialog identifiers (RFC 3261 §12): Call-ID, local tag and remote tag. The same message maps to different ids on
// the two sides: for a request received by a UAS the local tag is the To tag; for a response received by a UAC
// the local tag is the From tag.

import type { SipRequest, SipResponse } from '../message/index.js';

export interface DialogId {
  callId: string;
  localTag: string;
  remoteTag: string;
}

/** Map key of a dialog id (Call-ID and tags compare case-sensitively, RFC 3261 §19.3). */
export function dialogKey(id: DialogId): string {
  return `${id.callId}\n${id.localTag}\n${id.remoteTag}`;
}

/**
 * RFC 3261 §12.2.2: the id of the dialog an incoming request belongs to — local tag = To tag, remote tag = From
 * tag. Undefined when the request has no To tag (not in a dialog) or unreadable headers (never throws).
 */
export function dialogIdOfIncomingRequest(req: SipRequest): DialogId | undefined {
  try {
    const callId = req.callId;
    const localTag = req.to?.tag;
    const remoteTag = req.from?.tag;
    if (callId === undefined || localTag === undefined || remoteTag === undefined) return undefined;
    return { callId, localTag, remoteTag };
  } catch {
    return undefined;
  }
}

/**
 * RFC 3261 §12.1.2: the id of the dialog a response received by the UAC belongs to — local tag = From tag,
 * remote tag = To tag. Undefined without a To tag or with unreadable headers.
 */
export function dialogIdOfIncomingResponse(res: SipResponse): DialogId | undefined {
  try {
    const callId = res.callId;
    const localTag = res.from?.tag;
    const remoteTag = res.to?.tag;
    if (callId === undefined || localTag === undefined || remoteTag === undefined) return undefined;
    return { callId, localTag, remoteTag };
  } catch {
    return undefined;
  }
}
