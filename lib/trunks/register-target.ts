/**
 * Pure mapping of a trunk's `outbound` settings (SPEC §2) to the REGISTER it sends (RFC 3261 §10.2):
 *   Request-URI  sip:<host>[:<port>][;transport=<t>]   "the domain of the location service" (§10.2)
 *   To / From    sip:<username>@<host>                  the address of record the carrier gave us
 *   Expires      outbound.expires                       the carrier may grant less (§10.2.1)
 *   credentials  outbound.username / outbound.password  for 401/407 (§22.2); never logged
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Domain, Trunk, TrunkOutbound } from '../config/index.js';
import { TrunkError } from './errors.js';

/** What a trunk registration needs to know; derived from the config, compared on update(). */
export interface RegisterTarget {
  /** Lower-case domain the trunk belongs to. */
  domain: string;
  trunkId: number | string;
  trunkName: string;
  /** Request-URI of the REGISTER. */
  registrar: string;
  /** Address of record (To/From). */
  aor: string;
  /** Requested expiry in seconds. */
  expires: number;
  /** Digest credentials; the password never leaves this object except into the digest computation. */
  auth?: { username: string; password: string };
  /** "host:port/transport", for logs. */
  display: string;
  /** Equal fingerprints = nothing relevant changed (the password enters only as a hash). */
  fingerprint: string;
}

function defaultPort(transport: TrunkOutbound['transport']): number {
  return transport === 'tls' || transport === 'wss' ? 5061 : 5060;
}

function hostPart(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** Key of a trunk in maps and logs: domain + id. */
export function trunkKey(domain: string, trunkId: number | string): string {
  return `${domain}\u0000${String(trunkId)}`;
}

/**
 * The REGISTER target of a trunk with `outbound.register: true`, or undefined when it does not register.
 * Throws TrunkError DPBX_ERR_TRUNK_CONFIG when it asks to register but has no outbound username (no AOR).
 */
export function registerTarget(domain: Domain, trunk: Trunk): RegisterTarget | undefined {
  const o = trunk.outbound;
  if (!o || !o.register) return undefined;
  if (!o.username) {
    throw new TrunkError('DPBX_ERR_TRUNK_CONFIG', `trunk ${String(trunk.id)} of ${domain.name}: outbound.register needs outbound.username`);
  }
  const host = hostPart(o.host);
  const port = o.port === defaultPort(o.transport) ? '' : `:${o.port}`;
  const transport = o.transport === 'udp' ? '' : `;transport=${o.transport}`;
  const registrar = `sip:${host}${port}${transport}`;
  const aor = `sip:${encodeUser(o.username)}@${host}`;
  const auth = o.password !== undefined ? { username: o.username, password: o.password } : undefined;
  const pwHash = o.password === undefined ? '-' : createHash('sha256').update(o.password).digest('hex');
  return {
    domain: domain.name,
    trunkId: trunk.id,
    trunkName: trunk.name,
    registrar,
    aor,
    expires: o.expires,
    ...(auth ? { auth } : {}),
    display: `${host}:${o.port}/${o.transport}`,
    fingerprint: JSON.stringify([registrar, aor, o.expires, o.username, pwHash]),
  };
}

/** RFC 3261 §25.1 user part: unreserved, escaped, user-unreserved; everything else percent-encoded. */
function encodeUser(user: string): string {
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join(''),
  );
}
