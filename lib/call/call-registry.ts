/**
 * The parent of all live calls (`Pbx → CallRegistry → Call`): creates them, finds them by domain (the management
 * API is domain-scoped: another domain's call is simply not found), writes their CDR when they end, and keeps the
 * SIP ladders of recently ended calls for GET /calls/:id/ladder.
 */
import { randomUUID } from 'node:crypto';
import { Call } from './call.js';
import { MemoryCdrStore, type CdrStore } from './cdr.js';
import { systemCallClock, type CallClock } from './clock.js';
import type { CallInfo } from './control.js';
import type { LadderEntry, SipLadder } from './ladder.js';

export interface CallRegistryOptions {
  clock?: CallClock;
  cdrs?: CdrStore;
  /** Ladder entries kept per call. Default 500. */
  ladderCapacity?: number;
  /** Ended calls whose ladder stays readable. Default 200. */
  recentLadders?: number;
  /** Call id generator (tests). */
  newId?: () => string;
}

export class CallRegistry {
  readonly cdrs: CdrStore;
  private readonly clock: CallClock;
  private readonly calls = new Map<string, Call>();
  private readonly recent = new Map<string, SipLadder>();
  private readonly recentMax: number;
  private readonly ladderCapacity: number | undefined;
  private readonly newId: () => string;

  constructor(opts: CallRegistryOptions = {}) {
    this.clock = opts.clock ?? systemCallClock;
    this.cdrs = opts.cdrs ?? new MemoryCdrStore();
    this.recentMax = opts.recentLadders ?? 200;
    this.ladderCapacity = opts.ladderCapacity;
    this.newId = opts.newId ?? randomUUID;
  }

  create(info: CallInfo): Call {
    const call = new Call(this.newId(), { ...info, domain: info.domain.toLowerCase() }, this.clock, this.ladderCapacity);
    this.calls.set(call.id, call);
    call.onEnd((cdr) => {
      this.calls.delete(call.id);
      try {
        this.cdrs.add(cdr);
      } catch {
        // a failing CDR store must not break call teardown
      }
      // the ladder itself, not a copy: raw texts are only built when the API asks (bench/call-rate.js)
      this.recent.set(call.id, call.ladder);
      if (this.recent.size > this.recentMax) this.recent.delete(this.recent.keys().next().value!);
    });
    return call;
  }

  /** A live call of `domain`, or undefined (also for a call of another domain). */
  get(domain: string, id: string): Call | undefined {
    const c = this.calls.get(id);
    return c && c.info.domain === domain.toLowerCase() ? c : undefined;
  }

  getById(id: string): Call | undefined {
    return this.calls.get(id);
  }

  list(domain?: string): Call[] {
    const d = domain?.toLowerCase();
    return [...this.calls.values()].filter((c) => d === undefined || c.info.domain === d);
  }

  /** The SIP ladder of a live or recently ended call. */
  ladder(id: string): LadderEntry[] | undefined {
    return (this.calls.get(id)?.ladder ?? this.recent.get(id))?.list();
  }

  get size(): number {
    return this.calls.size;
  }
}
