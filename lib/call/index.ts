// lib/call — the call engine: CallControl interfaces, Dest resolution, the CallScript executor, calls, CDRs,
// SIP ladders, transfers (SPEC §3–§6). See docs/call-engine.md.
export { CallError, type CallErrorCode } from './errors.js';
export { systemCallClock, type CallClock } from './clock.js';
export { TypedEmitter } from './typed-emitter.js';
export {
  COMPLETED_ELSEWHERE,
  formatReason,
  type CallInfo,
  type CancelReason,
  type ClientDialTarget,
  type DestSummary,
  type DialOptions,
  type DialTarget,
  type Dialer,
  type InboundLeg,
  type LegRef,
  type MediaControl,
  type OutboundAttempt,
  type OutboundAttemptEvents,
  type PlaybackResult,
  type RegisteredContact,
  type Registrations,
  type SipDialTarget,
  type TrunkDialTarget,
} from './control.js';
export { DestResolver, type DestResolution, type DestResolverOptions } from './dest-resolver.js';
export { StatusReporter, type StatusEventData, type StatusSink, type VerbReporter } from './status-reporter.js';
export { SipLadder, type LadderEntry } from './ladder.js';
export { MemoryCdrStore, type CdrQuery, type CdrRecord, type CdrStore } from './cdr.js';
export { Call, CallState, type CallEndCause, type CallSnapshot, type LegRecord, type LegRole, type LegState } from './call.js';
export { CallRegistry, type CallRegistryOptions } from './call-registry.js';
export { ConnectRun, ConnectState, REDIRECTED, summarizeDest, type ConnectContext, type ConnectInterrupt, type ConnectOutcome } from './connect-run.js';
export {
  CallScriptExecutor,
  hookTarget,
  newCallCounters,
  reasonPhrase,
  referToUser,
  type CallCounters,
  type CallFallback,
  type CallHookClient,
  type CallRedirectRequest,
  type CallScriptExecutorOptions,
  type ReferOptions,
  type TransferDecision,
} from './executor.js';
export { CallEngine, type CallEngineOptions, type CallHooks, type CallLegsBinding } from './call-engine.js';
