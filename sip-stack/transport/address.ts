/**
 * Address helpers: normalisation of IP literals and flow keys for the connection table.
 */
import { isIP } from 'node:net';
import type { TransportProtocol } from './types.js';

/**
 * Canonical text of an address for comparisons and map keys: brackets stripped, IPv6 lower-cased, an
 * IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket reports) turned into plain IPv4.
 * Host names are lower-cased and returned as they are.
 */
export function normalizeAddress(address: string): string {
  let a = address;
  if (a.length > 1 && a.charCodeAt(0) === 0x5b /* [ */ && a.charCodeAt(a.length - 1) === 0x5d /* ] */) {
    a = a.slice(1, -1);
  }
  const zone = a.indexOf('%');
  const core = zone >= 0 ? a.slice(0, zone) : a;
  if (isIP(core) === 6) {
    const lower = a.toLowerCase();
    if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
    return lower;
  }
  return a.toLowerCase();
}

/** 4 or 6 for an IP literal (after normalisation), 0 for a host name. */
export function addressFamily(address: string): 0 | 4 | 6 {
  const a = normalizeAddress(address);
  const zone = a.indexOf('%');
  return isIP(zone >= 0 ? a.slice(0, zone) : a) as 0 | 4 | 6;
}

/**
 * True when two hosts denote the same address: equal after normalisation, and for IPv6 equal in their
 * expanded 16-byte form (so `::1` equals `0:0:0:0:0:0:0:1`).
 */
export function sameAddress(a: string, b: string): boolean {
  const na = normalizeAddress(a);
  const nb = normalizeAddress(b);
  if (na === nb) return true;
  if (isIP(na) === 6 && isIP(nb) === 6) return expandIpv6(na) === expandIpv6(nb);
  return false;
}

function expandIpv6(a: string): string {
  // Embedded IPv4 tail (::ffff:1.2.3.4 style) → two hex groups.
  let s = a;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (isIP(tail) === 4) {
    const p = tail.split('.').map(Number);
    s = s.slice(0, lastColon + 1) + ((p[0]! << 8) | p[1]!).toString(16) + ':' + ((p[2]! << 8) | p[3]!).toString(16);
  }
  const dbl = s.indexOf('::');
  let groups: string[];
  if (dbl >= 0) {
    const head = s.slice(0, dbl) === '' ? [] : s.slice(0, dbl).split(':');
    const rest = s.slice(dbl + 2) === '' ? [] : s.slice(dbl + 2).split(':');
    const fill = 8 - head.length - rest.length;
    groups = [...head, ...new Array<string>(Math.max(0, fill)).fill('0'), ...rest];
  } else {
    groups = s.split(':');
  }
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

/** Key of a remote flow in the connection table (transport + normalised address + port). */
export function flowKey(transport: TransportProtocol, address: string, port: number): string {
  return transport + '|' + normalizeAddress(address) + '|' + port;
}
