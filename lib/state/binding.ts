/**
 * The pure core of a registration update, shared by every store so they behave identically: RFC 3261 §10.3
 * steps 6–8 (add, refresh, remove bindings; the Call-ID/CSeq ordering rule; all-or-nothing commit) plus
 * maxContacts eviction. No I/O, no clock of its own: `now` comes from the store.
 */
import type { ContactBinding, RegisterOutcome, RegisterUpdate } from './types.js';

export interface AppliedRegister {
  outcome: RegisterOutcome;
  /** Bindings after the update (the unchanged input when the outcome is 'out-of-order'). */
  contacts: ContactBinding[];
  evicted: ContactBinding[];
  removed: ContactBinding[];
  /** True when `contacts` differs from the input (a store must write). */
  changed: boolean;
}

/** The bindings that have not expired at `now`. */
export function liveContacts(contacts: readonly ContactBinding[], now: number): ContactBinding[] {
  return contacts.filter((c) => c.expiresAt > now);
}

/** Latest expiry among the bindings (epoch ms), 0 when there are none. */
export function latestExpiry(contacts: readonly ContactBinding[]): number {
  let max = 0;
  for (const c of contacts) if (c.expiresAt > max) max = c.expiresAt;
  return max;
}

/**
 * Seconds left for a binding at `now`, rounded to the nearest second, at least 0 (the `expires` param of a
 * 200 OK Contact). Rounding, not ceiling: the registrar's and the store's clocks are read a few ms apart.
 */
export function secondsLeft(binding: ContactBinding, now: number): number {
  return Math.max(0, Math.round((binding.expiresAt - now) / 1000));
}

/**
 * Apply one REGISTER to the current (unexpired) bindings of an AOR at time `now`.
 * `maxContacts` (default 1) keeps the newest bindings: oldest `receivedAt` evicted first; bindings of this same
 * request tie on `receivedAt` and the ones listed first are evicted first, so with maxContacts 1 the last
 * Contact of the request wins.
 */
export function applyRegister(existing: readonly ContactBinding[], update: RegisterUpdate, now: number): AppliedRegister {
  const unchanged = (outcome: RegisterOutcome): AppliedRegister => ({
    outcome,
    contacts: existing.slice(),
    evicted: [],
    removed: [],
    changed: false,
  });
  // RFC 3261 §10.3 step 7: "If they are the same, the registrar compares the CSeq value. If the value is higher
  // than that of the existing binding, it MUST update or remove the binding as above. If not, the update MUST be
  // aborted and the request fails."
  const stale = (b: ContactBinding | undefined): boolean => b !== undefined && b.callId === update.callId && update.cseq <= b.cseq;

  if (update.removeAll) {
    // RFC 3261 §10.3 step 6: "If the Call-ID agrees, it MUST remove the binding only if the CSeq in the request is
    // higher than the value stored for that binding. Otherwise, the update MUST be aborted and the request fails."
    if (existing.some(stale)) return unchanged('out-of-order');
    return { outcome: 'ok', contacts: [], evicted: [], removed: existing.slice(), changed: existing.length > 0 };
  }
  if (update.contacts.length === 0) return unchanged('ok'); // a query: "the registrar ... returns the current bindings"

  const before = new Map<string, ContactBinding>();
  for (const b of existing) before.set(b.key, b);
  const next = new Map(before);
  const removed: ContactBinding[] = [];
  for (const c of update.contacts) {
    if (stale(before.get(c.key))) return unchanged('out-of-order');
    if (!(Number.isFinite(c.expires) && c.expires >= 0)) continue; // the registrar never passes these
    const prev = next.get(c.key);
    if (c.expires === 0) {
      // RFC 3261 §10.3 step 7: "If the binding does exist ... the binding MUST be removed if the expiration time
      // is zero and updated otherwise." Removing an absent binding is not an error.
      if (prev) {
        removed.push(prev);
        next.delete(c.key);
      }
      continue;
    }
    // RFC 3261 §10.3 step 7: "If the binding does not exist, it is tentatively added." (and updated otherwise)
    const b: ContactBinding = {
      uri: c.uri,
      key: c.key,
      expiresAt: now + c.expires * 1000,
      flow: { ...update.flow },
      callId: update.callId,
      cseq: update.cseq,
      receivedAt: now,
    };
    if (c.instance !== undefined) b.instance = c.instance;
    if (c.regId !== undefined) b.regId = c.regId;
    if (c.q !== undefined) b.q = c.q;
    if (update.userAgent !== undefined) b.userAgent = update.userAgent;
    if (update.path !== undefined && update.path.length > 0) b.path = update.path.slice();
    // A refresh moves the binding to the end (insertion order = age order for equal receivedAt).
    next.delete(c.key);
    next.set(c.key, b);
  }

  const max = Math.max(1, Math.floor(update.maxContacts ?? 1));
  let list = [...next.values()];
  const evicted: ContactBinding[] = [];
  if (list.length > max) {
    // Oldest first; Array.prototype.sort is stable, so equal receivedAt keep insertion order.
    const byAge = list.slice().sort((a, b) => a.receivedAt - b.receivedAt);
    const drop = new Set(byAge.slice(0, list.length - max));
    for (const b of byAge) if (drop.has(b)) evicted.push(b);
    list = list.filter((b) => !drop.has(b));
  }
  // RFC 3261 §10.3 step 7: "The binding updates MUST be committed ... if and only if all binding updates and
  // additions succeed." Everything above is computed on copies; the caller commits `contacts` in one write.
  return { outcome: 'ok', contacts: list, evicted, removed, changed: true };
}
