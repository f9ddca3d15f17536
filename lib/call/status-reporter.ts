/**
 * StatusHook events of one call (SPEC §5). The event names and their data fields are typed here, so a misspelt
 * name or a missing field is a compile error, and every name is also checked against STATUS_EVENTS at run time
 * by the queue. Events of a verb carry `label` = the verb's statusLabel; `statusLabel: false` silences that
 * verb's events. `hook:error`, `transfer:*` and `call:end` belong to the call, not to a verb, and are never
 * silenced. `call:end` is sent exactly once.
 *
 * Fields beyond SPEC §5 (documented in docs/call-engine.md): `connect:timeout` and `connect:skipped` carry
 * `{dest, index}` (plus `reason` for skipped) because they are per destination; `hook:error` carries
 * `{code, reason}`.
 */
import type { HookTarget, StatusEvent, StatusEventName } from '../hooks/index.js';
import type { StatusLabel } from '../script/index.js';
import type { DestSummary } from './control.js';

/** The data each event carries (SPEC §5). */
export interface StatusEventData {
  'connect:start': Record<string, never>;
  'connect:trying': { dest: DestSummary; index: number };
  'connect:ringing': { dest: DestSummary; index: number };
  'connect:early-media': Record<string, never>;
  'connect:answered': { dest: DestSummary; index: number };
  'connect:timeout': { dest: DestSummary; index: number };
  'connect:cancel': Record<string, never>;
  'connect:error': { status: number; reason: string };
  'connect:hangup': { endedBy: 'caller' | 'callee' };
  'connect:complete': Record<string, never>;
  'connect:skipped': { dest?: DestSummary; index?: number; reason: string };
  'transfer:requested': { referTo: string };
  'transfer:complete': Record<string, never>;
  'transfer:failed': Record<string, never>;
  'playback:start': Record<string, never>;
  'playback:complete': { durationMs: number };
  'playback:failed': { error: string };
  'pause:start': Record<string, never>;
  'pause:complete': Record<string, never>;
  'response:sent': { code: number };
  'hook:error': { code: string; reason: string };
  'call:end': { durationMs: number; cause: string };
}

// Compile-time check that the map covers exactly the SPEC names.
type _Exact = [StatusEventName] extends [keyof StatusEventData] ? ([keyof StatusEventData] extends [StatusEventName] ? true : never) : never;
const _exact: _Exact = true;
void _exact;

/** Where events go: StatusHookQueue satisfies this. */
export interface StatusSink {
  emit(target: HookTarget | undefined, ev: StatusEvent): void;
}

export type VerbEventName = Exclude<StatusEventName, 'hook:error' | 'transfer:requested' | 'transfer:complete' | 'transfer:failed' | 'call:end'>;
export type CallEventName = Exclude<StatusEventName, VerbEventName>;

/** A per-verb view: applies the verb's statusLabel. */
export interface VerbReporter {
  emit<K extends VerbEventName>(event: K, data: StatusEventData[K]): void;
}

export class StatusReporter {
  private ended = false;
  /** Every event sent, in order (names only): for the call's record and tests. */
  readonly sent: StatusEventName[] = [];

  constructor(
    private readonly sink: StatusSink | undefined,
    private target: HookTarget | undefined,
    private readonly callId: string,
  ) {}

  /** The StatusHook target can change on a redirect (PUT /calls/:id with {callHook, statusHook}). */
  setTarget(target: HookTarget | undefined): void {
    this.target = target;
  }

  forVerb(label: StatusLabel): VerbReporter {
    return {
      emit: (event, data) => {
        if (label === false) return;
        this.send(event, data as Record<string, unknown>, label);
      },
    };
  }

  emit<K extends CallEventName>(event: K, data: StatusEventData[K]): void {
    if (event === 'call:end') {
      if (this.ended) return;
      this.ended = true;
    }
    this.send(event, data as Record<string, unknown>, undefined);
  }

  private send(event: StatusEventName, data: Record<string, unknown>, label: string | undefined): void {
    this.sent.push(event);
    if (!this.sink || !this.target) return;
    const ev: StatusEvent = { callId: this.callId, event };
    if (Object.keys(data).length > 0) ev.data = { ...data };
    if (label !== undefined) ev.label = label;
    try {
      this.sink.emit(this.target, ev);
    } catch {
      // StatusHookQueue.emit never throws; a custom sink that does must not break the call
    }
  }
}
