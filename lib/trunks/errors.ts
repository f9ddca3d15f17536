/**
 * Errors of lib/trunks. Every error has a stable `code`:
 *
 * | code | meaning |
 * |---|---|
 * | DPBX_ERR_TRUNK_OPTIONS | TrunkRegistrations was constructed with invalid options (missing `ua`, bad retry values). |
 * | DPBX_ERR_TRUNK_STOPPED | start() or update() was called after stop(): a stopped TrunkRegistrations stays stopped. |
 * | DPBX_ERR_TRUNK_CONFIG | A trunk asks for registration but cannot register (no outbound username); reported in its state, never thrown. |
 */
export type TrunkErrorCode = 'DPBX_ERR_TRUNK_OPTIONS' | 'DPBX_ERR_TRUNK_STOPPED' | 'DPBX_ERR_TRUNK_CONFIG';

export class TrunkError extends Error {
  readonly code: TrunkErrorCode;

  constructor(code: TrunkErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TrunkError';
    this.code = code;
  }
}
