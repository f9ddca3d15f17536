/**
 * Errors of the registrar. The registrar itself never rejects (every problem becomes a SIP response); these
 * codes appear in logs, in `RegistrarError` thrown by the constructor, and in docs/registrar.md.
 *
 *  - DPBX_ERR_REGISTRAR_OPTIONS     bad Registrar options (e.g. minExpires above maxExpires).
 *  - DPBX_ERR_REGISTRAR_HOOK_REPLY  a RegHook answered 200 with a body that is not `{status, dialplan?, ...}`
 *                                   of the documented shape; the REGISTER gets 503.
 */
export type RegistrarErrorCode = 'DPBX_ERR_REGISTRAR_OPTIONS' | 'DPBX_ERR_REGISTRAR_HOOK_REPLY';

export class RegistrarError extends Error {
  readonly code: RegistrarErrorCode;

  constructor(code: RegistrarErrorCode, message: string) {
    super(message);
    this.name = 'RegistrarError';
    this.code = code;
  }
}
