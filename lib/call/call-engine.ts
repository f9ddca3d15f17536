/**
 * CallEngine: the one object the PBX wiring (lib/pbx.ts) creates for calls. It owns the CallRegistry (live calls,
 * CDRs, ladders), the DestResolver and the shared counters, and starts one CallScriptExecutor per inbound call.
 *
 *   const engine = new CallEngine({ config: () => cfg, registrations: store, hooks: hookClient, status: queue });
 *   const { call, executor, done } = engine.startCall(info, { inbound, dialer, media },
 *                                                     { callHook: entry.callHook, statusHook: entry.statusHook });
 *   // SIP layer: REFER → engine.executor(call.id)?.referRequested(referTo, {by, notify})
 *   // API: DELETE /domains/:d/calls/:id → engine.executorIn(d, id)?.terminate()
 */
import type { Config, Hook } from '../config/index.js';
import type { HookTarget } from '../hooks/index.js';
import type { Logger } from '../log.js';
import type { Call, CallEndCause } from './call.js';
import { CallRegistry } from './call-registry.js';
import type { CdrStore } from './cdr.js';
import type { CallClock } from './clock.js';
import type { CallInfo, Dialer, InboundLeg, MediaControl, Registrations } from './control.js';
import { DestResolver } from './dest-resolver.js';
import { CallError } from './errors.js';
import {
  CallScriptExecutor,
  hookTarget,
  newCallCounters,
  type CallCounters,
  type CallFallback,
  type CallHookClient,
} from './executor.js';
import type { StatusSink } from './status-reporter.js';

export interface CallEngineOptions {
  /** The current config (a function: reloads apply to new calls). */
  config: () => Config;
  registrations: Registrations;
  hooks: CallHookClient;
  status?: StatusSink;
  fallback?: CallFallback;
  maxRetries?: number;
  /** DEFAULT_RINGTONE. */
  defaultRingtone?: string;
  clock?: CallClock;
  logger?: Logger;
  cdrs?: CdrStore;
}

export interface CallLegsBinding {
  inbound: InboundLeg;
  dialer: Dialer;
  media: MediaControl;
}

export interface CallHooks {
  callHook: Hook | HookTarget;
  statusHook?: Hook | HookTarget;
}

const asTarget = (h: Hook | HookTarget): HookTarget => (typeof h === 'object' && h !== null && 'kind' in h ? hookTarget(h) : (h as HookTarget));

export class CallEngine {
  readonly registry: CallRegistry;
  readonly resolver: DestResolver;
  readonly counters: CallCounters = newCallCounters();
  private readonly executors = new Map<string, CallScriptExecutor>();

  constructor(private readonly opts: CallEngineOptions) {
    if (typeof opts.config !== 'function') throw new CallError('DPBX_ERR_CALL_OPTIONS', 'CallEngine: config must be a function returning the current Config');
    if (!opts.registrations || typeof opts.registrations.lookup !== 'function') {
      throw new CallError('DPBX_ERR_CALL_OPTIONS', 'CallEngine: registrations.lookup is required');
    }
    if (!opts.hooks || typeof opts.hooks.call !== 'function') throw new CallError('DPBX_ERR_CALL_OPTIONS', 'CallEngine: hooks.call is required');
    this.registry = new CallRegistry({ ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.cdrs ? { cdrs: opts.cdrs } : {}) });
    this.resolver = new DestResolver({ config: opts.config, registrations: opts.registrations });
  }

  /** Create the call and run its CallHook/CallScripts. `done` resolves with the end cause; never rejects. */
  startCall(
    info: CallInfo,
    legs: CallLegsBinding,
    hooks: CallHooks,
    extra: { initialScript?: unknown } = {},
  ): { call: Call; executor: CallScriptExecutor; done: Promise<CallEndCause> } {
    const call = this.registry.create(info);
    const o = this.opts;
    const executor = new CallScriptExecutor({
      call,
      inbound: legs.inbound,
      dialer: legs.dialer,
      media: legs.media,
      resolver: this.resolver,
      hooks: o.hooks,
      callHook: asTarget(hooks.callHook),
      ...(hooks.statusHook ? { statusHook: asTarget(hooks.statusHook) } : {}),
      ...(o.status ? { status: o.status } : {}),
      ...(o.fallback ? { fallback: o.fallback } : {}),
      ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
      ...(o.defaultRingtone ? { defaultRingtone: o.defaultRingtone } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.logger ? { logger: o.logger } : {}),
      ...(extra.initialScript !== undefined ? { initialScript: extra.initialScript } : {}),
      counters: this.counters,
    });
    this.executors.set(call.id, executor);
    const done = executor.run().finally(() => this.executors.delete(call.id));
    return { call, executor, done };
  }

  executor(id: string): CallScriptExecutor | undefined {
    return this.executors.get(id);
  }

  /** The executor of a call of `domain` (another domain's call is not found). */
  executorIn(domain: string, id: string): CallScriptExecutor | undefined {
    return this.registry.get(domain, id) ? this.executors.get(id) : undefined;
  }

  /** End every live call (shutdown). */
  terminateAll(): void {
    for (const e of this.executors.values()) e.terminate();
  }

  get activeCalls(): number {
    return this.executors.size;
  }
}
