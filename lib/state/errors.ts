/**
 * Errors of the state layer (registrations, client assignments, trunk registration state). Each class has a
 * stable `code`; docs/state.md lists them with a sentence each.
 *
 *  - DPBX_ERR_STATE_UNAVAILABLE  the backend (Redis) cannot be reached right now; the caller answers 503 with
 *                                Retry-After. The store keeps reconnecting by itself.
 *  - DPBX_ERR_STATE_BACKEND      the backend answered with an error (not a connection problem), e.g. a Redis
 *                                ReplyError; the caller answers 500.
 *  - DPBX_ERR_STATE_CONFLICT     an optimistic update lost the race against other writers too many times.
 *  - DPBX_ERR_STATE_CLOSED       the store was used after close().
 *  - DPBX_ERR_STATE_OPTIONS      bad store options (e.g. a REDIS_URL that is not redis:// or rediss://).
 *  - DPBX_ERR_STATE_INPUT        a caller passed a value the store cannot hold (bad AOR, negative expiry, ...).
 */
export type StateErrorCode =
  | 'DPBX_ERR_STATE_UNAVAILABLE'
  | 'DPBX_ERR_STATE_BACKEND'
  | 'DPBX_ERR_STATE_CONFLICT'
  | 'DPBX_ERR_STATE_CLOSED'
  | 'DPBX_ERR_STATE_OPTIONS'
  | 'DPBX_ERR_STATE_INPUT';

export class StateError extends Error {
  readonly code: StateErrorCode;
  override readonly cause?: unknown;

  constructor(code: StateErrorCode, message: string, cause?: unknown) {
    super(message);
    this.name = 'StateError';
    this.code = code;
    if (cause !== undefined) this.cause = cause;
  }
}

/** The backend is down or unreachable: fail fast, answer 503 + Retry-After, try again later. */
export class StateUnavailableError extends StateError {
  /** Seconds a client should wait before retrying (the Retry-After the registrar sends). */
  readonly retryAfter: number;

  constructor(message: string, cause?: unknown, retryAfter = 5) {
    super('DPBX_ERR_STATE_UNAVAILABLE', message, cause);
    this.name = 'StateUnavailableError';
    this.retryAfter = retryAfter;
  }
}

export function isStateUnavailable(err: unknown): err is StateUnavailableError {
  return err instanceof StateUnavailableError;
}
