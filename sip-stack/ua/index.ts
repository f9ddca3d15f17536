/**
 * Public entry point of sip-stack/ua — user-agent helpers the PBX builds on (RFC 3261 §8, §12-§15, RFC 3262,
 * RFC 3326): UserAgent (transport + transactions + dialogs), UasInvite, UacInvite (forking, CANCEL, digest
 * retry), Session (in-dialog requests, 2xx/ACK cores), IncomingRequest, RegisterClient. Reference: docs/sip-ua.md.
 */
export { UaError, type UaErrorCode } from './errors.js';
export { type ResponseOptions, type InDialogOptions } from './core.js';
export { UserAgent, createUserAgent, retryRequest, DEFAULT_UA_METHODS, type UserAgentOptions, type UserAgentEvents,
  type UaCounters } from './user-agent.js';
export { IncomingRequest } from './incoming-request.js';
export { UasInvite, UasInviteState, type UasInviteEvents, type ProgressOptions } from './uas-invite.js';
export { UacInvite, UacInviteState, type UacInviteEvents, type InviteOptions, type InviteResult } from './uac-invite.js';
export { Session, SessionState, type SessionEvents, type TerminationCause, type ReinviteResult } from './session.js';
export { RegisterClient, RegisterState, type RegisterClientOptions, type RegisterClientEvents } from './register-client.js';
