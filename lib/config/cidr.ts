/**
 * CIDR parsing and matching for trunk source identification. IPv4 and IPv6 are held in one 16-byte space:
 * an IPv4 network a.b.c.d/n is stored as the IPv4-mapped ::ffff:a.b.c.d/(96+n), so an IPv4 source, an
 * IPv4-mapped IPv6 source (as dual-stack sockets report it) and IPv6 networks are all compared the same way.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  /** As written in the config. */
  readonly source: string;
  readonly family: 4 | 6;
  /** 16 bytes, host bits cleared. */
  readonly network: Uint8Array;
  /** Prefix length in the 16-byte space (IPv4 /24 → 120). */
  readonly prefix: number;
}

function parseIPv4(s: string, out: Uint8Array, at: number): boolean {
  if (!isIPv4(s)) return false;
  const parts = s.split('.');
  for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i]);
  return true;
}

/** 16 bytes of an IPv4 (as mapped) or IPv6 address, or undefined when it is neither. Zone ids are ignored. */
export function parseIp(input: string): Uint8Array | undefined {
  let s = input.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  const out = new Uint8Array(16);
  if (isIPv4(s)) {
    out[10] = 0xff;
    out[11] = 0xff;
    parseIPv4(s, out, 12);
    return out;
  }
  if (!isIPv6(s)) return undefined;
  let tail = s;
  let v4Tail: string | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) > lastColon) {
    v4Tail = s.slice(lastColon + 1);
    tail = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = tail.indexOf('::');
  const head = dbl >= 0 ? tail.slice(0, dbl) : tail;
  const rest = dbl >= 0 ? tail.slice(dbl + 2) : '';
  const hs = head ? head.split(':') : [];
  const rs = rest ? rest.split(':') : [];
  const groups: number[] = new Array(8).fill(0);
  hs.forEach((g, i) => (groups[i] = parseInt(g, 16)));
  rs.forEach((g, i) => (groups[8 - rs.length + i] = parseInt(g, 16)));
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  if (v4Tail !== undefined && !parseIPv4(v4Tail, out, 12)) return undefined;
  return out;
}

/** Parses `a.b.c.d/n`, `x::y/n`, or a bare address (= /32 or /128). Returns an error message on failure. */
export function parseCidr(source: string): Cidr | string {
  const slash = source.indexOf('/');
  const addr = slash >= 0 ? source.slice(0, slash) : source;
  const family: 4 | 6 | 0 = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : 0;
  if (family === 0) return 'must be an IPv4 or IPv6 address or CIDR';
  const max = family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const p = source.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return `prefix length must be 0..${max}`;
    len = Number(p);
  }
  const network = parseIp(addr)!;
  const prefix = family === 4 ? 96 + len : len;
  maskInPlace(network, prefix);
  return { source, family, network, prefix };
}

function maskInPlace(bytes: Uint8Array, prefix: number): void {
  for (let i = 0; i < 16; i++) {
    const bits = prefix - i * 8;
    if (bits >= 8) continue;
    bytes[i]! &= bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
}

/** True when `ip` (16 bytes from parseIp) lies in `cidr`. */
export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (ip[i] !== cidr.network[i]) return false;
  const bits = cidr.prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (ip[full]! & mask) === cidr.network[full];
}

export function sameCidr(a: Cidr, b: Cidr): boolean {
  if (a.prefix !== b.prefix) return false;
  for (let i = 0; i < 16; i++) if (a.network[i] !== b.network[i]) return false;
  return true;
}
