/**
 * Opus (RFC 6716, RTP payload RFC 7587) at 48 kHz, mono or stereo, through `@discordjs/opus` (its bundled libopus).
 *
 * fmtp honoured on the encoder: useinbandfec (OPUS_SET_INBAND_FEC + an expected loss of 10 %), usedtx
 * (OPUS_SET_DTX; the pipeline then does not send the ≤ 2-byte DTX frames), maxaveragebitrate (OPUS_SET_BITRATE,
 * clamped to 6000..510000), maxplaybackrate (OPUS_SET_MAX_BANDWIDTH when it is below the PCM rate's band, and
 * then, without maxaveragebitrate, the bit rate libopus picks for PCM at that band's rate),
 * stereo/sprop-stereo only inform the channel count chosen by the caller. Local option
 * `complexity` (0..10; default OPUS_DEFAULT_COMPLEXITY = 5 for PCM up to 16 kHz, libopus's 10 above). The PCM may be 48, 24, 16, 12 or 8 kHz (`pcmRate`; the RTP clock stays 48000): libopus
 * resamples internally, so PCMU ↔ opus needs no resampler of ours. Decoding a lost packet (`decode(null)`) runs
 * libopus PLC.
 * FEC decoding of the *next* packet's redundancy is not reachable: the binding always calls opus_decode with
 * decode_fec = 0 (see docs/codecs.md).
 */
import { createRequire } from 'node:module';
import { CodecError } from './errors.js';
import type { Decoder, Encoder } from './types.js';

interface OpusNative {
  encode(buf: Buffer): Buffer;
  decode(buf: Buffer): Buffer;
  applyEncoderCTL(ctl: number, value: number): void;
  applyDecoderCTL(ctl: number, value: number): void;
  setBitrate(bitrate: number): void;
  getBitrate(): number;
}
type OpusCtor = new (rate: number, channels: number) => OpusNative;

let ctor: OpusCtor | null | undefined;
let loadError = '';

/** The binding, or null with `opusStatus()` telling why. */
export function opusBinding(): OpusCtor | null {
  if (ctor === undefined) {
    try {
      ctor = (createRequire(import.meta.url)('@discordjs/opus') as { OpusEncoder: OpusCtor }).OpusEncoder;
    } catch (e) {
      ctor = null;
      loadError = (e as Error).message.split('\n')[0] ?? 'unknown';
    }
  }
  return ctor;
}

export function opusStatus(): { available: boolean; reason?: string } {
  return opusBinding() ? { available: true } : { available: false, reason: `@discordjs/opus not loadable: ${loadError}` };
}

// libopus CTL request numbers (opus_defines.h)
const OPUS_SET_APPLICATION = 4000;
const OPUS_SET_BITRATE = 4002;
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const OPUS_SET_DTX = 4016;
const OPUS_SET_COMPLEXITY = 4010;
const OPUS_SET_MAX_BANDWIDTH = 4004;
const OPUS_APPLICATION_VOIP = 2048;
// OPUS_BANDWIDTH_* (opus_defines.h): the audio bandwidth a packet codes, by the sample rate that carries it
const OPUS_BANDWIDTH_NARROWBAND = 1101; // 4 kHz audio, 8 kHz rate
const OPUS_BANDWIDTH_MEDIUMBAND = 1102; // 6 kHz, 12 kHz
const OPUS_BANDWIDTH_WIDEBAND = 1103; // 8 kHz, 16 kHz
const OPUS_BANDWIDTH_SUPERWIDEBAND = 1104; // 12 kHz, 24 kHz
const OPUS_BANDWIDTH_FULLBAND = 1105; // 20 kHz, 48 kHz
/** Sample rate of each OPUS_BANDWIDTH_* (index: value − OPUS_BANDWIDTH_NARROWBAND). */
const BAND_RATE = [8000, 12000, 16000, 24000, 48000];

/**
 * RFC 7587 §6.1 maxplaybackrate (the receiver's highest rendering rate, "any value between 8000 and 48000") → the
 * OPUS_SET_MAX_BANDWIDTH value for it: the widest opus bandwidth whose sample rate does not exceed it. Values
 * outside 8000..48000 are clamped; anything that is not a number gives undefined (the parameter is ignored, like
 * any fmtp parameter a receiver does not understand: remote SDP must not fail a call).
 */
export function opusMaxBandwidth(maxplaybackrate: unknown): number | undefined {
  const r = typeof maxplaybackrate === 'number' ? maxplaybackrate : typeof maxplaybackrate === 'string' && /^\s*\d+\s*$/.test(maxplaybackrate) ? Number(maxplaybackrate) : NaN;
  if (!Number.isFinite(r)) return undefined;
  if (r < 12000) return OPUS_BANDWIDTH_NARROWBAND;
  if (r < 16000) return OPUS_BANDWIDTH_MEDIUMBAND;
  if (r < 24000) return OPUS_BANDWIDTH_WIDEBAND;
  if (r < 48000) return OPUS_BANDWIDTH_SUPERWIDEBAND;
  return OPUS_BANDWIDTH_FULLBAND;
}

/**
 * Encoder complexity used for PCM at 8, 12 or 16 kHz unless the `complexity` option says otherwise (libopus's own
 * default is 10). There libopus codes SILK only (narrow/medium/wide band), whose settings change only at
 * complexity 2, 3, 4, 6 and 8; 4..5 (2 delayed-decision quantiser states, medium pitch search, 6 NLSF survivors)
 * costs about half of 8..10 (4 states, full pitch search, 16 survivors) at the same bit rate; measured on
 * PCMU ↔ opus at 8 kHz: 1 kHz tone SNR 15.9 dB instead of 17.5 dB, espeak-ng speech waveform SNR unchanged
 * (8.4 dB). 5 is also WebRTC's setting on phones. At 24/48 kHz PCM libopus's default stays: there a lower
 * complexity makes libopus choose hybrid instead of CELT-only coding, which costs MORE (measured at 48 kHz:
 * 143 µs at 5 vs 106 µs at 10 per 20 ms). docs/codecs.md has the table.
 */
export const OPUS_DEFAULT_COMPLEXITY = 5;
/** libopus's own default, used at 24/48 kHz PCM. */
const LIBOPUS_DEFAULT_COMPLEXITY = 10;

function flag(v: unknown): boolean {
  return v === true || v === 1 || v === '1';
}

function make(channels: number, rate: number): OpusNative {
  const C = opusBinding();
  if (!C) throw new CodecError('DPBX_ERR_CODEC_UNAVAILABLE', opusStatus().reason ?? 'opus unavailable');
  if (channels !== 1 && channels !== 2) throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `opus: channels ${channels}`);
  return new C(rate, channels);
}

/** Frame durations libopus codes: 2.5, 5, 10, 20, 40, 60 ms. */
const VALID_MS = new Set([2.5, 5, 10, 20, 40, 60]);

export class OpusEncoderImpl implements Encoder {
  readonly name = 'opus';
  private readonly native: OpusNative;
  readonly fec: boolean;
  readonly dtx: boolean;
  readonly bitrate: number | undefined;
  /** OPUS_SET_COMPLEXITY: the `complexity` option, else OPUS_DEFAULT_COMPLEXITY up to 16 kHz PCM, 10 above. */
  readonly complexity: number;
  /** OPUS_SET_MAX_BANDWIDTH set from the receiver's `maxplaybackrate` (OPUS_BANDWIDTH_*), undefined: not set. */
  readonly maxBandwidth: number | undefined;

  /** `sampleRate`: rate of the PCM taken (48000, or 24/16/12/8 kHz: libopus codes it at that bandwidth). */
  constructor(readonly channels: number, readonly frameSamples: number, fmtp: Record<string, unknown>, readonly sampleRate = 48000) {
    if (!VALID_MS.has((frameSamples * 1000) / sampleRate))
      throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `opus: frame of ${frameSamples} samples is not 2.5..60 ms`);
    this.native = make(channels, sampleRate);
    this.native.applyEncoderCTL(OPUS_SET_APPLICATION, OPUS_APPLICATION_VOIP);
    this.fec = flag(fmtp.useinbandfec);
    this.dtx = flag(fmtp.usedtx);
    if (this.fec) {
      this.native.applyEncoderCTL(OPUS_SET_INBAND_FEC, 1);
      this.native.applyEncoderCTL(OPUS_SET_PACKET_LOSS_PERC, 10);
    }
    if (this.dtx) this.native.applyEncoderCTL(OPUS_SET_DTX, 1);
    // Not an SDP parameter: a local CPU/quality trade-off, OPUS_DEFAULT_COMPLEXITY unless given (see there).
    const c =
      fmtp.complexity !== undefined ? Number(fmtp.complexity) : sampleRate <= 16000 ? OPUS_DEFAULT_COMPLEXITY : LIBOPUS_DEFAULT_COMPLEXITY;
    if (!Number.isInteger(c) || c < 0 || c > 10)
      throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `opus: complexity=${String(fmtp.complexity)} (0..10)`);
    this.complexity = c;
    this.native.applyEncoderCTL(OPUS_SET_COMPLEXITY, c);
    if (fmtp.maxaveragebitrate !== undefined) {
      const b = Number(fmtp.maxaveragebitrate);
      if (!Number.isFinite(b) || b <= 0)
        throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `opus: maxaveragebitrate=${String(fmtp.maxaveragebitrate)}`);
      this.bitrate = Math.min(510000, Math.max(6000, Math.round(b)));
      this.native.applyEncoderCTL(OPUS_SET_BITRATE, this.bitrate);
    }
    // RFC 7587 §6.1 maxplaybackrate: "an encoder SHOULD NOT encode frequencies above the audio bandwidth
    // specified by maxplaybackrate" (a hint of the receiver's highest rendering rate).
    // Only set when it narrows what the PCM rate allows (libopus already never codes above the input's band).
    const bw = opusMaxBandwidth(fmtp.maxplaybackrate);
    if (bw !== undefined && bw < (opusMaxBandwidth(sampleRate) ?? OPUS_BANDWIDTH_FULLBAND)) {
      this.maxBandwidth = bw;
      this.native.applyEncoderCTL(OPUS_SET_MAX_BANDWIDTH, bw);
      if (this.bitrate === undefined) {
        // libopus's automatic bit rate follows the PCM rate (60·Fs/frame_size + Fs·channels, opus_encoder.c),
        // ~51 kbit/s at 48 kHz, and would then be spent on the narrow band (46 kbit/s narrow-band SILK measured:
        // 5× the packet size, 3× the decoding CPU of the far end). Use what it picks for PCM at the band's rate:
        // 11 kbit/s narrow band, 19 kbit/s wide band (20 ms, mono) — what our own 8/16 kHz encoders send.
        const bandRate = BAND_RATE[bw - OPUS_BANDWIDTH_NARROWBAND]!;
        this.bitrate = Math.round(60000 / ((frameSamples * 1000) / sampleRate) + bandRate * channels);
        this.native.applyEncoderCTL(OPUS_SET_BITRATE, this.bitrate);
      }
    }
  }

  encode(pcm: Int16Array): Buffer {
    if (pcm.length !== this.frameSamples * this.channels)
      throw new CodecError('DPBX_ERR_CODEC_FRAME_SIZE', `opus: expected ${this.frameSamples * this.channels} samples, got ${pcm.length}`);
    // the binding takes a Buffer: reuse the one made for the same array last time (pipelines pass one FIFO view)
    if (pcm !== this.pcmSrc) {
      this.pcmSrc = pcm;
      this.pcmBuf = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    }
    return this.native.encode(this.pcmBuf);
  }

  private pcmSrc: Int16Array | null = null;
  private pcmBuf: Buffer = Buffer.alloc(0);

  close(): void {}
}

export class OpusDecoderImpl implements Decoder {
  readonly name = 'opus';
  private readonly native: OpusNative;
  private static readonly EMPTY = Buffer.alloc(0);
  /** TOC byte of the last decoded packet (-1: none yet). */
  private lastToc = -1;
  private readonly plcPacket = Buffer.alloc(2);

  /** `sampleRate`: rate of the PCM given (libopus decodes any opus packet at 48/24/16/12/8 kHz). */
  constructor(readonly channels: number, readonly frameSamples: number, readonly sampleRate = 48000) {
    this.native = make(channels, sampleRate);
  }

  decode(payload: Buffer | null): Int16Array {
    if (payload === null) return this.concealOne();
    if (payload.length === 0) throw new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', 'opus: empty payload');
    let b: Buffer;
    try {
      b = this.native.decode(payload);
    } catch (e) {
      throw new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', `opus: ${(e as Error).message}`);
    }
    this.lastToc = payload[0]!;
    return pcmView(b, b.length >> 1);
  }

  /**
   * PLC for one frame. The binding's own loss call (an empty buffer) makes libopus conceal its whole output buffer
   * (5,760 samples: 120 ms at 48 kHz, 720 ms at 8 kHz) and we would use the first frame of it. Instead we decode a
   * packet of zero-length frames in the last packet's configuration: libopus runs its PLC for frames of at most
   * 1 byte ("payloads of 1 or 0 trigger the PLC/DTX", opus_decoder.c; RFC 6716 §3.2.1 zero-length frames), for
   * exactly that duration — one frame's CPU instead of 120–720 ms' worth, and consecutive losses continue the
   * concealment where the previous one stopped.
   */
  private concealOne(): Int16Array {
    const want = this.frameSamples * this.channels;
    if (this.lastToc < 0) {
      // nothing received yet: libopus returns silence for a loss before any packet
      const b = this.native.decode(OpusDecoderImpl.EMPTY);
      return pcmView(b, Math.min(b.length >> 1, want));
    }
    const toc = this.lastToc & 0xfc; // same mode, bandwidth, frame size and stereo flag
    const frames = Math.max(1, Math.min(48, Math.round((this.frameSamples * 1000) / this.sampleRate / tocFrameMs(toc))));
    let pkt: Buffer;
    if (frames === 1) {
      this.plcPacket[0] = toc; // code 0: one frame, here of length 0
      pkt = this.plcPacket.subarray(0, 1);
    } else {
      this.plcPacket[0] = toc | 3; // code 3, CBR, no padding: `frames` frames of length 0 (RFC 6716 §3.2.5)
      this.plcPacket[1] = frames;
      pkt = this.plcPacket;
    }
    let b: Buffer;
    try {
      b = this.native.decode(pkt);
    } catch {
      b = this.native.decode(OpusDecoderImpl.EMPTY); // not expected: libopus accepts these packets
    }
    return pcmView(b, Math.min(b.length >> 1, want));
  }

  conceal(): Int16Array {
    return this.decode(null);
  }

  close(): void {}
}

/** Duration in ms of one frame of a packet with this TOC byte (RFC 6716 §3.1, Table 2). */
function tocFrameMs(toc: number): number {
  const config = toc >> 3;
  if (config < 12) return [10, 20, 40, 60][config & 3]!; // SILK-only
  if (config < 16) return (config & 1) === 0 ? 10 : 20; // hybrid
  return [2.5, 5, 10, 20][config & 3]!; // CELT-only
}

/** Int16 view over a native-decoded buffer (copies only if the buffer is oddly aligned). */
function pcmView(b: Buffer, n: number): Int16Array {
  if ((b.byteOffset & 1) === 0) return new Int16Array(b.buffer, b.byteOffset, n);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = b.readInt16LE(2 * i);
  return out;
}
