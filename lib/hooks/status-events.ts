/** StatusHook event names (SPEC §5), exactly as the application receives them. */
export const STATUS_EVENTS = [
  'connect:start',
  'connect:trying',
  'connect:ringing',
  'connect:early-media',
  'connect:answered',
  'connect:timeout',
  'connect:cancel',
  'connect:error',
  'connect:hangup',
  'connect:complete',
  'connect:skipped',
  'transfer:requested',
  'transfer:complete',
  'transfer:failed',
  'playback:start',
  'playback:complete',
  'playback:failed',
  'pause:start',
  'pause:complete',
  'response:sent',
  'hook:error',
  'call:end',
] as const;

export type StatusEventName = (typeof STATUS_EVENTS)[number];

const NAMES: ReadonlySet<string> = new Set(STATUS_EVENTS);

export function isStatusEventName(s: string): s is StatusEventName {
  return NAMES.has(s);
}
