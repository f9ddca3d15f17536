/**
 * Identity of a binding inside its AOR, from a Contact value.
 *
 * RFC 5626 §6: "the registrar ... MUST compare the instance-id and reg-id ... rather than the Contact URI" when
 * the Contact carries `+sip.instance` (and `reg-id`). Otherwise RFC 3261 §10.3 step 7 compares Contact URIs with
 * the §19.1.4 rules; this is a simplified canonical form of them: scheme, user (case-sensitive), host
 * (case-insensitive), port as written, and the parameters that must match when present in either URI
 * (transport, user, ttl, method, maddr). Other URI parameters (e.g. `ob`, `rinstance`) do not change identity.
 */
import type { NameAddr, SipUri } from '../../sip-stack/index.js';

const KEY_PARAMS = ['maddr', 'method', 'transport', 'ttl', 'user'] as const;

export interface ContactIdentity {
  key: string;
  /** `+sip.instance` value, unquoted (e.g. `<urn:uuid:...>`). */
  instance?: string;
  regId?: number;
}

export function uriKey(uri: SipUri): string {
  let k = `${uri.scheme}:${uri.user ?? ''}@${uri.hostname}`;
  if (uri.port !== undefined) k += `:${uri.port}`;
  for (const p of KEY_PARAMS) {
    const v = uri.params[p];
    if (v !== undefined) k += `;${p}=${(v ?? '').toLowerCase()}`;
  }
  return k;
}

function unquoteParam(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

export function contactIdentity(c: NameAddr): ContactIdentity {
  const rawInstance = c.params['+sip.instance'];
  const rawRegId = c.params['reg-id'];
  const instance = typeof rawInstance === 'string' && rawInstance !== '' ? unquoteParam(rawInstance) : undefined;
  const regId = typeof rawRegId === 'string' && /^\d{1,9}$/.test(rawRegId) ? Number(rawRegId) : undefined;
  if (instance !== undefined) {
    const out: ContactIdentity = { key: regId !== undefined ? `instance:${instance};reg-id=${regId}` : `instance:${instance}`, instance };
    if (regId !== undefined) out.regId = regId;
    return out;
  }
  return { key: uriKey(c.uri) };
}
