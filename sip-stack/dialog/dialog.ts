// One SIP dialog (RFC 3261 §12) in the UAC or UAS role: creation from an INVITE and a 1xx-with-tag (early) or a
// 2xx (confirmed), route set and remote target, CSeq rules, target refresh, re-INVITE glare (§14), ACK for 2xx
// (§13.2.2.4), BYE (§15), PRACK (RFC 3262) and UPDATE (RFC 3311). Pure state: no sockets, no timers; the ua layer
// sends what this builds and feeds back what arrives.

import { randomInt } from 'node:crypto';
import { type CSeq, type NameAddr, type SipRequest, type SipResponse, type SipUri, type Via, type HeaderValueInput,
  createRequest, parseNameAddr } from '../message/index.js';
import { DialogError } from './errors.js';
import { type DialogId, dialogKey } from './dialog-id.js';
import { RSeqTracker, buildRAck, type RSeqVerdict } from './reliable-provisional.js';

export enum DialogState {
  Early = 'early',
  Confirmed = 'confirmed',
  Terminated = 'terminated',
}

export type DialogRole = 'uac' | 'uas';

const LEGAL: Record<DialogState, DialogState[]> = {
  [DialogState.Early]: [DialogState.Confirmed, DialogState.Terminated],
  [DialogState.Confirmed]: [DialogState.Terminated],
  [DialogState.Terminated]: [],
};

/** Verdict on a request received inside a dialog (checkInDialogRequest). */
export type InDialogVerdict =
  | { action: 'accept' }
  | { action: 'reject'; status: 481 | 491 | 500; reason: string; headers: Array<[string, HeaderValueInput]> };

export type CreateDialogResult = { ok: true; dialog: Dialog } | { ok: false; reason: string };

export interface InDialogRequestOptions {
  /** Top Via (sent-by and transport; the transaction layer adds the branch). */
  via?: Via | string;
  headers?: Array<[string, HeaderValueInput]> | Record<string, HeaderValueInput | HeaderValueInput[]>;
  body?: Buffer | string;
  contentType?: string;
  /** Default 70. */
  maxForwards?: number;
  /** A new local target to advertise (target refresh, RFC 3261 §12.2.1.1); becomes the dialog's local target. */
  contact?: NameAddr | string;
}

export interface DialogListener {
  (dialog: Dialog, from: DialogState, to: DialogState): void;
}

/** Methods whose requests carry the local target as Contact (target refresh and dialog-usage requests). */
const CONTACT_METHODS = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);
/** Target refresh requests (RFC 3261 §12.2, RFC 3311 §5, RFC 6665 §4.1.2.1): their Contact replaces the remote target. */
const TARGET_REFRESH = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY']);

/**
 * What both dialog creations (RFC 3261 §12.1) start from: an INVITE with From, Call-ID and CSeq, and a 101-299
 * response whose To has a tag. The reason a pair cannot make a dialog, as a string.
 */
function dialogBasis(invite: SipRequest, res: SipResponse): { to: NameAddr & { tag: string }; from: NameAddr; callId: string; cseq: CSeq } | string {
  if (invite.method !== 'INVITE') return 'only INVITE creates dialogs here';
  if (res.status <= 100 || res.status >= 300) return 'only 101-299 responses create dialogs';
  const to = res.to;
  if (to?.tag === undefined) return 'response To has no tag';
  const from = invite.from;
  const callId = invite.callId;
  const cseq = invite.cseq;
  if (from === undefined || callId === undefined || cseq === undefined) return 'INVITE lacks From, Call-ID or CSeq';
  return { to: to as NameAddr & { tag: string }, from, callId, cseq };
}

/** URI parameters not allowed in a Request-URI (RFC 3261 §19.1.1 table): method; URI headers are stripped too. */
function asRequestUri(u: SipUri): SipUri {
  const c = u.clone();
  delete c.params['method'];
  for (const k of Object.keys(c.headers)) delete c.headers[k];
  return c;
}

interface DialogInit {
  role: DialogRole;
  state: DialogState;
  callId: string;
  localTag: string;
  remoteTag: string;
  localUri: NameAddr;
  remoteUri: NameAddr;
  localSeq: number | undefined;
  remoteSeq: number | undefined;
  remoteTarget: SipUri;
  localTarget: NameAddr | undefined;
  routeSet: NameAddr[];
  secure: boolean;
}

export class Dialog {
  readonly role: DialogRole;
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** From (UAC) / To (UAS) of the initial request, without tag. */
  readonly localUri: NameAddr;
  readonly remoteUri: NameAddr;
  /** Local CSeq number (undefined = empty, RFC 3261 §12.1.1). */
  localSeq: number | undefined;
  /** Remote CSeq number (undefined = empty). */
  remoteSeq: number | undefined;
  /** Where in-dialog requests go (the peer's Contact). */
  remoteTarget: SipUri;
  /** Our Contact. */
  localTarget: NameAddr | undefined;
  /** Route set in the order requests use it. */
  routeSet: NameAddr[];
  /** RFC 3261 §12.1: the initial request was sent to a SIPS URI. */
  readonly secure: boolean;

  private _state: DialogState;
  /** CSeq of our INVITE still waiting for a final response (RFC 3261 §14.1). */
  private pendingLocalInvite: number | undefined;
  /** CSeq of the peer's INVITE we have not answered finally yet (§14.2). */
  private pendingRemoteInvite: number | undefined;
  private pendingLocalUpdate: number | undefined;
  private pendingRemoteUpdate: number | undefined;
  /** CSeq of the INVITE whose 2xx we sent and whose ACK has not arrived (§13.3.1.4). */
  private awaitingAck: number | undefined;
  /** Our latest INVITE (credentials for its ACK, §13.2.2.4). */
  private lastLocalInvite: SipRequest | undefined;
  /** ACK built per INVITE CSeq, re-sent for each 2xx retransmission (§13.2.2.4). */
  private ackCache: { cseq: number; ack: SipRequest } | undefined;
  private readonly rseq = new RSeqTracker();
  private readonly listeners: DialogListener[] = [];

  private constructor(i: DialogInit) {
    this.role = i.role;
    this._state = i.state;
    this.callId = i.callId;
    this.localTag = i.localTag;
    this.remoteTag = i.remoteTag;
    this.localUri = i.localUri;
    this.remoteUri = i.remoteUri;
    this.localSeq = i.localSeq;
    this.remoteSeq = i.remoteSeq;
    this.remoteTarget = i.remoteTarget;
    this.localTarget = i.localTarget;
    this.routeSet = i.routeSet;
    this.secure = i.secure;
  }

  // ---------------------------------------------------------------- creation

  /**
   * UAC dialog from our INVITE and a response with a To tag (RFC 3261 §12.1.2): 101-199 → Early, 2xx → Confirmed.
   * Each To tag from a forked INVITE makes its own dialog. Never throws on bad input: `{ok:false, reason}`.
   */
  static uacFromResponse(invite: SipRequest, res: SipResponse): CreateDialogResult {
    try {
      const basis = dialogBasis(invite, res);
      if (typeof basis === 'string') return { ok: false, reason: basis };
      const { to, from, callId, cseq } = basis;
      if (from.tag === undefined) return { ok: false, reason: 'INVITE lacks a From tag' };
      if (res.callId !== callId || res.from?.tag !== from.tag) return { ok: false, reason: 'response does not belong to this INVITE' };
      // §12.1.2: "The remote target MUST be set to the URI from the Contact header field of the response."
      const contact = res.contact;
      let remoteTarget: SipUri;
      if (Array.isArray(contact) && contact.length > 0) remoteTarget = contact[0]!.uri.clone();
      else if (res.status < 200) remoteTarget = invite.uri.clone(); // deviation: tolerate 18x without Contact until the 2xx
      else return { ok: false, reason: '2xx without Contact' };
      const localContact = invite.contact;
      const localUri = from.clone();
      localUri.tag = undefined;
      const remoteUri = (invite.to ?? to).clone();
      remoteUri.tag = undefined;
      const d = new Dialog({
        role: 'uac',
        state: res.status >= 200 ? DialogState.Confirmed : DialogState.Early,
        callId, localTag: from.tag, remoteTag: to.tag, localUri, remoteUri,
        // §12.1.2: "The local sequence number MUST be set to the value of the sequence number in the CSeq header
        // field of the request. The remote sequence number MUST be empty".
        localSeq: cseq.seq, remoteSeq: undefined,
        remoteTarget,
        localTarget: Array.isArray(localContact) && localContact.length > 0 ? localContact[0]!.clone() : undefined,
        // §12.1.2: "The route set MUST be set to the list of URIs in the Record-Route header field from the
        // response, taken in reverse order and preserving all URI parameters."
        routeSet: res.recordRoute.map((r) => r.clone()).reverse(),
        secure: invite.uri.scheme === 'sips',
      });
      d.lastLocalInvite = invite;
      d.pendingLocalInvite = res.status >= 200 ? undefined : cseq.seq;
      return { ok: true, dialog: d };
    } catch (err) {
      return { ok: false, reason: err instanceof Error ? err.message : 'unreadable message' };
    }
  }

  /**
   * UAS dialog from a received INVITE and our response carrying a To tag (RFC 3261 §12.1.1): 101-199 → Early,
   * 2xx → Confirmed. The response must carry our Contact (use addDialogHeaders()).
   */
  static uasFromResponse(invite: SipRequest, res: SipResponse): CreateDialogResult {
    try {
      const basis = dialogBasis(invite, res);
      if (typeof basis === 'string') return { ok: false, reason: basis };
      const { to, from, callId, cseq } = basis;
      // §12.1.1: "The remote target MUST be set to the URI from the Contact header field of the request."
      const contact = invite.contact;
      if (!Array.isArray(contact) || contact.length === 0) return { ok: false, reason: 'INVITE without Contact' };
      const ours = res.contact;
      const localUri = (invite.to ?? to).clone();
      localUri.tag = undefined;
      const remoteUri = from.clone();
      remoteUri.tag = undefined;
      const d = new Dialog({
        role: 'uas',
        state: res.status >= 200 ? DialogState.Confirmed : DialogState.Early,
        // §12.1.1: "The remote tag MUST be set to the value of the tag parameter in the From header field of the
        // request" (RFC 2543 requests without one: the tag is null, kept here as '').
        callId, localTag: to.tag, remoteTag: from.tag ?? '', localUri, remoteUri,
        // §12.1.1: "The remote sequence number MUST be set to the value of the sequence number in the CSeq header
        // field of the request. The local sequence number MUST be empty."
        localSeq: undefined, remoteSeq: cseq.seq,
        remoteTarget: contact[0]!.uri.clone(),
        localTarget: Array.isArray(ours) && ours.length > 0 ? ours[0]!.clone() : undefined,
        // §12.1.1: "The route set MUST be set to the list of URIs in the Record-Route header field from the
        // request, taken in order and preserving all URI parameters."
        routeSet: invite.recordRoute.map((r) => r.clone()),
        secure: invite.uri.scheme === 'sips',
      });
      if (res.status >= 200) d.awaitingAck = cseq.seq;
      else d.pendingRemoteInvite = cseq.seq;
      return { ok: true, dialog: d };
    } catch (err) {
      return { ok: false, reason: err instanceof Error ? err.message : 'unreadable message' };
    }
  }

  // ---------------------------------------------------------------- state

  get state(): DialogState {
    return this._state;
  }

  get id(): DialogId {
    return { callId: this.callId, localTag: this.localTag, remoteTag: this.remoteTag };
  }

  get key(): string {
    return dialogKey(this.id);
  }

  /** Whether an INVITE transaction is in progress in either direction (RFC 3261 §14.1). */
  get inviteInProgress(): boolean {
    return this.pendingLocalInvite !== undefined || this.pendingRemoteInvite !== undefined;
  }

  /** Whether our 2xx to an INVITE still waits for its ACK. */
  get ackPending(): boolean {
    return this.awaitingAck !== undefined;
  }

  onStateChange(fn: DialogListener): void {
    this.listeners.push(fn);
  }

  /** End the dialog locally (e.g. after a transport failure or Timer B of a refresh). Idempotent. */
  terminate(): void {
    if (this._state !== DialogState.Terminated) this.transition(DialogState.Terminated);
  }

  private transition(to: DialogState): void {
    const from = this._state;
    if (from === to) return;
    if (!LEGAL[from].includes(to)) throw new DialogError('DPBX_ERR_DIALOG_STATE', `illegal dialog transition ${from} → ${to}`);
    this._state = to;
    if (to === DialogState.Terminated) {
      this.pendingLocalInvite = this.pendingRemoteInvite = this.pendingLocalUpdate = this.pendingRemoteUpdate = undefined;
      this.awaitingAck = undefined;
    }
    for (const l of this.listeners) {
      try {
        l(this, from, to);
      } catch {
        // A listener's bug must not break the dialog.
      }
    }
  }

  // ---------------------------------------------------------------- UAC side: responses

  /**
   * A response to a request we sent in this dialog (including the initial INVITE's later responses).
   * Applies: early → confirmed on 2xx with route set and remote target recomputed (§12.1.2, §13.2.2.4); early →
   * terminated on a non-2xx final (§12.3); remote target refresh on 2xx to re-INVITE/UPDATE (§12.2.1.2); dialog
   * terminated on 481 or 408 (§12.2.1.2). Never throws on bad input.
   */
  receiveResponse(res: SipResponse): DialogState {
    if (this._state === DialogState.Terminated) return this._state;
    let cseq;
    try {
      cseq = res.cseq;
    } catch {
      return this._state;
    }
    if (cseq === undefined) return this._state;
    const final = res.status >= 200;
    const ok = res.status >= 200 && res.status < 300;
    if (cseq.method === 'INVITE') {
      if (final && this.pendingLocalInvite === cseq.seq) this.pendingLocalInvite = undefined;
      if (ok) {
        this.refreshTarget(res);
        if (this._state === DialogState.Early) {
          // §13.2.2.4 / §12.1.2: the 2xx recomputes the route set (reversed Record-Route of the response).
          try {
            this.routeSet = res.recordRoute.map((r) => r.clone()).reverse();
          } catch {
            // keep the route set of the provisional
          }
          this.transition(DialogState.Confirmed);
        }
      } else if (final) {
        // §12.3: "if a request outside of a dialog generates a non-2xx final response, any early dialogs created
        // through provisional responses to that request are terminated."
        if (this._state === DialogState.Early) this.transition(DialogState.Terminated);
        else if (res.status === 481 || res.status === 408) this.transition(DialogState.Terminated);
      } else if (this._state === DialogState.Early) {
        // Deviation (as RFC 6141 §3.3 allows): a Contact in a later provisional updates the early remote target.
        this.refreshTarget(res);
      }
      return this._state;
    }
    if (cseq.method === 'UPDATE' && final && this.pendingLocalUpdate === cseq.seq) this.pendingLocalUpdate = undefined;
    // §12.2.1.2: "When a UAC receives a 2xx response to a target refresh request, it MUST replace the dialog's
    // remote target URI with the URI from the Contact header field in that response, if present."
    if (ok && TARGET_REFRESH.has(cseq.method)) this.refreshTarget(res);
    // §12.2.1.2: "If the response for a request within a dialog is a 481 (Call/Transaction Does Not Exist) or a
    // 408 (Request Timeout), the UAC SHOULD terminate the dialog."
    if ((res.status === 481 || res.status === 408) && cseq.method !== 'PRACK') this.transition(DialogState.Terminated);
    return this._state;
  }

  private refreshTarget(m: SipRequest | SipResponse): void {
    try {
      const c = m.contact;
      if (Array.isArray(c) && c.length > 0) this.remoteTarget = c[0]!.uri.clone();
    } catch {
      // A malformed Contact leaves the target as it was.
    }
  }

  /**
   * RFC 3262 §4: decide whether a reliable provisional on this dialog gets a PRACK; when it does, the PRACK is
   * built (RAck = RSeq, CSeq number and method of the response).
   */
  receiveReliableProvisional(res: SipResponse, o: InDialogRequestOptions = {}): { verdict: RSeqVerdict; prack?: SipRequest } {
    const verdict = this.rseq.receive(res);
    if (verdict !== 'prack') return { verdict };
    this.receiveResponse(res);
    const rack = buildRAck(res)!;
    const headers: Array<[string, HeaderValueInput]> = [['RAck', rack]];
    const extra = o.headers;
    if (Array.isArray(extra)) headers.push(...extra);
    else if (extra !== undefined) for (const k of Object.keys(extra)) {
      const v = extra[k]!;
      for (const x of Array.isArray(v) ? v : [v]) headers.push([k, x]);
    }
    return { verdict, prack: this.createRequest('PRACK', { ...o, headers }) };
  }

  // ---------------------------------------------------------------- UAS side: requests

  /**
   * The checks of RFC 3261 §12.2.2 and §14.2 for a request received in this dialog, applying its effects when
   * accepted (remote CSeq, target refresh, pending INVITE/UPDATE, BYE terminates, ACK stops the 2xx wait).
   * The caller answers a reject with `status`, `reason` and `headers` (Retry-After for 500).
   */
  checkInDialogRequest(req: SipRequest): InDialogVerdict {
    let seq: number;
    let method: string;
    try {
      const cseq = req.cseq;
      if (cseq === undefined || req.callId !== this.callId || req.to?.tag !== this.localTag ||
        (req.from?.tag ?? '') !== this.remoteTag) {
        return reject(481, 'Call/Transaction Does Not Exist');
      }
      seq = cseq.seq;
      method = req.method;
    } catch {
      return reject(481, 'Call/Transaction Does Not Exist');
    }
    // §12.2.2: a request for a dialog that no longer exists gets 481.
    if (this._state === DialogState.Terminated) return reject(481, 'Call/Transaction Does Not Exist');
    // ACK and CANCEL carry the CSeq number of the request they belong to and are not sequenced.
    if (method === 'ACK') {
      this.receiveAck(req);
      return { action: 'accept' };
    }
    if (method === 'CANCEL') return { action: 'accept' };
    // §12.2.2: "If the remote sequence number was not empty, but the sequence number of the request is lower than
    // the remote sequence number, the request is out of order and MUST be rejected with a 500 (Server Internal
    // Error) response."
    if (this.remoteSeq !== undefined && seq < this.remoteSeq) {
      return reject(500, 'Server Internal Error (CSeq out of order)', [['Retry-After', randomInt(0, 11)]]);
    }
    if (method === 'INVITE') {
      // §14.2: "If a UAS receives an INVITE on a dialog while an INVITE it had sent on that dialog is in progress,
      // it MUST return a 491 (Request Pending) response to the received INVITE."
      if (this.pendingLocalInvite !== undefined) return reject(491, 'Request Pending');
      // §14.2: "If a UAS receives a second INVITE before it sent the final response to a first INVITE with a lower
      // CSeq sequence number on the same dialog, the UAS MUST return a 500 (Server Internal Error) response to the
      // second INVITE and MUST include a Retry-After header field with a randomly chosen value of between 0 and
      // 10 seconds."
      if (this.pendingRemoteInvite !== undefined && this.pendingRemoteInvite !== seq) {
        return reject(500, 'Server Internal Error (INVITE in progress)', [['Retry-After', randomInt(0, 11)]]);
      }
    }
    // RFC 3311 §5.2: "If an UPDATE is received that contains an offer, and the UAS has generated an UPDATE with an
    // offer on the same dialog that is still in progress, it MUST return a 491." (every UPDATE treated as an offer)
    if (method === 'UPDATE' && this.pendingLocalUpdate !== undefined) return reject(491, 'Request Pending');
    // A UAS BYE on an early dialog is not allowed; BYE from the UAC on an early dialog is (§15).
    // §12.2.2: "If the remote sequence number is empty, it MUST be set to the value of the sequence number in the
    // CSeq header field value in the request." (and it follows every accepted request)
    if (this.remoteSeq === undefined || seq > this.remoteSeq) this.remoteSeq = seq;
    if (method === 'INVITE') this.pendingRemoteInvite = seq;
    if (method === 'UPDATE') this.pendingRemoteUpdate = seq;
    // §12.2.2: "When a UAS receives a target refresh request, it MUST replace the dialog's remote target URI with
    // the URI from the Contact header field in that request, if present."
    if (TARGET_REFRESH.has(method)) this.refreshTarget(req);
    // §15.1.2: "the UAS MUST terminate the session and the dialog" on BYE (it still answers 200).
    if (method === 'BYE') this.transition(DialogState.Terminated);
    return { action: 'accept' };
  }

  /**
   * An ACK arrived: true when it acknowledges our 2xx (same CSeq number as that INVITE, §13.3.1.4); the 2xx
   * retransmissions stop then.
   */
  receiveAck(ack: SipRequest): boolean {
    let seq: number | undefined;
    try {
      seq = ack.cseq?.seq;
    } catch {
      return false;
    }
    if (seq === undefined || this.awaitingAck !== seq) return false;
    this.awaitingAck = undefined;
    return true;
  }

  /**
   * A response we sent to a request of this dialog (including the initial INVITE): 2xx to INVITE confirms an
   * early dialog and starts waiting for the ACK; a non-2xx final to the initial INVITE terminates the early
   * dialog; final responses end the pending INVITE/UPDATE.
   */
  localResponseSent(res: SipResponse): DialogState {
    if (this._state === DialogState.Terminated) return this._state;
    let cseq;
    try {
      cseq = res.cseq;
    } catch {
      return this._state;
    }
    if (cseq === undefined || res.status < 200) return this._state;
    const ok = res.status < 300;
    if (cseq.method === 'INVITE') {
      if (this.pendingRemoteInvite === cseq.seq) this.pendingRemoteInvite = undefined;
      if (ok) {
        this.awaitingAck = cseq.seq;
        if (this._state === DialogState.Early) this.transition(DialogState.Confirmed);
      } else if (this._state === DialogState.Early) {
        this.transition(DialogState.Terminated);
      }
    } else if (cseq.method === 'UPDATE' && this.pendingRemoteUpdate === cseq.seq) {
      this.pendingRemoteUpdate = undefined;
    }
    return this._state;
  }

  // ---------------------------------------------------------------- building requests

  /**
   * Build a request inside the dialog (RFC 3261 §12.2.1.1): To = remote URI + remote tag, From = local URI +
   * local tag, Call-ID, CSeq = local sequence + 1, Request-URI and Route from the remote target and route set
   * (loose or strict routing), Contact = local target for INVITE/UPDATE/SUBSCRIBE/NOTIFY/REFER.
   * Throws DialogError: DPBX_ERR_DIALOG_STATE after termination (or a UAS BYE on an early dialog),
   * DPBX_ERR_DIALOG_PENDING for an INVITE while another is in progress, DPBX_ERR_DIALOG_METHOD for ACK/CANCEL.
   * A BYE terminates the dialog (§15.1.1).
   */
  createRequest(method: string, o: InDialogRequestOptions = {}): SipRequest {
    if (method === 'ACK' || method === 'CANCEL') {
      throw new DialogError('DPBX_ERR_DIALOG_METHOD', `${method} is not built by createRequest (use createAck / the transaction's CANCEL)`);
    }
    if (this._state === DialogState.Terminated) throw new DialogError('DPBX_ERR_DIALOG_STATE', 'dialog is terminated');
    // §15: "the callee's UA MUST NOT send a BYE on an early dialog" (it rejects the INVITE instead).
    if (method === 'BYE' && this.role === 'uas' && this._state === DialogState.Early) {
      throw new DialogError('DPBX_ERR_DIALOG_STATE', 'the UAS must not send BYE on an early dialog; reject the INVITE');
    }
    // §14.1: "a UAC MUST NOT initiate a new INVITE transaction within a dialog while another INVITE transaction is
    // in progress in either direction."
    if (method === 'INVITE' && this.inviteInProgress) {
      throw new DialogError('DPBX_ERR_DIALOG_PENDING', 'an INVITE transaction is in progress on this dialog');
    }
    if (method === 'UPDATE' && this.pendingLocalUpdate !== undefined) {
      throw new DialogError('DPBX_ERR_DIALOG_PENDING', 'an UPDATE of ours is in progress on this dialog');
    }
    if (o.contact !== undefined) {
      this.localTarget = typeof o.contact === 'string' ? parseNameAddr(o.contact, 'Contact') : o.contact.clone();
    }
    // §12.2.1.1: "The CSeq header field value MUST be the local sequence number + 1 ... If the local sequence
    // number is empty, an initial value MUST be chosen" (we start at 1).
    const seq = this.localSeq === undefined ? 1 : this.localSeq + 1;
    if (seq > 0x7fffffff) throw new DialogError('DPBX_ERR_DIALOG_STATE', 'local CSeq space exhausted');
    const req = this.build(method, seq, o);
    this.localSeq = seq;
    if (method === 'INVITE') {
      this.pendingLocalInvite = seq;
      this.lastLocalInvite = req;
    }
    if (method === 'UPDATE') this.pendingLocalUpdate = seq;
    // §15.1.1: "the UAC MUST consider the session terminated ... as soon as the BYE request is passed to the
    // client transaction."
    if (method === 'BYE') this.transition(DialogState.Terminated);
    return req;
  }

  /** createRequest('BYE', o). */
  createBye(o: InDialogRequestOptions = {}): SipRequest {
    return this.createRequest('BYE', o);
  }

  /**
   * The ACK for a 2xx to our INVITE (RFC 3261 §13.2.2.4): built like any in-dialog request, but "The sequence
   * number of the CSeq header field MUST be the same as the INVITE being acknowledged, but the CSeq method MUST be
   * ACK. The ACK MUST contain the same credentials as the INVITE." A retransmitted 2xx gets the same ACK object
   * back (the UAC core re-sends it). Works after a local BYE too (the 2xx of a forked branch is ACKed before BYE).
   */
  createAck(res: SipResponse, o: InDialogRequestOptions = {}): SipRequest {
    const cseq = res.cseq;
    if (cseq === undefined || cseq.method !== 'INVITE' || res.status < 200 || res.status >= 300) {
      throw new DialogError('DPBX_ERR_DIALOG_METHOD', 'createAck needs a 2xx response to INVITE');
    }
    if (this.ackCache !== undefined && this.ackCache.cseq === cseq.seq) return this.ackCache.ack;
    const ack = this.build('ACK', cseq.seq, o);
    const inv = this.lastLocalInvite;
    if (inv !== undefined && inv.cseq?.seq === cseq.seq) {
      for (const v of inv.getLines('Authorization')) ack.append('Authorization', v);
      for (const v of inv.getLines('Proxy-Authorization')) ack.append('Proxy-Authorization', v);
    }
    if (this.pendingLocalInvite === cseq.seq) this.pendingLocalInvite = undefined;
    this.ackCache = { cseq: cseq.seq, ack };
    return ack;
  }

  private build(method: string, seq: number, o: InDialogRequestOptions): SipRequest {
    const to = this.remoteUri.clone();
    if (this.remoteTag !== '') to.tag = this.remoteTag;
    const from = this.localUri.clone();
    // §12.2.1.1: Request-URI and Route. "If the route set is empty, the UAC MUST place the remote target URI into
    // the Request-URI. The UAC MUST NOT add a Route header field to the request."
    let uri: SipUri = asRequestUri(this.remoteTarget);
    const routes: string[] = [];
    const first = this.routeSet[0];
    if (first !== undefined) {
      if ('lr' in first.uri.params) {
        // "If the route set is not empty, and the first URI in the route set contains the lr parameter, the UAC
        // MUST place the remote target URI into the Request-URI and MUST include a Route header field containing
        // the route set values in order, including all parameters."
        for (const r of this.routeSet) routes.push(r.toString());
      } else {
        // "If the route set is not empty, and its first URI does not contain the lr parameter, the UAC MUST place
        // the first URI from the route set into the Request-URI, stripping any parameters that are not allowed in
        // a Request-URI. The UAC MUST add a Route header field containing the remainder of the route set values in
        // order, including all parameters. The UAC MUST then place the remote target URI into the Route header
        // field as the last value."
        uri = asRequestUri(first.uri);
        for (const r of this.routeSet.slice(1)) routes.push(r.toString());
        routes.push(`<${this.remoteTarget.toString()}>`);
      }
    }
    const req = createRequest({
      method, uri, from, to, fromTag: this.localTag, callId: this.callId, cseq: seq,
      ...(o.via !== undefined ? { via: o.via } : {}),
      ...(o.maxForwards !== undefined ? { maxForwards: o.maxForwards } : {}),
    });
    for (const r of routes) req.append('Route', r);
    if (CONTACT_METHODS.has(method) && this.localTarget !== undefined) req.append('Contact', this.localTarget.toString());
    const h = o.headers;
    if (Array.isArray(h)) for (const [k, v] of h) req.append(k, v);
    else if (h !== undefined) for (const k of Object.keys(h)) {
      const v = h[k]!;
      for (const x of Array.isArray(v) ? v : [v]) req.append(k, x);
    }
    if (o.body !== undefined) {
      req.body = o.body;
      if (o.contentType !== undefined) req.set('Content-Type', o.contentType);
    }
    return req;
  }

  /**
   * RFC 3261 §14.1: after a 491 to our re-INVITE, wait before retrying: "If the UAC is the owner of the Call-ID of
   * the dialog ID (meaning it generated the value), T has a randomly chosen value between 2.1 and 4 seconds in
   * units of 10 ms. If the UAC is not the owner of the Call-ID of the dialog ID, T has a randomly chosen value of
   * between 0 and 2 seconds in units of 10 ms." `random` returns [0, 1).
   */
  glareRetryDelayMs(random: () => number = Math.random): number {
    const r = Math.min(Math.max(random(), 0), 0.999999);
    return this.role === 'uac' ? 2100 + Math.floor(r * 191) * 10 : Math.floor(r * 201) * 10;
  }
}

function reject(status: 481 | 491 | 500, reason: string, headers: Array<[string, HeaderValueInput]> = []): InDialogVerdict {
  return { action: 'reject', status, reason, headers };
}

/**
 * Headers a UAS response that creates or belongs to a dialog needs (RFC 3261 §12.1.1): "the UAS MUST copy all
 * Record-Route header field values from the request into the response (including the URIs, URI parameters, and
 * any Record-Route header field parameters, whether they are known or unknown to the UAS) and MUST maintain the
 * order of those values. The UAS MUST add a Contact header field to the response."
 */
export function addDialogHeaders(req: SipRequest, res: SipResponse, contact: NameAddr | string): SipResponse {
  res.remove('Record-Route');
  for (const v of req.getLines('Record-Route')) res.append('Record-Route', v);
  res.set('Contact', typeof contact === 'string' ? contact : contact.toString());
  return res;
}
