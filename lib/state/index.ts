/**
 * lib/state — registrations, client assignments and trunk registration state, in memory (default) or Redis.
 *
 *   const store = createRegistrationStore({ redisUrl: process.env.REDIS_URL, logger });
 *   const r = await store.register({ domain, user }, { callId, cseq, flow, contacts, maxContacts });
 *   const reg = await store.lookup({ domain, user });      // unexpired contacts + assignment
 *   await store.close();
 *
 * Every store method rejects only with StateError; StateUnavailableError means "backend down, answer 503".
 * See docs/state.md.
 */
import { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
import { RedisStore, type RedisStoreOptions, type StateLogger } from './redis-store.js';
import type { RegistrationStore, StateClock } from './types.js';

export * from './types.js';
export { StateError, StateUnavailableError, isStateUnavailable, type StateErrorCode } from './errors.js';
export { applyRegister, liveContacts, latestExpiry, secondsLeft, type AppliedRegister } from './binding.js';
export { systemStateClock } from './clock.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { RedisStore, describeRedisUrl, type RedisStoreOptions, type StateLogger } from './redis-store.js';

export interface CreateRegistrationStoreOptions {
  /** REDIS_URL: a Redis store when set, the memory store otherwise. */
  redisUrl?: string;
  keyPrefix?: string;
  clock?: StateClock;
  logger?: StateLogger;
  memory?: Omit<MemoryStoreOptions, 'clock'>;
  redis?: Omit<RedisStoreOptions, 'url' | 'clock' | 'logger' | 'keyPrefix'>;
}

/** The store SPEC §1 asks for: Redis when REDIS_URL is set, memory otherwise. */
export function createRegistrationStore(opts: CreateRegistrationStoreOptions = {}): RegistrationStore {
  if (opts.redisUrl) {
    return new RedisStore({
      ...opts.redis,
      url: opts.redisUrl,
      ...(opts.keyPrefix !== undefined ? { keyPrefix: opts.keyPrefix } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }
  return new MemoryStore({ ...opts.memory, ...(opts.clock ? { clock: opts.clock } : {}) });
}
