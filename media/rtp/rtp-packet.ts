/**
 * RTP fixed header (RFC 3550 §5.1), CSRC list, header extension (§5.3.1) and padding.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           timestamp                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           synchronization source (SSRC) identifier            |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |            contributing source (CSRC) identifiers             |
 *    |                             ....                              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  defined by profile (X=1)     |           length (words)      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                        header extension                       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                 payload ...   |  padding ...  | padding count |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * `RtpPacket.parse` builds an object whose `payload`, extension data and padding are `subarray` views of the
 * input (no copy). The relay's per-packet path should use the allocation-free accessors at the bottom
 * (`rtpSeq`, `setRtpSeq`, `isRtpPacket`, ...), which read and write fields in place.
 */
import { RtpError } from './errors.js';

/** Byte offsets and sizes of the fixed header. */
export const RTP_OFFSET_FLAGS = 0; // V(2) P(1) X(1) CC(4)
export const RTP_OFFSET_MPT = 1; // M(1) PT(7)
export const RTP_OFFSET_SEQ = 2; // 16 bits
export const RTP_OFFSET_TIMESTAMP = 4; // 32 bits
export const RTP_OFFSET_SSRC = 8; // 32 bits
export const RTP_OFFSET_CSRC = 12; // CC × 32 bits
export const RTP_HEADER_SIZE = 12;
export const RTP_VERSION = 2;

export interface RtpHeaderExtension {
  /** The 16-bit "defined by profile" field (0xBEDE for RFC 8285 one-byte headers). */
  profile: number;
  /** Extension body, a multiple of 4 bytes (a view of the parsed packet). */
  data: Buffer;
}

export interface RtpPacketFields {
  marker?: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs?: number[];
  extension?: RtpHeaderExtension | null;
  payload?: Buffer;
  /** Number of padding octets to append (including the count octet); 0 = no padding. */
  paddingSize?: number;
}

const EMPTY = Buffer.alloc(0);

function checkUint(name: string, v: number, bits: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 2 ** bits - 1) {
    throw new RtpError('DPBX_ERR_RTP_BAD_FIELD', `RTP ${name} must be an unsigned ${bits}-bit integer, got ${v}`);
  }
}

export class RtpPacket {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extension: RtpHeaderExtension | null;
  payload: Buffer;
  paddingSize: number;

  constructor(f: RtpPacketFields) {
    this.marker = f.marker ?? false;
    this.payloadType = f.payloadType;
    this.sequenceNumber = f.sequenceNumber;
    this.timestamp = f.timestamp;
    this.ssrc = f.ssrc;
    this.csrcs = f.csrcs ?? [];
    this.extension = f.extension ?? null;
    this.payload = f.payload ?? EMPTY;
    this.paddingSize = f.paddingSize ?? 0;
  }

  /** Header length in bytes (fixed header + CSRCs + extension). */
  get headerSize(): number {
    return RTP_HEADER_SIZE + 4 * this.csrcs.length + (this.extension ? 4 + this.extension.data.length : 0);
  }

  get serializedSize(): number {
    return this.headerSize + this.payload.length + this.paddingSize;
  }

  /**
   * Parse one RTP packet. Throws `RtpError` (never anything else) on a packet shorter than its header claims,
   * a version other than 2, or an impossible padding count. `len` defaults to `buf.length`.
   */
  static parse(buf: Buffer, len: number = buf.length): RtpPacket {
    if (len > buf.length) len = buf.length;
    if (len < RTP_HEADER_SIZE) {
      throw new RtpError('DPBX_ERR_RTP_TRUNCATED', `RTP packet of ${len} bytes is shorter than the 12-byte header`);
    }
    const b0 = buf[RTP_OFFSET_FLAGS]!;
    if (b0 >> 6 !== RTP_VERSION) throw new RtpError('DPBX_ERR_RTP_BAD_VERSION', `RTP version ${b0 >> 6} is not 2`);
    const hasPadding = (b0 & 0x20) !== 0;
    const hasExtension = (b0 & 0x10) !== 0;
    const cc = b0 & 0x0f;
    const b1 = buf[RTP_OFFSET_MPT]!;
    let off = RTP_OFFSET_CSRC;
    if (len < off + 4 * cc) throw new RtpError('DPBX_ERR_RTP_TRUNCATED', `RTP packet truncated inside its ${cc} CSRCs`);
    const csrcs: number[] = new Array<number>(cc);
    for (let i = 0; i < cc; i++, off += 4) csrcs[i] = buf.readUInt32BE(off);
    let extension: RtpHeaderExtension | null = null;
    if (hasExtension) {
      if (len < off + 4) throw new RtpError('DPBX_ERR_RTP_TRUNCATED', 'RTP packet truncated inside its extension header');
      const profile = buf.readUInt16BE(off);
      const words = buf.readUInt16BE(off + 2);
      off += 4;
      if (len < off + 4 * words) throw new RtpError('DPBX_ERR_RTP_TRUNCATED', 'RTP header extension longer than the packet');
      extension = { profile, data: buf.subarray(off, off + 4 * words) };
      off += 4 * words;
    }
    let paddingSize = 0;
    if (hasPadding) {
      // §5.1: "The last octet of the padding contains a count of how many padding octets should be ignored,
      // including itself." A count of 0 or one reaching into the header is invalid (A.1 validity check).
      paddingSize = buf[len - 1]!;
      if (paddingSize === 0 || off + paddingSize > len) {
        throw new RtpError('DPBX_ERR_RTP_BAD_PADDING', `RTP padding count ${paddingSize} is impossible`);
      }
    }
    return new RtpPacket({
      marker: (b1 & 0x80) !== 0,
      payloadType: b1 & 0x7f,
      sequenceNumber: buf.readUInt16BE(RTP_OFFSET_SEQ),
      timestamp: buf.readUInt32BE(RTP_OFFSET_TIMESTAMP),
      ssrc: buf.readUInt32BE(RTP_OFFSET_SSRC),
      csrcs,
      extension,
      payload: buf.subarray(off, len - paddingSize),
      paddingSize,
    });
  }

  /** Serialize into a new Buffer. */
  serialize(): Buffer {
    const out = Buffer.allocUnsafe(this.serializedSize);
    this.serializeInto(out, 0);
    return out;
  }

  /** Serialize into `out` at `offset` (reusing a buffer); returns the number of bytes written. */
  serializeInto(out: Buffer, offset = 0): number {
    checkUint('payload type', this.payloadType, 7);
    checkUint('sequence number', this.sequenceNumber, 16);
    checkUint('timestamp', this.timestamp, 32);
    checkUint('SSRC', this.ssrc, 32);
    checkUint('padding size', this.paddingSize, 8);
    if (this.csrcs.length > 15) throw new RtpError('DPBX_ERR_RTP_BAD_FIELD', 'at most 15 CSRCs fit in an RTP header');
    if (this.extension && (this.extension.data.length % 4 !== 0 || this.extension.data.length > 0x3fffc)) {
      throw new RtpError('DPBX_ERR_RTP_BAD_FIELD', 'RTP header extension length must be a multiple of 4 bytes');
    }
    const size = this.serializedSize;
    if (out.length - offset < size) throw new RtpError('DPBX_ERR_RTP_BAD_FIELD', 'output buffer too small for RTP packet');
    out[offset] =
      (RTP_VERSION << 6) | (this.paddingSize > 0 ? 0x20 : 0) | (this.extension ? 0x10 : 0) | this.csrcs.length;
    out[offset + 1] = (this.marker ? 0x80 : 0) | this.payloadType;
    out.writeUInt16BE(this.sequenceNumber, offset + RTP_OFFSET_SEQ);
    out.writeUInt32BE(this.timestamp, offset + RTP_OFFSET_TIMESTAMP);
    out.writeUInt32BE(this.ssrc, offset + RTP_OFFSET_SSRC);
    let off = offset + RTP_OFFSET_CSRC;
    for (const c of this.csrcs) {
      checkUint('CSRC', c, 32);
      out.writeUInt32BE(c, off);
      off += 4;
    }
    if (this.extension) {
      checkUint('extension profile', this.extension.profile, 16);
      out.writeUInt16BE(this.extension.profile, off);
      out.writeUInt16BE(this.extension.data.length / 4, off + 2);
      off += 4;
      off += this.extension.data.copy(out, off);
    }
    off += this.payload.copy(out, off);
    if (this.paddingSize > 0) {
      out.fill(0, off, off + this.paddingSize - 1);
      out[off + this.paddingSize - 1] = this.paddingSize;
      off += this.paddingSize;
    }
    return off - offset;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// In-place accessors for the relay's hot path: no allocation, no exceptions. Callers check `isRtpPacket` (or
// `rtpHeaderLength >= 0`) once per datagram, after which the fixed-header accessors are safe.
// ---------------------------------------------------------------------------------------------------------------

/**
 * RFC 5761 §4 demultiplexing: with rtcp-mux, a datagram whose second octet is 192–223 (RTCP packet types 192–223,
 * i.e. RTP payload types 64–95 with the marker bit set) is RTCP; everything else with version 2 is RTP.
 */
export function isRtcpPacket(buf: Buffer, len: number = buf.length): boolean {
  if (len < 8 || len > buf.length || buf[0]! >> 6 !== RTP_VERSION) return false;
  const pt = buf[1]!;
  return pt >= 192 && pt <= 223;
}

/**
 * True when `buf[0..len)` is a structurally valid RTP packet (version 2, not RTCP under RFC 5761, header,
 * CSRCs, extension and padding inside `len`).
 */
export function isRtpPacket(buf: Buffer, len: number = buf.length): boolean {
  return rtpHeaderLength(buf, len) >= 0;
}

/**
 * Length of the RTP header (fixed + CSRCs + extension) = offset of the payload, or -1 when the packet is not a
 * valid RTP packet (see `isRtpPacket`).
 */
export function rtpHeaderLength(buf: Buffer, len: number = buf.length): number {
  if (len > buf.length || len < RTP_HEADER_SIZE) return -1;
  const b0 = buf[0]!;
  if (b0 >> 6 !== RTP_VERSION) return -1;
  const pt = buf[1]! & 0x7f;
  if (pt >= 64 && pt <= 95) return -1; // RFC 5761 §4: reserved for RTCP when multiplexed
  let off = RTP_HEADER_SIZE + 4 * (b0 & 0x0f);
  if (off > len) return -1;
  if (b0 & 0x10) {
    if (off + 4 > len) return -1;
    off += 4 + 4 * buf.readUInt16BE(off + 2);
    if (off > len) return -1;
  }
  if (b0 & 0x20) {
    const pad = buf[len - 1]!;
    if (pad === 0 || off + pad > len) return -1;
  }
  return off;
}

/** Payload length (without padding) of a packet that passed `isRtpPacket`, or -1 when invalid. */
export function rtpPayloadLength(buf: Buffer, len: number = buf.length): number {
  const h = rtpHeaderLength(buf, len);
  if (h < 0) return -1;
  return len - h - (buf[0]! & 0x20 ? buf[len - 1]! : 0);
}

export function rtpSeq(buf: Buffer): number {
  return (buf[2]! << 8) | buf[3]!;
}
export function setRtpSeq(buf: Buffer, seq: number): void {
  buf[2] = (seq >>> 8) & 0xff;
  buf[3] = seq & 0xff;
}
export function rtpTimestamp(buf: Buffer): number {
  return buf.readUInt32BE(RTP_OFFSET_TIMESTAMP);
}
export function setRtpTimestamp(buf: Buffer, ts: number): void {
  buf.writeUInt32BE(ts >>> 0, RTP_OFFSET_TIMESTAMP);
}
export function rtpSsrc(buf: Buffer): number {
  return buf.readUInt32BE(RTP_OFFSET_SSRC);
}
export function setRtpSsrc(buf: Buffer, ssrc: number): void {
  buf.writeUInt32BE(ssrc >>> 0, RTP_OFFSET_SSRC);
}
export function rtpPayloadType(buf: Buffer): number {
  return buf[1]! & 0x7f;
}
export function setRtpPayloadType(buf: Buffer, pt: number): void {
  buf[1] = (buf[1]! & 0x80) | (pt & 0x7f);
}
export function rtpMarker(buf: Buffer): boolean {
  return (buf[1]! & 0x80) !== 0;
}
export function setRtpMarker(buf: Buffer, marker: boolean): void {
  buf[1] = marker ? buf[1]! | 0x80 : buf[1]! & 0x7f;
}

/**
 * Write a fixed 12-byte header (no CSRC, no extension, no padding) into `buf` at 0 — for generators such as
 * the playout that fill the payload themselves. Returns RTP_HEADER_SIZE.
 */
export function writeRtpHeader(
  buf: Buffer,
  payloadType: number,
  seq: number,
  timestamp: number,
  ssrc: number,
  marker = false,
): number {
  buf[0] = RTP_VERSION << 6;
  buf[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  setRtpSeq(buf, seq);
  setRtpTimestamp(buf, timestamp);
  setRtpSsrc(buf, ssrc);
  return RTP_HEADER_SIZE;
}
