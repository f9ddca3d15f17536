/**
 * StatusHook delivery (SPEC §3): fire-and-forget, queued, retried briefly, never delaying call handling.
 *
 * `emit()` returns at once. Events of one call are delivered in order (one chain per callId); different calls
 * are delivered concurrently up to `concurrency` requests. A failed delivery is retried `retries` times with the
 * given delays; an event still failing is dropped and counted. The queue is bounded: past `maxQueued` pending
 * events new ones are dropped and counted rather than growing memory without limit.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { HookClient, HookLogger, HookTarget } from './hook-client.js';
import { describeTarget } from './hook-client.js';
import { isStatusEventName, type StatusEventName } from './status-events.js';

export interface StatusEvent {
  callId: string;
  event: StatusEventName;
  /** Free-form label from the verb's statusLabel. */
  label?: string;
  /** Extra fields merged into the body (dest, index, status, reason, endedBy, durationMs, ...). */
  data?: Record<string, unknown>;
}

export interface StatusHookQueueOptions {
  client: HookClient;
  logger?: HookLogger;
  /** Retries after the first failed attempt. Default 2. */
  retries?: number;
  /** Delay before each retry, ms. Default [250, 1000]. The last value repeats. */
  retryDelaysMs?: number[];
  /** Concurrent deliveries across all calls. Default 16. */
  concurrency?: number;
  /** Most events waiting or in flight. Default 10,000. */
  maxQueued?: number;
  /** Clock for the timestamp field. */
  now?: () => Date;
  /** Waits between retries (tests pass an immediate one). */
  sleep?: (ms: number) => Promise<void>;
}

export interface StatusHookCounters {
  emitted: number;
  delivered: number;
  retried: number;
  failed: number;
  dropped: number;
  invalid: number;
}

export class StatusHookQueue {
  readonly counters: StatusHookCounters = { emitted: 0, delivered: 0, retried: 0, failed: 0, dropped: 0, invalid: 0 };
  private readonly client: HookClient;
  private readonly logger: HookLogger | undefined;
  private readonly retries: number;
  private readonly retryDelaysMs: number[];
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly chains = new Map<string, Promise<void>>();
  private pending = 0;
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(opts: StatusHookQueueOptions) {
    this.client = opts.client;
    this.logger = opts.logger;
    this.retries = opts.retries ?? 2;
    this.retryDelaysMs = opts.retryDelaysMs?.length ? opts.retryDelaysMs : [250, 1000];
    this.concurrency = opts.concurrency ?? 16;
    this.maxQueued = opts.maxQueued ?? 10_000;
    this.now = opts.now ?? (() => new Date());
    this.sleep = opts.sleep ?? ((ms) => delay(ms).then(() => undefined));
  }

  /** Number of events waiting or in flight. */
  get size(): number {
    return this.pending;
  }

  /** Queue an event for `target`. Never throws, never waits. */
  emit(target: HookTarget | undefined, ev: StatusEvent): void {
    if (!target) return;
    if (!isStatusEventName(ev.event)) {
      this.counters.invalid++;
      this.logger?.warn({ event: ev.event }, 'unknown StatusHook event name not sent');
      return;
    }
    if (this.pending >= this.maxQueued) {
      this.counters.dropped++;
      this.logger?.warn({ callId: ev.callId, event: ev.event }, 'StatusHook queue full: event dropped');
      return;
    }
    this.counters.emitted++;
    // Body: {callId, event, timestamp, label?, ...data}; the fixed fields win over data with the same name.
    const body: Record<string, unknown> = { ...(ev.data ?? {}), callId: ev.callId, event: ev.event, timestamp: this.now().toISOString() };
    if (ev.label !== undefined) body.label = ev.label;
    this.pending++;
    const prev = this.chains.get(ev.callId) ?? Promise.resolve();
    const next = prev.then(() => this.deliver(target, body)).finally(() => {
      this.pending--;
      if (this.chains.get(ev.callId) === next) this.chains.delete(ev.callId);
    });
    this.chains.set(ev.callId, next);
  }

  /** Resolves when every queued event has been delivered or given up on. */
  async drain(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private async acquire(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }

  private async deliver(target: HookTarget, body: Record<string, unknown>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await this.acquire();
      let ok = false;
      try {
        await this.client.call('statushook', target, body);
        ok = true;
      } catch {
        // counted and logged by the client
      } finally {
        this.release();
      }
      if (ok) {
        this.counters.delivered++;
        return;
      }
      if (attempt >= this.retries) {
        this.counters.failed++;
        this.logger?.warn({ target: describeTarget(target), event: body.event, callId: body.callId }, 'StatusHook event given up');
        return;
      }
      this.counters.retried++;
      await this.sleep(this.retryDelaysMs[Math.min(attempt, this.retryDelaysMs.length - 1)]!);
    }
  }
}
