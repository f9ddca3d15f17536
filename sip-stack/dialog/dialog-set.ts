// The table of dialogs for the layer above (RFC 3261 §12): lookup by dialog id from either side, 481 for
// requests of unknown dialogs, and the UAC's forked INVITE: each To tag of a 1xx/2xx makes its own dialog
// (§12.1.2, §13.2.2.4), a non-2xx final response ends all early dialogs of that INVITE (§12.3).

import type { SipRequest, SipResponse } from '../message/index.js';
import { Dialog, DialogState, type InDialogVerdict } from './dialog.js';
import { type DialogId, dialogKey, dialogIdOfIncomingRequest, dialogIdOfIncomingResponse } from './dialog-id.js';

export type DialogSetVerdict = (InDialogVerdict & { dialog: Dialog }) |
  { action: 'reject'; status: 481; reason: string; headers: []; dialog: undefined };

export interface InviteResponseOutcome {
  /** The dialog the response belongs to (created or found); undefined for 100, tag-less or unreadable responses. */
  dialog: Dialog | undefined;
  /** True when this response created the dialog (a new fork). */
  created: boolean;
  /** Early dialogs that this response terminated (non-2xx final, §12.3). */
  terminated: Dialog[];
}

export class DialogSet {
  private readonly dialogs = new Map<string, Dialog>();

  get size(): number {
    return this.dialogs.size;
  }

  /** All dialogs (live ones; terminated dialogs leave the table by themselves). */
  values(): IterableIterator<Dialog> {
    return this.dialogs.values();
  }

  /** Add a dialog; terminated dialogs are removed automatically. Returns the dialog already there for that id, if any. */
  add(d: Dialog): Dialog {
    const k = d.key;
    const existing = this.dialogs.get(k);
    if (existing !== undefined) return existing;
    if (d.state === DialogState.Terminated) return d;
    this.dialogs.set(k, d);
    d.onStateChange((dd, _from, to) => {
      if (to === DialogState.Terminated && this.dialogs.get(dd.key) === dd) this.dialogs.delete(dd.key);
    });
    return d;
  }

  get(id: DialogId): Dialog | undefined {
    return this.dialogs.get(dialogKey(id));
  }

  remove(d: Dialog): void {
    if (this.dialogs.get(d.key) === d) this.dialogs.delete(d.key);
  }

  /** The dialog a received request belongs to (local tag = To tag). */
  findForRequest(req: SipRequest): Dialog | undefined {
    const id = dialogIdOfIncomingRequest(req);
    return id === undefined ? undefined : this.get(id);
  }

  /** The dialog a received response belongs to (local tag = From tag). */
  findForResponse(res: SipResponse): Dialog | undefined {
    const id = dialogIdOfIncomingResponse(res);
    return id === undefined ? undefined : this.get(id);
  }

  /** Dialogs created by one INVITE of ours (same Call-ID and From tag): the forks. */
  dialogsOfInvite(callId: string, localTag: string): Dialog[] {
    const out: Dialog[] = [];
    for (const d of this.dialogs.values()) if (d.callId === callId && d.localTag === localTag) out.push(d);
    return out;
  }

  /**
   * A request with a To tag: RFC 3261 §12.2.2 "If the UAS wishes to reject the request because it does not wish
   * to recreate the dialog, it MUST respond to the request with a 481 (Call/Transaction Does Not Exist) status
   * code" — we never recreate dialogs, so an unknown id gets 481. Known dialogs apply checkInDialogRequest().
   * ACK for an unknown dialog gets the 481 verdict too; the caller drops it (ACK has no response).
   */
  checkInDialogRequest(req: SipRequest): DialogSetVerdict {
    const d = this.findForRequest(req);
    if (d === undefined) return { action: 'reject', status: 481, reason: 'Call/Transaction Does Not Exist', headers: [], dialog: undefined };
    return { ...d.checkInDialogRequest(req), dialog: d };
  }

  /**
   * UAC: a response to our initial INVITE. A 101-299 with a new To tag creates a dialog (one per fork); a known
   * tag updates its dialog (early → confirmed on 2xx); a 300-699 terminates every early dialog of the INVITE
   * (§12.3). Never throws.
   */
  receiveInviteResponse(invite: SipRequest, res: SipResponse): InviteResponseOutcome {
    const terminated: Dialog[] = [];
    const endEarly = (): void => {
      let callId: string | undefined;
      let tag: string | undefined;
      try {
        callId = invite.callId;
        tag = invite.from?.tag;
      } catch {
        return;
      }
      if (callId === undefined || tag === undefined) return;
      for (const d of this.dialogsOfInvite(callId, tag)) {
        if (d.state === DialogState.Early) {
          d.terminate();
          terminated.push(d);
        }
      }
    };
    const id = dialogIdOfIncomingResponse(res);
    if (id === undefined || res.status === 100) {
      if (res.status >= 300) endEarly();
      return { dialog: undefined, created: false, terminated };
    }
    const existing = this.get(id);
    if (existing !== undefined) {
      const before = existing.state;
      existing.receiveResponse(res);
      if (before === DialogState.Early && existing.state === DialogState.Terminated) terminated.push(existing);
      if (res.status >= 300) endEarly();
      return { dialog: existing, created: false, terminated };
    }
    if (res.status >= 300) {
      endEarly();
      return { dialog: undefined, created: false, terminated };
    }
    const r = Dialog.uacFromResponse(invite, res);
    if (!r.ok) return { dialog: undefined, created: false, terminated };
    return { dialog: this.add(r.dialog), created: true, terminated };
  }

  /** Terminate and forget every dialog. */
  close(): void {
    for (const d of [...this.dialogs.values()]) d.terminate();
    this.dialogs.clear();
  }
}
