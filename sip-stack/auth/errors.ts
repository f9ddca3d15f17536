/**
 * Errors of the digest authentication layer. Each class carries a stable `code`; docs/sip-auth.md lists them.
 * Bad credentials from the network never throw: DigestServer.verify() returns `{ok:false, reason}`. These errors
 * are for programming mistakes of the layer above (bad options, a challenge without a realm).
 */

export type AuthErrorCode =
  /** An option of DigestServer / DigestClient is invalid (unknown algorithm, empty secret, bad TTL). */
  | 'DPBX_ERR_AUTH_OPTIONS'
  /** challenge() was called with an empty or non-string realm (the original sent realm="undefined"). */
  | 'DPBX_ERR_AUTH_REALM'
  /** DigestClient was given credentials without a username or password. */
  | 'DPBX_ERR_AUTH_CREDENTIALS';

export class AuthError extends Error {
  readonly code: AuthErrorCode;

  constructor(code: AuthErrorCode, message: string) {
    super(message);
    this.name = 'AuthError';
    this.code = code;
  }
}
