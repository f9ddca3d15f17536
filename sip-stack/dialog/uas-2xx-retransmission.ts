// RFC 3261 §13.3.1.4 (with RFC 6026 §8.1: the INVITE server transaction no longer does this): the UAS core
// retransmits the 2xx to an INVITE until the ACK arrives, and ends the session with BYE when it never does.

import type { Clock } from '../transaction/index.js';
import { RetransmitTimer, RetransmitState } from './retransmission.js';

export interface Uas2xxRetransmissionOptions {
  clock: Clock;
  /** Default 500 ms. */
  t1?: number;
  /** Default 4000 ms. */
  t2?: number;
  /** Pass the (same) 2xx to the transport again. */
  retransmit: () => void;
  /** 64*T1 passed without ACK: the UA should send BYE (the dialog stays confirmed until then). */
  onAckTimeout: () => void;
}

export class Uas2xxRetransmission {
  private readonly timer: RetransmitTimer;

  constructor(o: Uas2xxRetransmissionOptions) {
    const t1 = o.t1 ?? 500;
    const t2 = o.t2 ?? 4000;
    // RFC 3261 §13.3.1.4: "the 2xx response is passed to the transport with an interval that starts at T1 seconds
    // and doubles for each retransmission until it reaches T2 seconds. Response retransmissions cease when an ACK
    // request for the response is received." / "If the server retransmits the 2xx response for 64*T1 seconds
    // without receiving an ACK, the dialog is confirmed, but the session SHOULD be terminated. This is
    // accomplished with a BYE".
    this.timer = new RetransmitTimer({ clock: o.clock, t1, cap: t2, timeout: 64 * t1, retransmit: o.retransmit,
      onTimeout: o.onAckTimeout });
  }

  get state(): RetransmitState {
    return this.timer.state;
  }
  get retransmissions(): number {
    return this.timer.count;
  }

  /** Call right after the first 2xx went to the transport. */
  start(): void {
    this.timer.start();
  }

  /** The ACK for this 2xx arrived (Dialog.receiveAck() said so). */
  ackReceived(): void {
    this.timer.stop();
  }

  dispose(): void {
    this.timer.stop();
  }
}
