/**
 * RTCP (RFC 3550 §6): common header, SR, RR with report blocks, SDES, BYE, and every other packet type (APP,
 * RTPFB/PSFB, XR, ...) kept verbatim as `RtcpUnknownPacket`. A datagram is a compound packet: `parseRtcp` returns
 * the list, `serializeRtcp` builds one. Reduced-size RTCP (RFC 5506, a single non-SR/RR packet) parses as well.
 *
 * Common header (every RTCP packet):
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|  RC/SC  |      PT       |     length (32-bit words − 1) |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Sender report body (PT=200), followed by RC report blocks and an optional profile-specific extension:
 *    |                         SSRC of sender                        |
 *    |              NTP timestamp, most significant word             |
 *    |             NTP timestamp, least significant word             |
 *    |                         RTP timestamp                         |
 *    |                     sender's packet count                     |
 *    |                      sender's octet count                     |
 *
 * Report block (24 bytes):
 *    |                 SSRC_n (SSRC of source n)                     |
 *    | fraction lost |       cumulative number of packets lost       |
 *    |           extended highest sequence number received           |
 *    |                      interarrival jitter                      |
 *    |                         last SR (LSR)                         |
 *    |                   delay since last SR (DLSR)                  |
 *
 * Receiver report (PT=201): SSRC of packet sender, then RC report blocks.
 * SDES (PT=202): SC chunks of { SSRC/CSRC, items (type, length, text)…, null item, pad to 32 bits }.
 * BYE (PT=203): SC SSRC/CSRCs, then optional (length, reason text), padded to 32 bits.
 */
import { RtpError } from '../errors.js';

export const RTCP_HEADER_SIZE = 4;
export const RTCP_PT_SR = 200;
export const RTCP_PT_RR = 201;
export const RTCP_PT_SDES = 202;
export const RTCP_PT_BYE = 203;
export const RTCP_PT_APP = 204;
export const RTCP_REPORT_BLOCK_SIZE = 24;

/** SDES item types (RFC 3550 §6.5). */
export const SDES_CNAME = 1;
export const SDES_NAME = 2;
export const SDES_EMAIL = 3;
export const SDES_PHONE = 4;
export const SDES_LOC = 5;
export const SDES_TOOL = 6;
export const SDES_NOTE = 7;
export const SDES_PRIV = 8;

export interface RtcpReportBlock {
  ssrc: number;
  /** 8-bit fixed point (lost/expected × 256). */
  fractionLost: number;
  /** Signed 24-bit. */
  cumulativeLost: number;
  extendedHighestSeq: number;
  jitter: number;
  lastSr: number;
  delaySinceLastSr: number;
}

export interface RtcpSenderReport {
  type: 'sr';
  ssrc: number;
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: RtcpReportBlock[];
  /** Profile-specific extension after the report blocks (usually empty). */
  extension?: Buffer;
}

export interface RtcpReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: RtcpReportBlock[];
  extension?: Buffer;
}

export interface RtcpSdesItem {
  type: number;
  value: string;
}

export interface RtcpSdesChunk {
  source: number;
  items: RtcpSdesItem[];
}

export interface RtcpSourceDescription {
  type: 'sdes';
  chunks: RtcpSdesChunk[];
}

export interface RtcpBye {
  type: 'bye';
  sources: number[];
  reason?: string;
}

/** Any other packet type (APP=204, RTPFB=205, PSFB=206, XR=207, ...), kept verbatim. */
export interface RtcpUnknownPacket {
  type: 'unknown';
  packetType: number;
  /** The 5-bit count/subtype field. */
  count: number;
  /** Everything after the 4-byte header, padding removed. */
  body: Buffer;
}

export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSourceDescription | RtcpBye | RtcpUnknownPacket;

function err(code: 'DPBX_ERR_RTCP_TRUNCATED' | 'DPBX_ERR_RTCP_BAD_LENGTH', msg: string): RtpError {
  return new RtpError(code, msg);
}

function parseReportBlocks(body: Buffer, off: number, count: number, out: RtcpReportBlock[]): number {
  if (body.length < off + count * RTCP_REPORT_BLOCK_SIZE) {
    throw err('DPBX_ERR_RTCP_BAD_LENGTH', `RTCP report count ${count} does not fit the packet length`);
  }
  for (let i = 0; i < count; i++, off += RTCP_REPORT_BLOCK_SIZE) {
    const lostRaw = body.readUIntBE(off + 5, 3);
    out.push({
      ssrc: body.readUInt32BE(off),
      fractionLost: body[off + 4]!,
      cumulativeLost: lostRaw & 0x800000 ? lostRaw - 0x1000000 : lostRaw,
      extendedHighestSeq: body.readUInt32BE(off + 8),
      jitter: body.readUInt32BE(off + 12),
      lastSr: body.readUInt32BE(off + 16),
      delaySinceLastSr: body.readUInt32BE(off + 20),
    });
  }
  return off;
}

function parseOne(pt: number, count: number, body: Buffer): RtcpPacket {
  switch (pt) {
    case RTCP_PT_SR: {
      if (body.length < 24) throw err('DPBX_ERR_RTCP_BAD_LENGTH', 'RTCP SR shorter than its sender info');
      const reports: RtcpReportBlock[] = [];
      const end = parseReportBlocks(body, 24, count, reports);
      const sr: RtcpSenderReport = {
        type: 'sr',
        ssrc: body.readUInt32BE(0),
        ntpSeconds: body.readUInt32BE(4),
        ntpFraction: body.readUInt32BE(8),
        rtpTimestamp: body.readUInt32BE(12),
        packetCount: body.readUInt32BE(16),
        octetCount: body.readUInt32BE(20),
        reports,
      };
      if (end < body.length) sr.extension = body.subarray(end);
      return sr;
    }
    case RTCP_PT_RR: {
      if (body.length < 4) throw err('DPBX_ERR_RTCP_BAD_LENGTH', 'RTCP RR shorter than its SSRC');
      const reports: RtcpReportBlock[] = [];
      const end = parseReportBlocks(body, 4, count, reports);
      const rr: RtcpReceiverReport = { type: 'rr', ssrc: body.readUInt32BE(0), reports };
      if (end < body.length) rr.extension = body.subarray(end);
      return rr;
    }
    case RTCP_PT_SDES: {
      const chunks: RtcpSdesChunk[] = [];
      let off = 0;
      for (let c = 0; c < count; c++) {
        if (off + 4 > body.length) throw err('DPBX_ERR_RTCP_BAD_LENGTH', 'RTCP SDES chunk count exceeds the packet');
        const chunk: RtcpSdesChunk = { source: body.readUInt32BE(off), items: [] };
        off += 4;
        for (;;) {
          if (off >= body.length) throw err('DPBX_ERR_RTCP_BAD_LENGTH', 'RTCP SDES chunk without a null item');
          const itemType = body[off]!;
          if (itemType === 0) {
            off = (off + 4) & ~3; // skip the null octet(s) to the next 32-bit boundary
            break;
          }
          if (off + 2 > body.length) throw err('DPBX_ERR_RTCP_BAD_LENGTH', 'RTCP SDES item header cut');
          const n = body[off + 1]!;
          if (off + 2 + n > body.length) throw err('DPBX_ERR_RTCP_BAD_LENGTH', 'RTCP SDES item longer than the packet');
          chunk.items.push({ type: itemType, value: body.toString('utf8', off + 2, off + 2 + n) });
          off += 2 + n;
        }
        chunks.push(chunk);
      }
      return { type: 'sdes', chunks };
    }
    case RTCP_PT_BYE: {
      if (body.length < 4 * count) throw err('DPBX_ERR_RTCP_BAD_LENGTH', 'RTCP BYE source count exceeds the packet');
      const sources: number[] = [];
      for (let i = 0; i < count; i++) sources.push(body.readUInt32BE(4 * i));
      const bye: RtcpBye = { type: 'bye', sources };
      const off = 4 * count;
      if (off < body.length) {
        const n = body[off]!;
        if (off + 1 + n > body.length) throw err('DPBX_ERR_RTCP_BAD_LENGTH', 'RTCP BYE reason longer than the packet');
        bye.reason = body.toString('utf8', off + 1, off + 1 + n);
      }
      return bye;
    }
    default:
      return { type: 'unknown', packetType: pt, count, body };
  }
}

/**
 * Parse a (compound) RTCP datagram into its packets. Throws `RtpError` only. `len` defaults to `buf.length`.
 * Bodies of unknown packets are views of `buf`.
 */
export function parseRtcp(buf: Buffer, len: number = buf.length): RtcpPacket[] {
  if (len > buf.length) len = buf.length;
  if (len < RTCP_HEADER_SIZE) throw err('DPBX_ERR_RTCP_TRUNCATED', `RTCP datagram of ${len} bytes is too short`);
  const out: RtcpPacket[] = [];
  let off = 0;
  while (off < len) {
    if (off + RTCP_HEADER_SIZE > len) throw err('DPBX_ERR_RTCP_TRUNCATED', 'RTCP header cut at the end of the datagram');
    const b0 = buf[off]!;
    if (b0 >> 6 !== 2) throw new RtpError('DPBX_ERR_RTCP_BAD_VERSION', `RTCP version ${b0 >> 6} is not 2`);
    const pt = buf[off + 1]!;
    const size = 4 * (buf.readUInt16BE(off + 2) + 1);
    if (off + size > len) throw err('DPBX_ERR_RTCP_BAD_LENGTH', `RTCP length ${size} runs past the datagram`);
    let bodyEnd = off + size;
    if (b0 & 0x20) {
      const pad = buf[bodyEnd - 1]!;
      if (pad === 0 || pad > size - RTCP_HEADER_SIZE) {
        throw new RtpError('DPBX_ERR_RTCP_BAD_PADDING', `RTCP padding count ${pad} is impossible`);
      }
      bodyEnd -= pad;
    }
    out.push(parseOne(pt, b0 & 0x1f, buf.subarray(off + RTCP_HEADER_SIZE, bodyEnd)));
    off += size;
  }
  return out;
}

function sdesChunkSize(c: RtcpSdesChunk): number {
  let n = 4;
  for (const it of c.items) n += 2 + Buffer.byteLength(it.value, 'utf8');
  return (n + 4) & ~3; // at least one null octet, then pad to 32 bits
}

function bodySize(p: RtcpPacket): number {
  switch (p.type) {
    case 'sr':
      return 24 + RTCP_REPORT_BLOCK_SIZE * p.reports.length + (p.extension?.length ?? 0);
    case 'rr':
      return 4 + RTCP_REPORT_BLOCK_SIZE * p.reports.length + (p.extension?.length ?? 0);
    case 'sdes': {
      let n = 0;
      for (const c of p.chunks) n += sdesChunkSize(c);
      return n;
    }
    case 'bye':
      return 4 * p.sources.length + (p.reason !== undefined ? (1 + Buffer.byteLength(p.reason) + 3) & ~3 : 0);
    case 'unknown':
      return (p.body.length + 3) & ~3;
  }
}

function checkCount(n: number, what: string): void {
  if (n > 31) throw new RtpError('DPBX_ERR_RTP_BAD_FIELD', `at most 31 ${what} fit in one RTCP packet`);
}

function writeReportBlocks(out: Buffer, off: number, reports: RtcpReportBlock[]): number {
  for (const r of reports) {
    out.writeUInt32BE(r.ssrc >>> 0, off);
    out[off + 4] = r.fractionLost & 0xff;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost));
    out.writeUIntBE(lost & 0xffffff, off + 5, 3);
    out.writeUInt32BE(r.extendedHighestSeq >>> 0, off + 8);
    out.writeUInt32BE(r.jitter >>> 0, off + 12);
    out.writeUInt32BE(r.lastSr >>> 0, off + 16);
    out.writeUInt32BE(r.delaySinceLastSr >>> 0, off + 20);
    off += RTCP_REPORT_BLOCK_SIZE;
  }
  return off;
}

/** Serialize packets into one compound RTCP datagram (no padding added; bodies are 32-bit aligned). */
export function serializeRtcp(packets: RtcpPacket[]): Buffer {
  let total = 0;
  for (const p of packets) {
    const b = bodySize(p);
    if (b % 4 !== 0) throw new RtpError('DPBX_ERR_RTP_BAD_FIELD', 'RTCP extension must be a multiple of 4 bytes');
    total += RTCP_HEADER_SIZE + b;
  }
  const out = Buffer.alloc(total);
  let off = 0;
  for (const p of packets) {
    const size = RTCP_HEADER_SIZE + bodySize(p);
    let count = 0;
    let pt = 0;
    let o = off + RTCP_HEADER_SIZE;
    switch (p.type) {
      case 'sr':
        checkCount((count = p.reports.length), 'report blocks');
        pt = RTCP_PT_SR;
        out.writeUInt32BE(p.ssrc >>> 0, o);
        out.writeUInt32BE(p.ntpSeconds >>> 0, o + 4);
        out.writeUInt32BE(p.ntpFraction >>> 0, o + 8);
        out.writeUInt32BE(p.rtpTimestamp >>> 0, o + 12);
        out.writeUInt32BE(p.packetCount >>> 0, o + 16);
        out.writeUInt32BE(p.octetCount >>> 0, o + 20);
        o = writeReportBlocks(out, o + 24, p.reports);
        if (p.extension) p.extension.copy(out, o);
        break;
      case 'rr':
        checkCount((count = p.reports.length), 'report blocks');
        pt = RTCP_PT_RR;
        out.writeUInt32BE(p.ssrc >>> 0, o);
        o = writeReportBlocks(out, o + 4, p.reports);
        if (p.extension) p.extension.copy(out, o);
        break;
      case 'sdes':
        checkCount((count = p.chunks.length), 'SDES chunks');
        pt = RTCP_PT_SDES;
        for (const c of p.chunks) {
          const start = o;
          out.writeUInt32BE(c.source >>> 0, o);
          o += 4;
          for (const it of c.items) {
            const n = Buffer.byteLength(it.value, 'utf8');
            if (n > 255 || it.type < 1 || it.type > 255) {
              throw new RtpError('DPBX_ERR_RTP_BAD_FIELD', 'SDES item type must be 1–255 and text at most 255 bytes');
            }
            out[o] = it.type;
            out[o + 1] = n;
            out.write(it.value, o + 2, 'utf8');
            o += 2 + n;
          }
          o = start + sdesChunkSize(c); // null item + zero padding (Buffer.alloc zero-filled)
        }
        break;
      case 'bye':
        checkCount((count = p.sources.length), 'BYE sources');
        pt = RTCP_PT_BYE;
        for (const s of p.sources) {
          out.writeUInt32BE(s >>> 0, o);
          o += 4;
        }
        if (p.reason !== undefined) {
          const n = Buffer.byteLength(p.reason, 'utf8');
          if (n > 255) throw new RtpError('DPBX_ERR_RTP_BAD_FIELD', 'BYE reason is at most 255 bytes');
          out[o] = n;
          out.write(p.reason, o + 1, 'utf8');
        }
        break;
      case 'unknown':
        count = p.count & 0x1f;
        pt = p.packetType & 0xff;
        p.body.copy(out, o);
        break;
    }
    out[off] = 0x80 | count;
    out[off + 1] = pt;
    out.writeUInt16BE(size / 4 - 1, off + 2);
    off += size;
  }
  return out;
}

/** NTP timestamp (RFC 3550 §4) for a wall-clock time in ms since the Unix epoch. */
export function ntpFromUnixMs(ms: number): { ntpSeconds: number; ntpFraction: number } {
  const secs = Math.floor(ms / 1000);
  return {
    ntpSeconds: (secs + 2208988800) >>> 0,
    ntpFraction: Math.floor(((ms - secs * 1000) / 1000) * 0x100000000) >>> 0,
  };
}

/** The middle 32 bits of an NTP timestamp, as used by LSR (RFC 3550 §6.4.1). */
export function ntpMiddle32(ntpSeconds: number, ntpFraction: number): number {
  return (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
}
