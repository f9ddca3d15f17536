/**
 * lib/trunks — trunk registrations (SPEC §6: trunks with `register: true` keep a registration alive: refresh
 * before expiry, retry with backoff on failure, unregister on removal/shutdown). See docs/trunks.md.
 *
 *   const trunks = new TrunkRegistrations({ ua, store, logger });   // ua: the PBX's UserAgent
 *   trunks.start(config);  config.on('change', (c) => trunks.update(c));  await trunks.stop();
 */
export { TrunkError, type TrunkErrorCode } from './errors.js';
export { registerTarget, trunkKey, type RegisterTarget } from './register-target.js';
export { TrunkRegistration, type RegisterClientLike, type RegisterClientFactory, type TrunkStateSink, type TrunkLogger,
  type TrunkRegistrationInfo } from './trunk-registration.js';
export { TrunkRegistrations, type TrunkRegistrationsOptions, type TrunkRegistrationsCounters } from './trunk-registrations.js';
