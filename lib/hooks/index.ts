// Webhook layer: RegHook / CallHook / StatusHook clients, file: scripts, signatures (SPEC §3).
export { HookError, type HookErrorCode } from './errors.js';
export {
  HookClient,
  hookReply,
  describeTarget,
  type HookClientOptions,
  type HookCounters,
  type HookFunction,
  type HookKind,
  type HookLogger,
  type HookReply,
  type HookTarget,
} from './hook-client.js';
export { evaluateFileScript, renderTemplate, wildcardMatch, type TemplateContext } from './file-script.js';
export { SIGNATURE_HEADER, signHookBody, verifyHookSignature, type VerifySignatureOptions } from './signature.js';
export { STATUS_EVENTS, isStatusEventName, type StatusEventName } from './status-events.js';
export {
  StatusHookQueue,
  type StatusEvent,
  type StatusHookCounters,
  type StatusHookQueueOptions,
} from './status-hook.js';
