/**
 * Errors of the webhook layer. Each has a stable `code`; docs/hooks.md lists them with a sentence each.
 */
export type HookErrorCode =
  | 'DPBX_ERR_HOOK_TIMEOUT'
  | 'DPBX_ERR_HOOK_UNREACHABLE'
  | 'DPBX_ERR_HOOK_STATUS'
  | 'DPBX_ERR_HOOK_BAD_JSON'
  | 'DPBX_ERR_HOOK_FILE'
  | 'DPBX_ERR_HOOK_TEMPLATE'
  | 'DPBX_ERR_HOOK_FUNCTION'
  | 'DPBX_ERR_HOOK_TARGET';

export class HookError extends Error {
  readonly code: HookErrorCode;
  /** HTTP status the hook answered with (DPBX_ERR_HOOK_STATUS), or a status a function hook asked for. */
  readonly httpStatus: number | undefined;

  constructor(code: HookErrorCode, message: string, httpStatus?: number) {
    super(message);
    this.name = 'HookError';
    this.code = code;
    this.httpStatus = httpStatus;
  }

  /**
   * The SIP status a RegHook failure turns into (SPEC §3): a non-200 HTTP answer is passed through as that SIP
   * code when it is a valid final code (400–699), anything else that went wrong (timeout, unreachable, garbage)
   * is 503.
   */
  sipStatus(): number {
    if (this.code === 'DPBX_ERR_HOOK_STATUS' && this.httpStatus !== undefined) {
      return this.httpStatus >= 400 && this.httpStatus <= 699 ? this.httpStatus : 503;
    }
    return 503;
  }
}
