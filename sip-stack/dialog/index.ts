// Public entry point of sip-stack/dialog/ — RFC 3261 §12-§15 dialogs, RFC 3262 reliable provisionals, RFC 4028
// session timers. Pure state and timers on an injected Clock; the ua layer does the sending.
export { DialogError, type DialogErrorCode } from './errors.js';
export { type DialogId, dialogKey, dialogIdOfIncomingRequest, dialogIdOfIncomingResponse } from './dialog-id.js';
export { Dialog, DialogState, addDialogHeaders, type DialogRole, type InDialogVerdict, type CreateDialogResult,
  type InDialogRequestOptions, type DialogListener } from './dialog.js';
export { DialogSet, type DialogSetVerdict, type InviteResponseOutcome } from './dialog-set.js';
export { RetransmitTimer, RetransmitState, retransmitOffsets, type RetransmitOptions } from './retransmission.js';
export { Uas2xxRetransmission, type Uas2xxRetransmissionOptions } from './uas-2xx-retransmission.js';
export { ReliableProvisionalSender, ReliableProvisionalState, RSeqTracker, initialRSeq, isReliableProvisional,
  buildRAck, type RSeqVerdict, type PrackVerdict, type ReliableProvisionalOptions } from './reliable-provisional.js';
export { SessionTimer, SessionTimerState, MIN_SE_FLOOR, DEFAULT_SESSION_EXPIRES, parseSessionExpires, parseMinSE,
  readSessionExpires, readMinSE, negotiateAsUas, negotiateAsUac, uacSessionTimerHeaders, retryAfter422,
  resolveSessionTimerPolicy, refreshDelayMs, expiryDelayMs, type Refresher, type SessionExpiresValue,
  type SessionTimerPolicy, type SessionTimerAgreement, type UasSessionTimerResult,
  type SessionTimerOptions } from './session-timer.js';
