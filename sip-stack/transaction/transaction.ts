/**
 * What the four RFC 3261 §17 machines share: identity, a named-timer registry (only their transition() arms and
 * disarms timers), a small typed event emitter that catches listener exceptions, and sending through the layer.
 */
import type { SipMessageAny, SipRequest } from '../message/index.js';
import type { SendResult, SendTarget } from '../transport/index.js';
import type { TimerHandle } from './clock.js';
import type { TimerTable } from './timers.js';
import { TransactionError } from './errors.js';
import type { AnyTransaction, TransactionContext, TransactionKind } from './types.js';

type Listener = (...args: never[]) => void;

/** Events every transaction emits; server transactions add their own. */
export interface TransactionEvents<S extends string> {
  /** State changed (also on self-transitions such as a retransmission timer re-arming). */
  stateChange: [from: S, to: S];
  /** Terminated: the transaction is gone from the layer. */
  terminated: [];
}

export abstract class Transaction<S extends string, E extends { [K in keyof E]: unknown[] }> {
  /** Matching key (RFC 3261 §17.1.3 / §17.2.3). */
  readonly id: string;
  abstract readonly kind: TransactionKind;
  /** The request that created the transaction. */
  readonly request: SipRequest;
  /** Timer values for the transport this transaction runs over. */
  readonly timers: TimerTable;
  protected _state: S;
  protected readonly ctx: TransactionContext;
  private readonly armed = new Map<string, TimerHandle>();
  private readonly listeners = new Map<PropertyKey, Listener[]>();
  private disposed = false;
  /** Status of the last response sent (server) or passed to the TU (client). */
  protected _lastStatus: number | undefined;

  protected constructor(ctx: TransactionContext, id: string, request: SipRequest, transport: string, initial: S) {
    this.ctx = ctx;
    this.id = id;
    this.request = request;
    this.timers = ctx.timersFor(transport);
    this._state = initial;
  }

  get state(): S {
    return this._state;
  }

  /**
   * Status of the last response sent (server transactions) or passed to the TU (client ones), undefined before
   * any. The responses themselves are kept only while a retransmission may need them: a transaction lives on for
   * up to 64*T1 after its final response, and a PBX must not hold every finished call's messages that long.
   */
  get lastStatus(): number | undefined {
    return this._lastStatus;
  }

  /** True once Terminated. */
  abstract get terminated(): boolean;

  /** Subscribe to an event; listener exceptions are caught and logged. */
  on<K extends keyof E>(event: K, fn: (...args: E[K]) => void): this {
    const l = this.listeners.get(event);
    if (l) l.push(fn as unknown as Listener);
    else this.listeners.set(event, [fn as unknown as Listener]);
    return this;
  }

  off<K extends keyof E>(event: K, fn: (...args: E[K]) => void): this {
    const l = this.listeners.get(event);
    const i = l?.indexOf(fn as unknown as Listener) ?? -1;
    if (l && i >= 0) l.splice(i, 1);
    return this;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const l = this.listeners.get(event);
    if (!l || l.length === 0) return;
    for (const fn of l.slice()) {
      this.ctx.callTu(`${this.kind} ${String(event)} listener`, () => (fn as unknown as (...a: E[K]) => void)(...args));
    }
  }

  /** Names of the timers currently armed (for tests and debugging). */
  get armedTimers(): string[] {
    return [...this.armed.keys()];
  }

  /** Arm (or re-arm) a named timer. Only transition() calls this. */
  protected arm(name: string, ms: number, fire: () => void): void {
    this.disarm(name);
    const h = this.ctx.clock.setTimer(ms, () => {
      if (this.armed.get(name) !== h) return;
      this.armed.delete(name);
      fire();
    });
    this.armed.set(name, h);
  }

  protected disarm(name: string): void {
    const h = this.armed.get(name);
    if (h === undefined) return;
    this.armed.delete(name);
    this.ctx.clock.clearTimer(h);
  }

  protected disarmAll(): void {
    for (const h of this.armed.values()) this.ctx.clock.clearTimer(h);
    this.armed.clear();
  }

  /**
   * Send through the layer; a failure (`ok: false`, thrown, rejected) calls onTransportError unless the
   * transaction has terminated meanwhile. Resolves with the send result.
   */
  protected sendMessage(message: SipMessageAny, target: SendTarget, retransmission: boolean): Promise<SendResult> {
    if (retransmission) this.ctx.counters.retransmissionsSent++;
    return this.ctx.send(message, target).then((r) => {
      if (!r.ok && !this.terminated) {
        this.ctx.counters.transportErrors++;
        this.onTransportError(new TransactionError('DPBX_ERR_TRANSACTION_TRANSPORT', `${this.kind} ${this.request.method}: ${r.error.message}`, r.error));
      }
      return r;
    });
  }

  protected abstract onTransportError(err: TransactionError): void;

  /**
   * The common start of every machine's transition(): the move is checked against the machine's table of legal
   * moves (an illegal one is logged and refused), then the state is set and stateChange emitted. Returns the
   * state left, or undefined when the move was refused.
   */
  protected enter(to: S, legal: Readonly<Record<S, readonly S[]>>, machine: string): S | undefined {
    const from = this._state;
    if (!legal[from].includes(to)) {
      this.ctx.logger.error({ tx: this.id, from, to }, `illegal ${machine} transaction transition`);
      return undefined;
    }
    this._state = to;
    (this as unknown as Transaction<S, TransactionEvents<S>>).emit('stateChange', from, to);
    return from;
  }

  /** Called by subclasses when reaching Terminated: clears timers, tells the layer, emits 'terminated' once. */
  protected finish(): void {
    this.disarmAll();
    if (this.disposed) return;
    this.disposed = true;
    this.ctx.terminated(this as unknown as AnyTransaction);
    (this as unknown as Transaction<S, TransactionEvents<S>>).emit('terminated');
  }

  /** Stop everything now, without sending anything or telling the TU (layer shutdown). Idempotent. */
  abstract dispose(): void;
}
