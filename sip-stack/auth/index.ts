// Public entry point of sip-stack/auth/ — digest authentication (RFC 3261 §22, RFC 7616, RFC 8760).
export { AuthError, type AuthErrorCode } from './errors.js';
export { type DigestAlgorithm, type DigestSecret, type DigestParams, type DigestInput, DIGEST_ALGORITHMS,
  normalizeAlgorithm, computeHa1, computeResponse, digestHash, digestEquals, verifyDigest } from './digest.js';
export { type AuthClock, systemAuthClock } from './nonce.js';
export { DigestServer, type DigestServerOptions, type ChallengeOptions, type DigestChallenge, type VerifyFailure,
  type VerifyResult, type DigestCredentials, type InspectResult, type VerifyOptions, type CredentialsLookup,
  type AsyncCredentialsLookup } from './digest-server.js';
export { DigestClient, type DigestClientCredentials, type DigestClientOptions,
  type AuthorizationHeader } from './digest-client.js';
