/**
 * One `connect` verb (SPEC §4): resolve the dests, fork to every target in parallel, play ringback until a
 * callee's early media or answer, first 2xx wins, CANCEL the rest with an RFC 3326 Reason, then hold the bridged
 * call until one side hangs up (or a REFER moves it on).
 *
 * States:  Resolving ──► Ringing ──► Answered ──► Done
 *              │            │                     ▲
 *              └────────────┴─────────────────────┘
 * `transition()` is the only place the state changes; `finish()` (→ Done) clears every timer and stops ringback.
 */
import type { ConnectVerb, Dest } from '../script/index.js';
import { Call, CallState } from './call.js';
import type { CallClock } from './clock.js';
import {
  COMPLETED_ELSEWHERE,
  type CancelReason,
  type DestSummary,
  type DialTarget,
  type Dialer,
  type InboundLeg,
  type MediaControl,
  type OutboundAttempt,
} from './control.js';
import type { DestResolution } from './dest-resolver.js';
import { CallError } from './errors.js';
import type { VerbReporter } from './status-reporter.js';

export enum ConnectState {
  Resolving = 'resolving',
  Ringing = 'ringing',
  Answered = 'answered',
  Done = 'done',
}

const LEGAL: Record<ConnectState, readonly ConnectState[]> = {
  [ConnectState.Resolving]: [ConnectState.Ringing, ConnectState.Done],
  [ConnectState.Ringing]: [ConnectState.Answered, ConnectState.Done],
  [ConnectState.Answered]: [ConnectState.Done],
  [ConnectState.Done]: [],
};

/** Why a running connect is being stopped from outside (`redirect`: PUT /domains/:d/calls/:id, SPEC §7). */
export type ConnectInterrupt = 'cancel' | 'hangup' | 'terminate' | 'transfer' | 'redirect';

/**
 * RFC 3326 §2 Reason for the CANCEL/BYE sent to a callee when a redirect takes the call away from it: the
 * request was terminated by the PBX (487), not completed elsewhere.
 */
export const REDIRECTED: CancelReason = { protocol: 'SIP', cause: 487, text: 'Call redirected' };

export type ConnectOutcome =
  /** Nobody answered (all failed, timed out, skipped, or nothing to dial): the script goes on. */
  | { kind: 'unanswered' }
  /** The caller left: CANCEL before answer, BYE after. */
  | { kind: 'caller-gone'; how: 'cancel' | 'hangup' }
  /** The callee hung up the answered call. */
  | { kind: 'callee-hangup' }
  /** A REFER took over the answered call; `winner` is still up. */
  | { kind: 'transfer'; winner: OutboundAttempt }
  /** Ended by the PBX (API hang-up, shutdown, or a control failure). */
  | { kind: 'terminated' }
  /** A redirect stopped the verb: forks cancelled, or the answered callee released; the caller stays. */
  | { kind: 'redirected' };

type ForkState = 'calling' | 'trying' | 'ringing' | 'early' | 'answered' | 'failed' | 'timeout' | 'cancelled' | 'ended';

interface Fork {
  attempt: OutboundAttempt;
  target: DialTarget;
  dest: DestSummary;
  index: number;
  state: ForkState;
}

const FINISHED: ReadonlySet<ForkState> = new Set(['failed', 'timeout', 'cancelled', 'ended']);

/** What a connect needs from its executor. */
export interface ConnectContext {
  call: Call;
  /** The party being connected (the caller, or the remaining party of a transfer). */
  party: InboundLeg;
  dialer: Dialer;
  media: MediaControl;
  resolver: { resolve(domain: string, dest: Dest, index: number): Promise<DestResolution> };
  clock: CallClock;
  reporter: VerbReporter;
  defaultRingtone: string;
  /** The caller's user part (From of the forks unless callerId is given). */
  from: string;
  /** Run a binding call; errors are caught, counted and logged; resolves undefined on failure. */
  guard<T>(what: string, fn: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false }>;
  /** Send the 183 with SDP to the party once (no-op when answered). */
  ensureEarly(): Promise<void>;
  /** Answer the party (200 with SDP); false when that failed. */
  answerParty(): Promise<boolean>;
  /** Called once when a fork wins (transfer completion, counters). */
  onAnswered(dest: DestSummary): void;
}

export function summarizeDest(d: Dest): DestSummary {
  return { type: d.type, address: d.address };
}

export class ConnectRun {
  private _state = ConnectState.Resolving;
  private readonly forks: Fork[] = [];
  private winner: Fork | undefined;
  private earlyFork: Fork | undefined;
  private ringbackOn = false;
  private readonly timers = new Map<number, unknown>();
  private readonly timedOut = new Set<number>();
  private pending: ConnectInterrupt | undefined;
  private resolveDone!: (o: ConnectOutcome) => void;
  private readonly done: Promise<ConnectOutcome>;

  constructor(
    private readonly verb: ConnectVerb,
    private readonly ctx: ConnectContext,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  get state(): ConnectState {
    return this._state;
  }

  /** True while a winner is bridged (a REFER can be acted on). */
  get isBridged(): boolean {
    return this._state === ConnectState.Answered;
  }

  private transition(to: ConnectState): void {
    if (!LEGAL[this._state].includes(to)) {
      throw new CallError('DPBX_ERR_CALL_STATE', `connect: ${this._state} → ${to} is not allowed`);
    }
    this._state = to;
  }

  async run(): Promise<ConnectOutcome> {
    const { ctx, verb } = this;
    const r = ctx.reporter;
    r.emit('connect:start', {});

    // SPEC §8: an empty dest list once hung the call forever. Nothing to dial ends the verb at once.
    if (verb.dest.length === 0) {
      r.emit('connect:skipped', { reason: 'no destinations' });
      r.emit('connect:error', { status: 480, reason: 'No destinations' });
      return this.finish({ kind: 'unanswered' });
    }

    const resolutions = await Promise.all(verb.dest.map((d, i) => ctx.resolver.resolve(ctx.call.info.domain, d, i)));
    if (this.pending) return this.finish(this.outcomeOfInterrupt(this.pending));

    const targets: DialTarget[] = [];
    resolutions.forEach((res, i) => {
      const d = verb.dest[i]!;
      // SPEC §8: an unregistered client dest once crashed the call; it is skipped with a reason instead.
      if (!res.ok) r.emit('connect:skipped', { dest: summarizeDest(d), index: i, reason: res.reason });
      else targets.push(...res.targets);
    });
    if (targets.length === 0) {
      r.emit('connect:error', { status: 480, reason: 'No destination available' });
      return this.finish({ kind: 'unanswered' });
    }

    this.transition(ConnectState.Ringing);
    if (ctx.call.state === CallState.Routing) ctx.call.transition(CallState.Ringing);

    // SPEC §4: "Ringback (ringtone) is played to the caller as early media until a callee sends its own early
    // media or answers." Early media needs the 183 with the relay's SDP first.
    // From here an interrupt finishes the verb at once (see interrupt()); after each await only check for that.
    await ctx.ensureEarly();
    if (this._state !== ConnectState.Ringing) return this.done;
    const tone = verb.ringtone ?? ctx.defaultRingtone;
    this.ringbackOn = true;
    // Started, not awaited: the forks are dialled in the same turn, so the tone does not delay the INVITEs (the
    // relay gets the play and the callee legs in one message). A tone that fails to start only means silence. An
    // interrupt meanwhile goes through finish() → stopRingback(); the MediaControl stops a tone whose start
    // completes after its stop (lib/b2bua/call-media.ts).
    void ctx.guard('playRingback', () => ctx.media.playRingback(ctx.party, tone)).then((rb) => {
      if (!rb.ok) this.ringbackOn = false;
    });

    for (const target of targets) this.dial(target);
    if (this.forks.length === 0) {
      r.emit('connect:error', { status: 500, reason: 'No call could be started' });
      return this.finish({ kind: 'unanswered' });
    }
    // Per-destination timeout (Dest.timeout, seconds): every fork of that dest is cancelled when it expires.
    const indexes = new Set(this.forks.map((f) => f.index));
    for (const index of indexes) {
      const ms = verb.dest[index]!.timeout * 1000;
      this.timers.set(index, ctx.clock.setTimeout(() => this.destTimeout(index), ms));
    }
    return this.done;
  }

  /** Stop the verb from outside (caller CANCEL/BYE, API hang-up, REFER). */
  interrupt(why: ConnectInterrupt): void {
    switch (this._state) {
      case ConnectState.Resolving:
        // Acted on once the resolver's await returns.
        if (why !== 'transfer' && !this.pending) this.pending = why;
        return;
      case ConnectState.Ringing:
        if (why === 'transfer') return; // nothing bridged to transfer
        this.pending = why;
        this.finish(this.outcomeOfInterrupt(why));
        return;
      case ConnectState.Answered: {
        const w = this.winner!;
        // RFC 3261 §9.2: a CANCEL for a request that already has a final response has no effect.
        if (why === 'cancel') return;
        if (why === 'transfer') {
          this.finish({ kind: 'transfer', winner: w.attempt });
          return;
        }
        if (why === 'redirect') {
          // SPEC §7 redirect of a bridged call: the callee leg is released (BYE with an RFC 3326 Reason), the
          // caller stays and hears whatever the new script does.
          w.state = 'ended';
          void this.ctx.guard('hangup callee', () => w.attempt.hangup(REDIRECTED));
          this.ctx.call.updateLeg(w.attempt.id, 'ended');
          void this.ctx.guard('unbridge', () => this.ctx.media.unbridge(this.ctx.party));
          this.finish({ kind: 'redirected' });
          return;
        }
        void this.ctx.guard('hangup callee', () => w.attempt.hangup());
        this.ctx.call.updateLeg(w.attempt.id, 'ended');
        if (why === 'hangup') {
          this.ctx.reporter.emit('connect:hangup', { endedBy: 'caller' });
          this.finish({ kind: 'caller-gone', how: 'hangup' });
        } else {
          this.finish({ kind: 'terminated' });
        }
        return;
      }
      case ConnectState.Done:
        return;
    }
  }

  private outcomeOfInterrupt(why: ConnectInterrupt): ConnectOutcome {
    if (why === 'redirect') {
      // RFC 3261 §9.1 / RFC 3326 §2: the ringing forks are CANCELled with a Reason saying why; the caller stays.
      this.cancelForks(REDIRECTED, 'cancelled');
      // The caller may be hearing a callee's early media: disconnect it, the new script decides what it hears.
      if (this.earlyFork) void this.ctx.guard('unbridge', () => this.ctx.media.unbridge(this.ctx.party));
      this.ctx.reporter.emit('connect:cancel', {});
      return { kind: 'redirected' };
    }
    // Before answer: cancel every fork, report connect:cancel.
    this.cancelForks(undefined, 'cancelled');
    if (why === 'cancel' || why === 'hangup') {
      this.ctx.reporter.emit('connect:cancel', {});
      return { kind: 'caller-gone', how: why };
    }
    return { kind: 'terminated' };
  }

  private dial(target: DialTarget): void {
    const { ctx, verb } = this;
    const d = target.dest;
    let attempt: OutboundAttempt;
    try {
      attempt = ctx.dialer.dial(target, {
        ...(verb.callerId !== undefined ? { callerId: verb.callerId } : {}),
        ...(verb.callerName !== undefined ? { callerName: verb.callerName } : {}),
        ...(d.headers ? { headers: { ...d.headers } } : {}),
        timeoutMs: d.timeout * 1000,
        from: ctx.from,
      });
    } catch (err) {
      void ctx.guard('dial', () => {
        throw err;
      });
      ctx.reporter.emit('connect:error', { status: 500, reason: 'Dial failed' });
      return;
    }
    const fork: Fork = { attempt, target, dest: summarizeDest(d), index: target.destIndex, state: 'calling' };
    this.forks.push(fork);
    ctx.call.addLeg({ id: attempt.id, role: 'callee', dest: fork.dest, destIndex: fork.index });
    // The binding's emitter may not protect itself from listener exceptions: never let one reach it.
    const safe =
      <A extends unknown[]>(what: string, fn: (...a: A) => void) =>
      (...a: A): void => {
        try {
          fn(...a);
        } catch (err) {
          void ctx.guard(what, () => {
            throw err;
          });
        }
      };
    attempt.on('trying', safe('trying', () => this.onTrying(fork)));
    attempt.on('ringing', safe('ringing', () => this.onRinging(fork)));
    attempt.on('early-media', safe('early-media', () => this.onEarlyMedia(fork)));
    attempt.on('answered', safe('answered', () => this.onAnswered(fork)));
    attempt.on('failed', safe('failed', (status: number, reason: string) => this.onFailed(fork, status, reason)));
    attempt.on('timeout', safe('timeout', () => this.onForkTimeout(fork)));
    attempt.on('hangup', safe('hangup', () => this.onCalleeHangup(fork)));
  }

  private live(fork: Fork): boolean {
    return this._state === ConnectState.Ringing && !FINISHED.has(fork.state);
  }

  private onTrying(fork: Fork): void {
    if (!this.live(fork) || fork.state !== 'calling') return;
    fork.state = 'trying';
    this.ctx.call.updateLeg(fork.attempt.id, 'trying');
    this.ctx.reporter.emit('connect:trying', { dest: fork.dest, index: fork.index });
  }

  private onRinging(fork: Fork): void {
    if (!this.live(fork) || fork.state === 'ringing' || fork.state === 'early') return;
    fork.state = 'ringing';
    this.ctx.call.updateLeg(fork.attempt.id, 'ringing');
    this.ctx.reporter.emit('connect:ringing', { dest: fork.dest, index: fork.index });
  }

  private onEarlyMedia(fork: Fork): void {
    if (!this.live(fork)) return;
    fork.state = 'early';
    this.ctx.call.updateLeg(fork.attempt.id, 'early');
    // The first callee with early media is heard by the caller; ringback stops (SPEC §4).
    if (this.earlyFork) return;
    this.earlyFork = fork;
    this.stopRingback();
    void this.ctx.guard('bridge early media', () => this.ctx.media.bridge(this.ctx.party, fork.attempt));
    this.ctx.reporter.emit('connect:early-media', {});
  }

  private onAnswered(fork: Fork): void {
    if (this._state !== ConnectState.Ringing || FINISHED.has(fork.state)) {
      // RFC 3261 §13.2.2.4: a 2xx of a fork that lost (or came after a CANCEL) is acknowledged and the dialog is
      // ended with a BYE; the binding ACKs, we ask for the BYE.
      if (fork !== this.winner) {
        fork.state = 'ended';
        void this.ctx.guard('hangup late 2xx', () => fork.attempt.hangup(COMPLETED_ELSEWHERE));
      }
      return;
    }
    const { ctx } = this;
    this.winner = fork;
    fork.state = 'answered';
    this.transition(ConnectState.Answered);
    this.clearTimers();
    ctx.call.updateLeg(fork.attempt.id, 'answered');
    // RFC 3326 §2 / SPEC §4: the forks that lost get CANCEL with Reason SIP;cause=200;text="Call completed elsewhere".
    this.cancelForks(COMPLETED_ELSEWHERE, 'cancelled');
    this.stopRingback();
    ctx.call.answeredBy = fork.dest;
    ctx.reporter.emit('connect:answered', { dest: fork.dest, index: fork.index });
    ctx.onAnswered(fork.dest);
    void this.bridgeAndAnswer(fork).catch((err) =>
      ctx.guard('answer', () => {
        throw err;
      }),
    );
  }

  private async bridgeAndAnswer(fork: Fork): Promise<void> {
    const { ctx } = this;
    await ctx.guard('bridge', () => ctx.media.bridge(ctx.party, fork.attempt));
    if (this._state !== ConnectState.Answered || this.winner !== fork) return;
    if (!ctx.party.isAnswered) {
      const ok = await ctx.answerParty();
      if (!ok && this._state === ConnectState.Answered) {
        void ctx.guard('hangup callee', () => fork.attempt.hangup());
        ctx.call.updateLeg(fork.attempt.id, 'ended');
        this.finish({ kind: 'terminated' });
      }
    }
  }

  private onFailed(fork: Fork, status: number, reason: string): void {
    if (!this.live(fork)) return;
    fork.state = 'failed';
    this.ctx.call.updateLeg(fork.attempt.id, 'failed', status);
    const code = Number.isInteger(status) && status >= 300 && status <= 699 ? status : 500;
    this.ctx.reporter.emit('connect:error', { status: code, reason: String(reason ?? '').slice(0, 128) });
    this.checkAllFinished();
  }

  /** The binding's own timeout (Timer B or no final response). */
  private onForkTimeout(fork: Fork): void {
    if (!this.live(fork)) return;
    fork.state = 'timeout';
    this.ctx.call.updateLeg(fork.attempt.id, 'timeout', 408);
    if (!this.timedOut.has(fork.index) && this.forks.every((f) => f.index !== fork.index || FINISHED.has(f.state))) {
      this.timedOut.add(fork.index);
      this.ctx.reporter.emit('connect:timeout', { dest: fork.dest, index: fork.index });
    }
    this.checkAllFinished();
  }

  /** Dest.timeout expired: cancel that dest's forks still ringing. */
  private destTimeout(index: number): void {
    this.timers.delete(index);
    if (this._state !== ConnectState.Ringing || this.timedOut.has(index)) return;
    const forks = this.forks.filter((f) => f.index === index && !FINISHED.has(f.state));
    if (forks.length === 0) return;
    this.timedOut.add(index);
    for (const f of forks) {
      f.state = 'timeout';
      this.ctx.call.updateLeg(f.attempt.id, 'timeout');
      void this.ctx.guard('cancel on timeout', () => f.attempt.cancel());
    }
    this.ctx.reporter.emit('connect:timeout', { dest: forks[0]!.dest, index });
    this.checkAllFinished();
  }

  private onCalleeHangup(fork: Fork): void {
    if (this._state !== ConnectState.Answered || fork !== this.winner) return;
    fork.state = 'ended';
    this.ctx.call.updateLeg(fork.attempt.id, 'ended');
    void this.ctx.guard('unbridge', () => this.ctx.media.unbridge(this.ctx.party));
    this.ctx.reporter.emit('connect:hangup', { endedBy: 'callee' });
    this.finish({ kind: 'callee-hangup' });
  }

  private checkAllFinished(): void {
    if (this._state !== ConnectState.Ringing) return;
    if (this.forks.every((f) => FINISHED.has(f.state))) this.finish({ kind: 'unanswered' });
  }

  private cancelForks(reason: CancelReason | undefined, state: ForkState): void {
    for (const f of this.forks) {
      if (f === this.winner || FINISHED.has(f.state)) continue;
      f.state = state;
      this.ctx.call.updateLeg(f.attempt.id, 'cancelled');
      void this.ctx.guard('cancel', () => (reason ? f.attempt.cancel(reason) : f.attempt.cancel()));
    }
  }

  private stopRingback(): void {
    if (!this.ringbackOn) return;
    this.ringbackOn = false;
    try {
      this.ctx.media.stopRingback(this.ctx.party);
    } catch (err) {
      void this.ctx.guard('stopRingback', () => {
        throw err;
      });
    }
  }

  private clearTimers(): void {
    for (const h of this.timers.values()) this.ctx.clock.clearTimeout(h);
    this.timers.clear();
  }

  private finish(outcome: ConnectOutcome): Promise<ConnectOutcome> {
    if (this._state === ConnectState.Done) return this.done;
    this.clearTimers();
    this.stopRingback();
    this.transition(ConnectState.Done);
    if ((outcome.kind === 'unanswered' || outcome.kind === 'redirected') && this.ctx.call.state === CallState.Ringing) {
      this.ctx.call.transition(CallState.Routing);
    }
    this.ctx.reporter.emit('connect:complete', {});
    this.resolveDone(outcome);
    return this.done;
  }
}
