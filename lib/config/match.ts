/**
 * The lookups the PBX makes against a normalised Config. Domains are isolated: every function takes a domain
 * (or returns one), and nothing ever searches across domains except source-IP trunk identification, which
 * returns the single domain the trunk belongs to.
 */
import { cidrContains, parseIp } from './cidr.js';
import { firstMatch, patternMatches } from './pattern.js';
import type { Client, Config, Dialplan, DialplanEntry, Domain, Trunk } from './types.js';

/** The domain named `name` (case-insensitive, exact, a trailing dot ignored), or undefined. */
export function findDomain(config: Config, name: string): Domain | undefined {
  return config.domains.get(name.toLowerCase().replace(/\.$/, ''));
}

/** The client of `domain` whose username pattern matches `username` most specifically, or undefined. */
export function matchClient(domain: Domain, username: string): Client | undefined {
  for (const c of domain.clientsBySpecificity) {
    if (c.username.exact ? c.username.source === username : patternMatches(c.username.source, username)) return c;
  }
  return undefined;
}

/** The dialplan entry that wins for `number` (most specific match, never key order), or undefined. */
export function matchDialplan(dialplan: Dialplan, number: string): DialplanEntry | undefined {
  return firstMatch(dialplan.entries, number);
}

export interface TrunkMatch {
  domain: Domain;
  trunk: Trunk;
}

/**
 * The trunk whose inbound CIDRs contain `ip` (IPv4, IPv6 or IPv4-mapped IPv6, e.g. `::ffff:198.51.100.7`);
 * the longest prefix wins across all domains. Undefined when no trunk matches or `ip` is not an address.
 */
export function matchTrunkBySource(config: Config, ip: string): TrunkMatch | undefined {
  const bytes = parseIp(ip);
  if (!bytes) return undefined;
  for (const r of config.trunkRoutes) {
    if (cidrContains(r.cidr, bytes)) return { domain: r.domain, trunk: r.trunk };
  }
  return undefined;
}

/** A trunk of `domain` by id (number/string compared as text) or by name. */
export function findTrunk(domain: Domain, idOrName: number | string): Trunk | undefined {
  const s = String(idOrName);
  return domain.trunks.find((t) => String(t.id) === s) ?? domain.trunks.find((t) => t.name === s);
}
