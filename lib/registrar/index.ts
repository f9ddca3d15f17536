/**
 * lib/registrar — REGISTER handling (RFC 3261 §10.3, SPEC §6): domain lookup, digest auth (static password or
 * RegHook), expiry policy, bindings in the registration store, brute-force throttle.
 *
 *   const registrar = new Registrar({ config: configSource, store, hooks, minExpires: 30, maxExpires: 3600 });
 *   const res = await registrar.handleRegister(req, { transport: 'udp', address, port });  // never rejects
 *
 * See docs/registrar.md.
 */
export {
  Registrar,
  type RegisterSource,
  type RegistrarClock,
  type RegistrarCounters,
  type RegistrarOptions,
} from './registrar.js';
export { RegistrarError, type RegistrarErrorCode } from './errors.js';
export { FailureThrottle, throttleKey, type FailureThrottleOptions } from './failure-throttle.js';
export { contactIdentity, uriKey, type ContactIdentity } from './binding-key.js';
export { parseRegHookReply, type RegHookBody, type RegHookVerdict } from './reghook.js';
