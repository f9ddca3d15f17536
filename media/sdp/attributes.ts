/**
 * Typed views of the SDP attributes the PBX negotiates: rtpmap/fmtp (RFC 8866 §6.6/§6.15), the static payload
 * types of RFC 3551 §6, ptime/maxptime, direction (RFC 8866 §6.7, RFC 3264), rtcp (RFC 3605), rtcp-mux
 * (RFC 5761) and crypto (RFC 4568 SDES).
 */
import { SdpError } from './errors.js';
import type { SdpAttribute, SdpConnection, SdpMedia, SessionDescription } from './session-description.js';

export interface SdpCodec {
  payloadType: number;
  /** Encoding name as written in the SDP (compare case-insensitively). */
  name: string;
  /** Clock rate as written in SDP (G722 is 8000 there: RFC 3551 §4.5.2 quirk). */
  clockRate: number;
  channels: number;
  /** fmtp parameters for this payload type, raw. */
  fmtp?: string;
}

/** RFC 3551 §6 static audio payload types the PBX knows. */
export const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, { name: string; clockRate: number; channels: number }> = new Map([
  [0, { name: 'PCMU', clockRate: 8000, channels: 1 }],
  [3, { name: 'GSM', clockRate: 8000, channels: 1 }],
  [4, { name: 'G723', clockRate: 8000, channels: 1 }],
  [8, { name: 'PCMA', clockRate: 8000, channels: 1 }],
  [9, { name: 'G722', clockRate: 8000, channels: 1 }],
  [13, { name: 'CN', clockRate: 8000, channels: 1 }],
  [18, { name: 'G729', clockRate: 8000, channels: 1 }],
]);

/** The static payload type for a codec, or -1 when it needs a dynamic one. */
export function staticPayloadType(name: string, clockRate: number, channels = 1): number {
  const n = name.toUpperCase();
  for (const [pt, c] of STATIC_PAYLOAD_TYPES) {
    if (c.name === n && c.clockRate === clockRate && c.channels === channels) return pt;
  }
  return -1;
}

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

export function findAttribute(attrs: SdpAttribute[], name: string): SdpAttribute | undefined {
  for (const a of attrs) if (a.name === name) return a;
  return undefined;
}

export function findAttributes(attrs: SdpAttribute[], name: string): SdpAttribute[] {
  return attrs.filter((a) => a.name === name);
}

export interface SdpRtpmap {
  payloadType: number;
  name: string;
  clockRate: number;
  channels: number;
}

/** `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`, or null when malformed. */
export function parseRtpmap(value: string): SdpRtpmap | null {
  const m = /^(\d{1,3})\s+([^/\s]+)\/(\d+)(?:\/(\d+))?\s*$/.exec(value);
  if (!m || Number(m[1]) > 127) return null;
  return { payloadType: Number(m[1]), name: m[2]!, clockRate: Number(m[3]), channels: m[4] ? Number(m[4]) : 1 };
}

/**
 * The codecs of an RTP m-section in the m= line's (= the sender's preference) order. Static payload types
 * without rtpmap come from the RFC 3551 table; a dynamic one without rtpmap is unusable and left out.
 */
export function mediaCodecs(m: SdpMedia): SdpCodec[] {
  const maps = new Map<number, SdpRtpmap>();
  const fmtps = new Map<number, string>();
  for (const a of m.attributes) {
    if (a.name === 'rtpmap' && a.value !== undefined) {
      const r = parseRtpmap(a.value);
      if (r && !maps.has(r.payloadType)) maps.set(r.payloadType, r);
    } else if (a.name === 'fmtp' && a.value !== undefined) {
      const f = /^(\d{1,3})\s+(.*)$/.exec(a.value);
      if (f && !fmtps.has(Number(f[1]))) fmtps.set(Number(f[1]), f[2]!.trim());
    }
  }
  const out: SdpCodec[] = [];
  for (const f of m.formats) {
    if (!/^\d{1,3}$/.test(f)) continue;
    const pt = Number(f);
    if (pt > 127) continue;
    const r = maps.get(pt) ?? (STATIC_PAYLOAD_TYPES.has(pt) ? { payloadType: pt, ...STATIC_PAYLOAD_TYPES.get(pt)! } : null);
    if (!r) continue;
    const c: SdpCodec = { payloadType: pt, name: r.name, clockRate: r.clockRate, channels: r.channels };
    const fm = fmtps.get(pt);
    if (fm !== undefined) c.fmtp = fm;
    out.push(c);
  }
  return out;
}

/** Direction of an m-section: its own attribute, else the session-level one, else sendrecv (RFC 3264 §5.1). */
export function mediaDirection(m: SdpMedia, sd?: SessionDescription): SdpDirection {
  for (const a of m.attributes) if (a.value === undefined && DIRECTIONS.has(a.name)) return a.name as SdpDirection;
  if (sd) for (const a of sd.attributes) if (a.value === undefined && DIRECTIONS.has(a.name)) return a.name as SdpDirection;
  return 'sendrecv';
}

/** The connection that applies to an m-section: its first c=, else the session c= (RFC 8866 §5.7). */
export function mediaConnection(m: SdpMedia, sd: SessionDescription): SdpConnection | undefined {
  return m.connections[0] ?? sd.connection;
}

/** Connection address without a "/ttl" suffix. */
export function connectionAddress(c: SdpConnection): string {
  const i = c.address.indexOf('/');
  return i < 0 ? c.address : c.address.slice(0, i);
}

/** RFC 3264 §8.4 / RFC 2543 style hold: a connection address of 0.0.0.0. */
export function isHoldConnection(c: SdpConnection | undefined): boolean {
  return c !== undefined && connectionAddress(c) === '0.0.0.0';
}

function numberAttr(m: SdpMedia, name: string): number | undefined {
  const a = findAttribute(m.attributes, name);
  if (!a || a.value === undefined) return undefined;
  const v = Number(a.value.trim());
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** a=ptime in ms, if present and valid. */
export function mediaPtime(m: SdpMedia): number | undefined {
  return numberAttr(m, 'ptime');
}

/** a=maxptime in ms, if present and valid. */
export function mediaMaxPtime(m: SdpMedia): number | undefined {
  return numberAttr(m, 'maxptime');
}

export interface SdpRtcpAttribute {
  port: number;
  connection?: SdpConnection;
}

/** RFC 3605 `a=rtcp:<port> [<nettype> <addrtype> <address>]`, or undefined when absent/malformed. */
export function mediaRtcp(m: SdpMedia): SdpRtcpAttribute | undefined {
  const a = findAttribute(m.attributes, 'rtcp');
  if (!a || a.value === undefined) return undefined;
  const p = a.value.trim().split(/\s+/);
  if (!/^\d{1,5}$/.test(p[0]!) || Number(p[0]) > 65535) return undefined;
  const r: SdpRtcpAttribute = { port: Number(p[0]) };
  if (p.length === 4) r.connection = { netType: p[1]!, addrType: p[2]!, address: p[3]! };
  return r;
}

export function mediaRtcpMux(m: SdpMedia): boolean {
  return findAttribute(m.attributes, 'rtcp-mux') !== undefined;
}

// ------------------------------------------------------------------------------------------------ RFC 4568

export interface SdpCryptoKeyParam {
  /** Only "inline" is defined by RFC 4568. */
  method: string;
  /** base64 of master key || master salt. */
  keySalt: string;
  /** "2^31" or a decimal number, as written. */
  lifetime?: string;
  mki?: number;
  mkiLength?: number;
}

export interface SdpCrypto {
  tag: number;
  suite: string;
  keyParams: SdpCryptoKeyParam[];
  sessionParams: string[];
}

/**
 * `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]` with
 * key-params = "inline:" key||salt ["|" lifetime] ["|" MKI ":" length], several separated by ";".
 * Throws SdpError DPBX_ERR_SDP_BAD_CRYPTO when malformed.
 */
export function parseCrypto(value: string): SdpCrypto {
  const bad = (why: string) => new SdpError('DPBX_ERR_SDP_BAD_CRYPTO', `a=crypto ${why}`);
  const p = value.trim().split(/\s+/);
  if (p.length < 3) throw bad('needs "<tag> <suite> <key-params>"');
  if (!/^\d{1,9}$/.test(p[0]!)) throw bad(`tag "${p[0]}" is not a number`);
  const keyParams: SdpCryptoKeyParam[] = [];
  for (const kp of p[2]!.split(';')) {
    const c = kp.indexOf(':');
    if (c <= 0) throw bad(`key parameter "${kp.slice(0, 20)}…" has no method`);
    const method = kp.slice(0, c);
    const parts = kp.slice(c + 1).split('|');
    const keySalt = parts[0]!;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keySalt)) throw bad('key is not base64');
    const k: SdpCryptoKeyParam = { method, keySalt };
    for (const extra of parts.slice(1)) {
      const mki = /^(\d+):(\d+)$/.exec(extra);
      if (mki) {
        k.mki = Number(mki[1]);
        k.mkiLength = Number(mki[2]);
      } else if (/^(2\^\d+|\d+)$/.test(extra)) {
        k.lifetime = extra;
      } else {
        throw bad(`key parameter field "${extra}" is neither a lifetime nor MKI:length`);
      }
    }
    keyParams.push(k);
  }
  return { tag: Number(p[0]), suite: p[1]!, keyParams, sessionParams: p.slice(3) };
}

export function formatCrypto(c: SdpCrypto): string {
  const kps = c.keyParams.map((k) => {
    let s = `${k.method}:${k.keySalt}`;
    if (k.lifetime !== undefined) s += `|${k.lifetime}`;
    if (k.mki !== undefined) s += `|${k.mki}:${k.mkiLength ?? 1}`;
    return s;
  });
  return [String(c.tag), c.suite, kps.join(';'), ...c.sessionParams].join(' ');
}

/** All a=crypto lines of an m-section; malformed lines are skipped (RFC 4568 §7.1.1: ignore what we can't use). */
export function mediaCryptos(m: SdpMedia): SdpCrypto[] {
  const out: SdpCrypto[] = [];
  for (const a of m.attributes) {
    if (a.name !== 'crypto' || a.value === undefined) continue;
    try {
      out.push(parseCrypto(a.value));
    } catch {
      // counted by the caller through the missing crypto, not fatal on its own
    }
  }
  return out;
}
