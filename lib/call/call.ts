/**
 * One call: the caller's leg, the forked callee legs, its state, timestamps, SIP ladder, and the CDR written when
 * it ends. The executor drives it; the management API reads it (`toJSON()` holds no secrets).
 *
 * States (the caller's view):
 *   New ──► Routing ──► Ringing ──► Answered ──► Ended
 *              ▲            │
 *              └────────────┘   (a connect without answer: the script goes on)
 * Every state may go to Ended. `close()` is idempotent.
 */
import type { CallClock } from './clock.js';
import type { CallInfo, DestSummary } from './control.js';
import type { CdrRecord } from './cdr.js';
import { CallError } from './errors.js';
import { SipLadder } from './ladder.js';

export enum CallState {
  New = 'new',
  /** Asking the CallHook / running verbs that are not ringing anyone. */
  Routing = 'routing',
  /** A connect verb has forks out. */
  Ringing = 'ringing',
  /** The caller got a 2xx. */
  Answered = 'answered',
  Ended = 'ended',
}

const LEGAL: Record<CallState, readonly CallState[]> = {
  [CallState.New]: [CallState.Routing, CallState.Ended],
  [CallState.Routing]: [CallState.Ringing, CallState.Ended],
  [CallState.Ringing]: [CallState.Routing, CallState.Answered, CallState.Ended],
  // After answer the caller's state stays Answered through reconnects and transfers.
  [CallState.Answered]: [CallState.Ended],
  [CallState.Ended]: [],
};

export type LegRole = 'caller' | 'callee';
export type LegState = 'calling' | 'trying' | 'ringing' | 'early' | 'answered' | 'ended' | 'failed' | 'cancelled' | 'timeout';

export interface LegRecord {
  id: string;
  role: LegRole;
  /** Callee legs: which Dest. */
  dest?: DestSummary;
  destIndex?: number;
  state: LegState;
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  /** Final status of a failed callee leg. */
  status?: number;
}

export type CallEndCause =
  | 'caller-hangup'
  | 'callee-hangup'
  | 'caller-cancel'
  | 'response'
  | 'unanswered'
  | 'hook-failed'
  /** An answered call whose scripts (and retries) ran out with the caller alone: BYE. */
  | 'script-ended'
  | 'terminated'
  | 'error';

export interface CallSnapshot {
  id: string;
  callId: string;
  domain: string;
  from: string;
  to: string;
  source: 'client' | 'trunk';
  trunk?: { id: number | string; name: string };
  state: CallState;
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  legs: LegRecord[];
}

export class Call {
  readonly id: string;
  readonly info: Readonly<CallInfo>;
  readonly startedAt: number;
  readonly ladder: SipLadder;
  answeredAt: number | undefined;
  endedAt: number | undefined;
  cause: CallEndCause | undefined;
  finalStatus: number | undefined;
  answeredBy: DestSummary | undefined;
  hookRequests = 0;
  transfers = 0;
  private _state = CallState.New;
  private readonly legs = new Map<string, LegRecord>();
  private readonly endListeners: Array<(cdr: CdrRecord) => void> = [];
  private cdr: CdrRecord | undefined;

  /** Use CallRegistry.create(); the constructor is internal. */
  constructor(
    id: string,
    info: CallInfo,
    private readonly clock: CallClock,
    ladderCapacity?: number,
  ) {
    this.id = id;
    this.info = Object.freeze({ ...info, ...(info.headers ? { headers: { ...info.headers } } : {}) });
    this.startedAt = clock.now();
    this.ladder = new SipLadder(() => clock.now(), ladderCapacity);
  }

  get state(): CallState {
    return this._state;
  }

  get isEnded(): boolean {
    return this._state === CallState.Ended;
  }

  /** The only place the state changes. Throws DPBX_ERR_CALL_STATE on an illegal move (an engine bug). */
  transition(to: CallState): void {
    if (to === this._state) return;
    if (!LEGAL[this._state].includes(to)) {
      throw new CallError('DPBX_ERR_CALL_STATE', `call ${this.id}: ${this._state} → ${to} is not allowed`);
    }
    this._state = to;
    if (to === CallState.Answered && this.answeredAt === undefined) this.answeredAt = this.clock.now();
  }

  addLeg(leg: Omit<LegRecord, 'startedAt' | 'state'> & { state?: LegState }): LegRecord {
    const rec: LegRecord = { ...leg, state: leg.state ?? 'calling', startedAt: this.clock.now() };
    this.legs.set(rec.id, rec);
    return rec;
  }

  updateLeg(id: string, state: LegState, status?: number): void {
    const leg = this.legs.get(id);
    if (!leg || leg.endedAt !== undefined) return;
    leg.state = state;
    const now = this.clock.now();
    if (state === 'answered') leg.answeredAt = now;
    if (state === 'ended' || state === 'failed' || state === 'cancelled' || state === 'timeout') leg.endedAt = now;
    if (status !== undefined) leg.status = status;
  }

  getLegs(): LegRecord[] {
    return [...this.legs.values()].map((l) => ({ ...l }));
  }

  onEnd(listener: (cdr: CdrRecord) => void): void {
    if (this.cdr) listener(this.cdr);
    else this.endListeners.push(listener);
  }

  /** End the call record (idempotent: the first cause wins). Returns the CDR. */
  close(cause: CallEndCause = 'terminated'): CdrRecord {
    if (this.cdr) return this.cdr;
    this._state = CallState.Ended;
    this.endedAt = this.clock.now();
    this.cause = cause;
    const now = this.endedAt;
    for (const leg of this.legs.values()) if (leg.endedAt === undefined) {
      leg.endedAt = now;
      leg.state = leg.state === 'answered' ? 'ended' : 'cancelled';
    }
    const i = this.info;
    this.cdr = {
      id: this.id,
      callId: i.callId,
      domain: i.domain,
      from: i.from,
      to: i.to,
      source: i.source,
      ...(i.trunk ? { trunk: { id: i.trunk.id, name: i.trunk.name } } : {}),
      startedAt: this.startedAt,
      ...(this.answeredAt !== undefined ? { answeredAt: this.answeredAt } : {}),
      endedAt: now,
      durationMs: now - this.startedAt,
      talkMs: this.answeredAt !== undefined ? now - this.answeredAt : 0,
      cause,
      ...(this.finalStatus !== undefined ? { finalStatus: this.finalStatus } : {}),
      ...(this.answeredBy ? { answeredBy: { ...this.answeredBy } } : {}),
      hookRequests: this.hookRequests,
      transfers: this.transfers,
    };
    const listeners = this.endListeners.splice(0);
    for (const l of listeners) {
      try {
        l(this.cdr);
      } catch {
        // a listener failing must not break the others
      }
    }
    return this.cdr;
  }

  toJSON(): CallSnapshot {
    const i = this.info;
    return {
      id: this.id,
      callId: i.callId,
      domain: i.domain,
      from: i.from,
      to: i.to,
      source: i.source,
      ...(i.trunk ? { trunk: { id: i.trunk.id, name: i.trunk.name } } : {}),
      state: this._state,
      startedAt: this.startedAt,
      ...(this.answeredAt !== undefined ? { answeredAt: this.answeredAt } : {}),
      ...(this.endedAt !== undefined ? { endedAt: this.endedAt } : {}),
      legs: this.getLegs(),
    };
  }
}
