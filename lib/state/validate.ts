import { StateError } from './errors.js';
import type { Aor } from './types.js';

/** Checks an AOR at the store boundary and returns it with the domain lower-cased. */
export function normalizeAor(aor: Aor): Aor {
  if (!aor || typeof aor.domain !== 'string' || typeof aor.user !== 'string') {
    throw new StateError('DPBX_ERR_STATE_INPUT', 'AOR needs a domain and a user');
  }
  const domain = normalizeDomain(aor.domain);
  if (aor.user.length === 0 || aor.user.length > 256 || aor.user.includes('\0')) {
    throw new StateError('DPBX_ERR_STATE_INPUT', 'AOR user must be 1..256 characters without NUL');
  }
  return { domain, user: aor.user };
}

export function normalizeDomain(domain: string): string {
  if (typeof domain !== 'string') throw new StateError('DPBX_ERR_STATE_INPUT', 'domain must be a string');
  const d = domain.toLowerCase().replace(/\.$/, '');
  if (d.length === 0 || d.length > 253 || /[\s\0:]/.test(d)) {
    throw new StateError('DPBX_ERR_STATE_INPUT', 'domain must be a host name');
  }
  return d;
}

export function trunkKey(trunkId: string | number): string {
  const s = String(trunkId);
  if (s.length === 0 || s.length > 256) throw new StateError('DPBX_ERR_STATE_INPUT', 'trunk id must be 1..256 characters');
  return s;
}
