/**
 * SRTP / SRTCP (RFC 3711) for the SDES suites of RFC 4568: AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32
 * (SRTCP always uses the 80-bit tag, RFC 4568 §6.2.1). One `SrtpContext` holds one master key (one direction of
 * a leg: our key protects what we send, the peer's key unprotects what we receive) and per-SSRC state: ROC and
 * highest sequence for packet-index estimation (§3.3.1), the SRTCP index, and replay windows (§3.3.2).
 *
 * SRTP packet:   RTP header | encrypted payload (+ padding) | [MKI, unused] | authentication tag (10 or 4 bytes)
 *   tag = HMAC-SHA1(k_a, header || encrypted payload || ROC)  truncated
 * SRTCP packet:  RTCP header + SSRC (8 bytes) | encrypted rest | E(1) + SRTCP index(31) | tag (10 bytes)
 *   tag = HMAC-SHA1(k_a, everything before the tag, including E || index)
 *
 * `protect*` / `unprotect*` never throw on packet content: they return the new packet or an `SrtpFailure`
 * code (a string), and count every failure in `counters`. Per packet: two cloned SHA-1 states (HMAC) and one keystream
 * `update` on a persistent AES-ECB cipher; the output buffer may be supplied to avoid allocating.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { RtpError } from '../errors.js';
import type { SrtpFailure } from '../errors.js';
import { seqDiff } from '../sequence.js';
import { AesCmKeystream, deriveSrtpSessionKeys } from './aes-cm.js';
import type { SrtpSessionKeys } from './aes-cm.js';
import { ReplayWindow } from './replay-window.js';

export type SrtpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

interface SuiteParams {
  rtpTagLength: number;
  rtcpTagLength: number;
}

const SUITES: Record<SrtpSuite, SuiteParams> = {
  AES_CM_128_HMAC_SHA1_80: { rtpTagLength: 10, rtcpTagLength: 10 },
  AES_CM_128_HMAC_SHA1_32: { rtpTagLength: 4, rtcpTagLength: 10 },
};

export const SRTP_SUITES: readonly SrtpSuite[] = Object.keys(SUITES) as SrtpSuite[];
/** Master key + master salt length of the AES_CM_128 suites (16 + 14 bytes). */
export const SRTP_KEY_SALT_LENGTH = 30;

export function isSrtpSuite(s: string): s is SrtpSuite {
  return Object.prototype.hasOwnProperty.call(SUITES, s);
}

/** True when a protect/unprotect result is a failure code rather than a packet. */
export function isSrtpFailure(r: Buffer | SrtpFailure): r is SrtpFailure {
  return typeof r === 'string';
}

/** A fresh random master key||salt, base64, for an SDES a=crypto line. */
export function generateSrtpKeySalt(): string {
  return randomBytes(SRTP_KEY_SALT_LENGTH).toString('base64');
}

export interface SrtpLogger {
  debug(obj: object, msg?: string): void;
}

export interface SrtpContextOptions {
  suite: SrtpSuite | string;
  /** 16-byte master key and 14-byte master salt, or `keySalt` (30 bytes, or base64 as in a=crypto inline:). */
  masterKey?: Buffer;
  masterSalt?: Buffer;
  keySalt?: Buffer | string;
  /** Replay window size in packets (default 128). */
  replayWindow?: number;
  /**
   * SRTCP tag length override. RFC 4568 §6.2.1 fixes 80 bits for both suites (the default); libavformat
   * (ffmpeg) uses 32 bits for SRTCP under AES_CM_128_HMAC_SHA1_32, so a leg facing it may set 4. Deliberate,
   * opt-in deviation for interop only.
   */
  srtcpTagLength?: 4 | 10;
  logger?: SrtpLogger;
}

export interface SrtpCounters {
  rtpProtected: number;
  rtpUnprotected: number;
  rtcpProtected: number;
  rtcpUnprotected: number;
  authFailures: number;
  replays: number;
  tooShort: number;
  badPackets: number;
}

class RtpStreamState {
  roc = 0;
  /** s_l: highest sequence number processed (meaningful once `started`). */
  seq = 0;
  started = false;
  readonly replay: ReplayWindow;
  constructor(window: number) {
    this.replay = new ReplayWindow(window);
  }
  /** §3.3.1 index estimate for `seq` (may be negative for a packet from "before" ROC 0). */
  estimate(seq: number): number {
    if (!this.started) return seq;
    return this.roc * 0x10000 + this.seq + seqDiff(seq, this.seq);
  }
  /** After authentication: advance s_l and ROC when the packet is the newest. */
  commit(index: number): void {
    const cur = this.started ? this.roc * 0x10000 + this.seq : -1;
    if (index > cur) {
      this.roc = Math.floor(index / 0x10000);
      this.seq = index & 0xffff;
      this.started = true;
    }
  }
}

class RtcpStreamState {
  /** Next SRTCP index to send. */
  sendIndex = 0;
  readonly replay: ReplayWindow;
  constructor(window: number) {
    this.replay = new ReplayWindow(window);
  }
}

/**
 * HMAC-SHA1 (RFC 2104) with the key's inner and outer pad states hashed once: per packet the two SHA-1 states
 * are cloned (`Hash.copy`) instead of re-running the key schedule of `createHmac` (about 20% cheaper).
 */
class HmacSha1 {
  private readonly inner: Hash;
  private readonly outer: Hash;
  constructor(key: Buffer) {
    const ipad = Buffer.alloc(64, 0x36);
    const opad = Buffer.alloc(64, 0x5c);
    for (let i = 0; i < key.length; i++) {
      ipad[i]! ^= key[i]!;
      opad[i]! ^= key[i]!;
    }
    this.inner = createHash('sha1').update(ipad);
    this.outer = createHash('sha1').update(opad);
  }
  /** HMAC over a || b (b may be empty). */
  digest(a: Buffer, b?: Buffer): Buffer {
    const h = this.inner.copy().update(a);
    if (b) h.update(b);
    return this.outer.copy().update(h.digest()).digest();
  }
}

const NOOP_LOGGER: SrtpLogger = { debug() {} };
const MAX_STREAMS = 64; // SSRCs tracked per context; beyond, the oldest state is dropped (a flood must not grow memory)

export class SrtpContext {
  readonly suite: SrtpSuite;
  readonly rtpTagLength: number;
  readonly rtcpTagLength: number;
  readonly counters: SrtpCounters = {
    rtpProtected: 0,
    rtpUnprotected: 0,
    rtcpProtected: 0,
    rtcpUnprotected: 0,
    authFailures: 0,
    replays: 0,
    tooShort: 0,
    badPackets: 0,
  };
  private readonly rtpKeys: SrtpSessionKeys;
  private readonly rtcpKeys: SrtpSessionKeys;
  private readonly rtpHmac: HmacSha1;
  private readonly rtcpHmac: HmacSha1;
  private readonly rtpCipher: AesCmKeystream;
  private readonly rtcpCipher: AesCmKeystream;
  private readonly rtpStreams = new Map<number, RtpStreamState>();
  private readonly rtcpStreams = new Map<number, RtcpStreamState>();
  private readonly window: number;
  private readonly logger: SrtpLogger;
  private readonly roc = Buffer.alloc(4);

  constructor(opts: SrtpContextOptions) {
    if (!isSrtpSuite(opts.suite)) throw new RtpError('DPBX_ERR_SRTP_UNSUPPORTED_SUITE', `SRTP suite ${opts.suite} is not supported`);
    this.suite = opts.suite;
    this.rtpTagLength = SUITES[this.suite].rtpTagLength;
    this.rtcpTagLength = opts.srtcpTagLength ?? SUITES[this.suite].rtcpTagLength;
    let key = opts.masterKey;
    let salt = opts.masterSalt;
    if (opts.keySalt !== undefined) {
      const ks = typeof opts.keySalt === 'string' ? Buffer.from(opts.keySalt, 'base64') : opts.keySalt;
      if (ks.length !== SRTP_KEY_SALT_LENGTH) {
        throw new RtpError('DPBX_ERR_SRTP_BAD_KEY', `SRTP key||salt must be ${SRTP_KEY_SALT_LENGTH} bytes, got ${ks.length}`);
      }
      key = ks.subarray(0, 16);
      salt = ks.subarray(16);
    }
    if (!key || key.length !== 16 || !salt || salt.length !== 14) {
      throw new RtpError('DPBX_ERR_SRTP_BAD_KEY', 'SRTP needs a 16-byte master key and a 14-byte master salt');
    }
    const keys = deriveSrtpSessionKeys(key, salt);
    this.rtpKeys = keys.rtp;
    this.rtcpKeys = keys.rtcp;
    this.rtpHmac = new HmacSha1(keys.rtp.authKey);
    this.rtcpHmac = new HmacSha1(keys.rtcp.authKey);
    this.rtpCipher = new AesCmKeystream(keys.rtp.encryptionKey);
    this.rtcpCipher = new AesCmKeystream(keys.rtcp.encryptionKey);
    this.window = opts.replayWindow ?? 128;
    this.logger = opts.logger ?? NOOP_LOGGER;
  }

  /** Build a context from an SDES inline key (base64 key||salt, as in `a=crypto:1 <suite> inline:<key>`). */
  static fromSdes(suite: string, inlineKeySalt: string, opts: Omit<SrtpContextOptions, 'suite' | 'keySalt'> = {}): SrtpContext {
    return new SrtpContext({ ...opts, suite, keySalt: inlineKeySalt });
  }

  private rtpStream(ssrc: number): RtpStreamState {
    let s = this.rtpStreams.get(ssrc);
    if (!s) {
      if (this.rtpStreams.size >= MAX_STREAMS) this.rtpStreams.delete(this.rtpStreams.keys().next().value!);
      s = new RtpStreamState(this.window);
      this.rtpStreams.set(ssrc, s);
    }
    return s;
  }

  private rtcpStream(ssrc: number): RtcpStreamState {
    let s = this.rtcpStreams.get(ssrc);
    if (!s) {
      if (this.rtcpStreams.size >= MAX_STREAMS) this.rtcpStreams.delete(this.rtcpStreams.keys().next().value!);
      s = new RtcpStreamState(this.window);
      this.rtcpStreams.set(ssrc, s);
    }
    return s;
  }

  /** Current ROC of a stream (for tests and diagnostics), -1 when unknown. */
  rolloverCounter(ssrc: number): number {
    const s = this.rtpStreams.get(ssrc >>> 0);
    return s && s.started ? s.roc : -1;
  }

  private fail(code: SrtpFailure, what: string, ssrc?: number): SrtpFailure {
    switch (code) {
      case 'DPBX_ERR_SRTP_AUTH_FAILED':
        this.counters.authFailures++;
        break;
      case 'DPBX_ERR_SRTP_REPLAY':
        this.counters.replays++;
        break;
      case 'DPBX_ERR_SRTP_TOO_SHORT':
        this.counters.tooShort++;
        break;
      default:
        this.counters.badPackets++;
    }
    this.logger.debug({ code, ssrc }, `SRTP ${what} dropped`);
    return code;
  }

  private rtpTag(buf: Buffer, authLen: number, roc: number): Buffer {
    this.roc.writeUInt32BE(roc >>> 0, 0);
    return this.rtpHmac.digest(buf.subarray(0, authLen), this.roc);
  }

  /**
   * RTP → SRTP. `len` defaults to `rtp.length`; `out` (at least len + tag bytes) is reused when given. The input
   * is not modified. Returns the SRTP packet (a view of `out` when given) or a failure code.
   */
  protectRtp(rtp: Buffer, len: number = rtp.length, out?: Buffer): Buffer | SrtpFailure {
    if (len > rtp.length) len = rtp.length;
    const h = rtpHeaderLengthNoPadding(rtp, len);
    if (h < 0) return this.fail(len < 12 ? 'DPBX_ERR_SRTP_TOO_SHORT' : 'DPBX_ERR_SRTP_BAD_PACKET', 'RTP to protect');
    const total = len + this.rtpTagLength;
    const o = out && out.length >= total ? out.subarray(0, total) : Buffer.allocUnsafe(total);
    if (o.buffer !== rtp.buffer || o.byteOffset !== rtp.byteOffset) rtp.copy(o, 0, 0, len);
    const seq = (rtp[2]! << 8) | rtp[3]!;
    const ssrc = rtp.readUInt32BE(8);
    const st = this.rtpStream(ssrc);
    const index = st.estimate(seq);
    if (index < 0) return this.fail('DPBX_ERR_SRTP_BAD_PACKET', 'RTP with a sequence before the stream start', ssrc);
    st.commit(index);
    this.rtpCipher.xorInPlace(o, h, len, this.rtpKeys.salt, ssrc, index);
    const tag = this.rtpTag(o, len, Math.floor(index / 0x10000));
    tag.copy(o, len, 0, this.rtpTagLength);
    this.counters.rtpProtected++;
    return o;
  }

  /**
   * SRTP → RTP: index estimation, replay check, authentication (constant-time compare), decryption.
   * Returns the RTP packet (a view of `out` when given, else a new buffer) or a failure code; the state
   * (ROC, replay window) only changes for authenticated packets.
   */
  unprotectRtp(srtp: Buffer, len: number = srtp.length, out?: Buffer): Buffer | SrtpFailure {
    if (len > srtp.length) len = srtp.length;
    if (len < 12 + this.rtpTagLength) return this.fail('DPBX_ERR_SRTP_TOO_SHORT', 'SRTP');
    const plainLen = len - this.rtpTagLength;
    const h = rtpHeaderLengthNoPadding(srtp, plainLen);
    if (h < 0) return this.fail('DPBX_ERR_SRTP_BAD_PACKET', 'SRTP');
    const seq = (srtp[2]! << 8) | srtp[3]!;
    const ssrc = srtp.readUInt32BE(8);
    const st = this.rtpStreams.get(ssrc);
    const index = st ? st.estimate(seq) : seq;
    if (st && !st.replay.check(index)) return this.fail('DPBX_ERR_SRTP_REPLAY', 'SRTP', ssrc);
    const tag = this.rtpTag(srtp, plainLen, Math.floor(index / 0x10000));
    if (!timingSafeEqual(tag.subarray(0, this.rtpTagLength), srtp.subarray(plainLen, len))) {
      return this.fail('DPBX_ERR_SRTP_AUTH_FAILED', 'SRTP', ssrc);
    }
    const s = st ?? this.rtpStream(ssrc);
    s.replay.accept(index);
    s.commit(index);
    const o = out && out.length >= plainLen ? out.subarray(0, plainLen) : Buffer.allocUnsafe(plainLen);
    if (o.buffer !== srtp.buffer || o.byteOffset !== srtp.byteOffset) srtp.copy(o, 0, 0, plainLen);
    this.rtpCipher.xorInPlace(o, h, plainLen, this.rtpKeys.salt, ssrc, index);
    this.counters.rtpUnprotected++;
    return o;
  }

  /** RTCP (compound) → SRTCP, encrypted (E=1), with the next SRTCP index of the first packet's SSRC. */
  protectRtcp(rtcp: Buffer, len: number = rtcp.length, out?: Buffer): Buffer | SrtpFailure {
    if (len > rtcp.length) len = rtcp.length;
    if (len < 8) return this.fail('DPBX_ERR_SRTP_TOO_SHORT', 'RTCP to protect');
    if (rtcp[0]! >> 6 !== 2) return this.fail('DPBX_ERR_SRTP_BAD_PACKET', 'RTCP to protect');
    const ssrc = rtcp.readUInt32BE(4);
    const st = this.rtcpStream(ssrc);
    const index = st.sendIndex;
    st.sendIndex = (st.sendIndex + 1) & 0x7fffffff;
    const total = len + 4 + this.rtcpTagLength;
    const o = out && out.length >= total ? out.subarray(0, total) : Buffer.allocUnsafe(total);
    if (o.buffer !== rtcp.buffer || o.byteOffset !== rtcp.byteOffset) rtcp.copy(o, 0, 0, len);
    this.rtcpCipher.xorInPlace(o, 8, len, this.rtcpKeys.salt, ssrc, index);
    o.writeUInt32BE((0x80000000 | index) >>> 0, len);
    const tag = this.rtcpHmac.digest(o.subarray(0, len + 4));
    tag.copy(o, len + 4, 0, this.rtcpTagLength);
    this.counters.rtcpProtected++;
    return o;
  }

  /** SRTCP → RTCP (authenticated; decrypted when the E flag is set); replay-checked per SSRC. */
  unprotectRtcp(srtcp: Buffer, len: number = srtcp.length, out?: Buffer): Buffer | SrtpFailure {
    if (len > srtcp.length) len = srtcp.length;
    if (len < 8 + 4 + this.rtcpTagLength) return this.fail('DPBX_ERR_SRTP_TOO_SHORT', 'SRTCP');
    if (srtcp[0]! >> 6 !== 2) return this.fail('DPBX_ERR_SRTP_BAD_PACKET', 'SRTCP');
    const authLen = len - this.rtcpTagLength;
    const plainLen = authLen - 4;
    const ssrc = srtcp.readUInt32BE(4);
    const word = srtcp.readUInt32BE(plainLen);
    const encrypted = (word & 0x80000000) !== 0;
    const index = word & 0x7fffffff;
    const st = this.rtcpStreams.get(ssrc);
    if (st && !st.replay.check(index)) return this.fail('DPBX_ERR_SRTP_REPLAY', 'SRTCP', ssrc);
    const tag = this.rtcpHmac.digest(srtcp.subarray(0, authLen));
    if (!timingSafeEqual(tag.subarray(0, this.rtcpTagLength), srtcp.subarray(authLen, len))) {
      return this.fail('DPBX_ERR_SRTP_AUTH_FAILED', 'SRTCP', ssrc);
    }
    (st ?? this.rtcpStream(ssrc)).replay.accept(index);
    const o = out && out.length >= plainLen ? out.subarray(0, plainLen) : Buffer.allocUnsafe(plainLen);
    if (o.buffer !== srtcp.buffer || o.byteOffset !== srtcp.byteOffset) srtcp.copy(o, 0, 0, plainLen);
    if (encrypted) this.rtcpCipher.xorInPlace(o, 8, plainLen, this.rtcpKeys.salt, ssrc, index);
    this.counters.rtcpUnprotected++;
    return o;
  }
}

/** RTP header length (fixed + CSRC + extension) within `len`, ignoring padding (encrypted in SRTP); -1 if invalid. */
function rtpHeaderLengthNoPadding(buf: Buffer, len: number): number {
  if (len < 12 || buf[0]! >> 6 !== 2) return -1;
  let off = 12 + 4 * (buf[0]! & 0x0f);
  if (off > len) return -1;
  if (buf[0]! & 0x10) {
    if (off + 4 > len) return -1;
    off += 4 + 4 * buf.readUInt16BE(off + 2);
    if (off > len) return -1;
  }
  return off;
}
