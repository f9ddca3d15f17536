/**
 * A transcoding pipeline for ONE direction of a call: decode → (channel map) → resample → re-packetise → encode.
 *
 * Pure and synchronous: the relay calls `push(payload, {timestamp, seq, marker})` per received RTP packet and
 * gets back the frames to send, each with its duration in units of the output RTP clock. Lost packets (gaps in
 * `seq`) are concealed with the input decoder's PLC; duplicates / late packets are counted and dropped (the relay
 * passes packets in arrival order; there is no jitter buffer here). Bad payloads and unexpected codec errors
 * become counted drops, never exceptions out of `push`.
 *
 * Hot path: the PCM FIFO, the output frame objects and their payload buffers are preallocated and reused; the
 * frames returned by one `push` are valid until the next call.
 */
import { CodecError, silentLogger, type CodecLogger } from './errors.js';
import { PCM_RATES, findCodec, type CodecInfo } from './registry.js';
import { Resampler, monoToStereo, stereoToMono } from './resampler.js';
import type { CodecOptions, Decoder, Encoder } from './types.js';

/** Longest input timestamp gap (s) reproduced in the output; larger jumps are discontinuities. */
const MAX_GAP_S = 600;

export interface PipelineEndpoint extends CodecOptions {
  /** SDP encoding name. */
  name: string;
}

export interface PipelineOptions {
  from: PipelineEndpoint;
  to: PipelineEndpoint;
  logger?: CodecLogger;
  /** Most lost frames concealed for one gap (longer gaps are treated as a new talkspurt); default 5. */
  maxConcealFrames?: number;
  /** Factories (defaults: the layer's createEncoder/createDecoder); injected to avoid an import cycle. */
  createEncoder: (name: string, opts: CodecOptions) => Encoder;
  createDecoder: (name: string, opts: CodecOptions) => Decoder;
}

export interface PushInfo {
  /** RTP timestamp of the packet (input clock). */
  timestamp: number;
  /** RTP sequence number (16-bit). */
  seq: number;
  marker?: boolean;
}

export interface PipelineFrame {
  payload: Buffer;
  /** Duration in units of the output RTP clock (e.g. 160 for 20 ms of G.722, 960 for 20 ms of opus). */
  samples: number;
  /** RTP timestamp to send with (output clock), continuous across the call. */
  timestamp: number;
  marker: boolean;
}

export interface PipelineCounters {
  packetsIn: number;
  framesOut: number;
  lostConcealed: number;
  /** Gaps in the input timestamps (silence suppression, long loss) carried over into the output timestamps. */
  gaps: number;
  /** Opus DTX frames not sent (encoder said "no need to transmit", RFC 7587 §3.1.3). */
  dtxSkipped: number;
  /** Packets with a payload the decoder rejected. */
  badPayload: number;
  /** Duplicate or out-of-order packets dropped. */
  reordered: number;
  /** Encoder failures and unexpected errors (frames dropped). */
  errors: number;
}

export class TranscodingPipeline {
  readonly from: CodecInfo;
  readonly to: CodecInfo;
  readonly decoder: Decoder;
  readonly encoder: Encoder;
  readonly counters: PipelineCounters = {
    packetsIn: 0, framesOut: 0, lostConcealed: 0, gaps: 0, dtxSkipped: 0, badPayload: 0, reordered: 0, errors: 0,
  };
  private readonly resampler: Resampler | null;
  private readonly logger: CodecLogger;
  private readonly maxConceal: number;
  private readonly outChannels: number;
  private readonly outFrame: number; // interleaved samples per output frame
  private fifo: Int16Array;
  /** fifo.subarray(0, outFrame), kept so the usual one-frame drain creates no view per packet. */
  private fifoHead: Int16Array;
  private fifoLen = 0;
  private chanBuf = new Int16Array(0);
  private lastSeq = -1;
  /** Input RTP timestamp the next packet should carry if no time was skipped (-1: unknown). */
  private expectInTs = -1;
  private outTs = -1;
  /** RTP timestamp units per PCM sample of the decoder / encoder (0.5 for G.722 at 16 kHz, 6 for opus at 8 kHz). */
  private readonly inTsPerSample: number;
  private readonly outTsPerSample: number;
  /** Opus DTX on: encoder outputs of ≤ 2 bytes are not sent. */
  private readonly dtx: boolean;
  private pendingMarker = false;
  private readonly frames: PipelineFrame[] = [];
  private readonly pool: Buffer[] = [];
  private readonly result: PipelineFrame[] = [];
  private closed = false;

  constructor(opts: PipelineOptions) {
    const f = findCodec(opts.from.name, opts.from.rate);
    const t = findCodec(opts.to.name, opts.to.rate);
    if (!f || !t) throw new CodecError('DPBX_ERR_CODEC_UNKNOWN', `pipeline: unknown codec ${!f ? opts.from.name : opts.to.name}`);
    this.from = f;
    this.to = t;
    this.logger = opts.logger ?? silentLogger;
    this.maxConceal = opts.maxConcealFrames ?? 5;
    // Codecs that can exchange PCM at several rates (opus, G.722) meet the other side at the highest rate both
    // can use, so no resampler runs in the common cases (PCMU ↔ opus at 8 kHz, G.722 ↔ opus at 16 kHz, ...).
    const fromRates = opts.from.pcmRate !== undefined ? [opts.from.pcmRate as number] : (PCM_RATES[f.name] ?? [f.sampleRate]);
    const toRates = opts.to.pcmRate !== undefined ? [opts.to.pcmRate as number] : (PCM_RATES[t.name] ?? [t.sampleRate]);
    const common = fromRates.filter((r) => toRates.includes(r)).sort((a, b) => b - a)[0];
    const fromOpts = common !== undefined && PCM_RATES[f.name] ? { ...opts.from, pcmRate: common } : opts.from;
    const toOpts = common !== undefined && PCM_RATES[t.name] ? { ...opts.to, pcmRate: common } : opts.to;
    this.decoder = opts.createDecoder(opts.from.name, fromOpts);
    this.encoder = opts.createEncoder(opts.to.name, toOpts);
    this.inTsPerSample = f.clockRate / this.decoder.sampleRate;
    this.outTsPerSample = t.clockRate / this.encoder.sampleRate;
    this.outChannels = this.encoder.channels;
    this.outFrame = this.encoder.frameSamples * this.outChannels;
    this.resampler =
      this.decoder.sampleRate === this.encoder.sampleRate
        ? null
        : new Resampler(this.decoder.sampleRate, this.encoder.sampleRate, { channels: this.outChannels });
    this.fifo = new Int16Array(this.outFrame * 8);
    this.fifoHead = this.fifo.subarray(0, this.outFrame);
    const d = opts.to.usedtx;
    this.dtx = this.to.name === 'opus' && (d === 1 || d === '1' || d === true);
  }

  /**
   * One received RTP packet (payload null = known lost). Returns the frames to send now (possibly none, e.g.
   * 20 ms in → 30 ms out buffers; possibly several).
   */
  push(payload: Buffer | null, info: PushInfo): PipelineFrame[] {
    const res = this.result;
    res.length = 0;
    if (this.closed) return res;
    try {
      this.counters.packetsIn++;
      const inTs = info.timestamp >>> 0;
      if (this.outTs < 0) this.outTs = Math.round((inTs * this.to.clockRate) / this.from.clockRate) >>> 0;
      if (this.lastSeq >= 0) {
        const delta = (info.seq - this.lastSeq) & 0xffff;
        // RFC 3550 §A.1: a sequence number at or behind the highest seen is a duplicate or late packet; with no
        // jitter buffer here it can only be dropped (its time slot was already filled or concealed).
        if (delta === 0 || delta >= 0x8000) {
          this.counters.reordered++;
          return res;
        }
        // RFC 3550 §5.1: the sequence number increments by one per packet, so a jump reveals lost packets; short
        // losses are concealed with the decoder's PLC (RFC 3551 §4.5 leaves concealment to the receiver).
        if (delta > 1 && delta - 1 <= this.maxConceal && !info.marker) {
          for (let i = 1; i < delta; i++) {
            this.counters.lostConcealed++;
            this.feedDecoded(this.decoder.conceal());
          }
        }
      }
      this.lastSeq = info.seq & 0xffff;
      let pcm: Int16Array;
      try {
        pcm = this.decoder.decode(payload);
      } catch (e) {
        if (e instanceof CodecError) {
          this.counters.badPayload++;
          this.logger.debug({ code: e.code, codec: this.from.name }, 'pipeline: payload dropped');
          return res;
        }
        throw e;
      }
      this.checkGap(inTs);
      // RFC 3551 §4.1: the marker goes on the first packet of a talk-spurt — after re-packetisation, on the first
      // output frame that holds this packet's first sample (anything buffered before was flushed by checkGap or
      // belongs to the previous frame).
      if (info.marker) this.pendingMarker = true;
      this.feedDecoded(pcm);
      this.drain();
    } catch (e) {
      this.counters.errors++;
      this.logger.warn({ err: (e as Error).message, from: this.from.name, to: this.to.name }, 'pipeline: frame dropped');
      res.length = 0;
    }
    return res;
  }

  /**
   * Forget the input stream's numbering (the relay calls this when the sender's SSRC changes): the next packet
   * is not compared with the previous one and starts a talk-spurt (marker).
   */
  resync(): void {
    this.lastSeq = -1;
    this.expectInTs = -1;
    this.pendingMarker = true;
  }

  /**
   * RFC 3550 §5.1: "The timestamp reflects the sampling instant of the first octet in the RTP data packet" — so
   * time that passed in the input without audio (silence suppression / DTX, or a loss too long to conceal)
   * must pass in the output too: the partial frame buffered so far is sent (padded with silence) and the output
   * timestamp jumps by the rest of the gap. A jump backwards or of more than MAX_GAP_S is a timestamp
   * discontinuity (the sender restarted its clock): no time is inserted, the next frame carries the marker.
   */
  private checkGap(inTs: number): void {
    const expected = this.expectInTs;
    if (expected < 0) {
      this.expectInTs = inTs;
      return;
    }
    const gap = (inTs - expected) | 0; // signed 32-bit difference (wrap-around safe)
    const clock = this.from.clockRate;
    if (gap === 0 || (gap > 0 && gap * 1000 < clock)) {
      // < 1 ms off: rounding of a concealed frame's length, not a gap
      this.expectInTs = inTs;
      return;
    }
    if (gap < 0 || gap > MAX_GAP_S * clock) {
      if (gap < -clock / 50 || gap > 0) this.pendingMarker = true;
      this.expectInTs = inTs;
      return;
    }
    this.counters.gaps++;
    let outGap = (gap * this.to.clockRate) / clock;
    if (this.fifoLen > 0) {
      // flush what is buffered as one frame padded with silence; that frame covers part of the gap
      const n = this.outFrame;
      const pad = n - this.fifoLen;
      this.fifo.fill(0, this.fifoLen, n);
      this.fifoLen = n;
      this.drain();
      outGap -= (pad / this.outChannels) * this.outTsPerSample;
    }
    if (outGap > 0) this.outTs = (this.outTs + Math.round(outGap)) >>> 0;
    this.expectInTs = inTs;
  }

  /** Decoded PCM (decoder rate/channels) → FIFO at encoder rate/channels; advances the expected input ts. */
  private feedDecoded(pcm: Int16Array): void {
    if (this.expectInTs >= 0) {
      const dur = (pcm.length / this.decoder.channels) * this.inTsPerSample;
      this.expectInTs = (this.expectInTs + Math.round(dur)) >>> 0;
    }
    let x = pcm;
    const dc = this.decoder.channels;
    if (dc !== this.outChannels) {
      const need = dc === 2 ? x.length >> 1 : x.length * 2;
      if (this.chanBuf.length < need) this.chanBuf = new Int16Array(need);
      x = dc === 2 ? stereoToMono(x, this.chanBuf) : monoToStereo(x, this.chanBuf);
    }
    if (this.resampler) x = this.resampler.process(x);
    if (this.fifoLen + x.length > this.fifo.length) {
      const g = new Int16Array((this.fifoLen + x.length) * 2);
      g.set(this.fifo.subarray(0, this.fifoLen));
      this.fifo = g;
      this.fifoHead = g.subarray(0, this.outFrame);
    }
    this.fifo.set(x, this.fifoLen);
    this.fifoLen += x.length;
  }

  private drain(): void {
    const n = this.outFrame;
    let off = 0;
    const dur = Math.round(this.encoder.frameSamples * this.outTsPerSample);
    while (this.fifoLen - off >= n) {
      const idx = this.result.length;
      let payload: Buffer;
      try {
        payload = this.encoder.encode(off === 0 ? this.fifoHead : this.fifo.subarray(off, off + n));
      } catch (e) {
        this.counters.errors++;
        this.logger.warn({ err: (e as Error).message, codec: this.to.name }, 'pipeline: encode failed');
        off += n;
        continue;
      }
      off += n;
      // RFC 7587 §3.1.3 / libopus: with DTX a packet of 2 bytes or less "does not need to be transmitted"; its
      // time still passes (the next sent frame's timestamp is later) and the next sent frame starts a talk-spurt
      // (RFC 3551 §4.1: marker on the first packet after silence).
      if (this.dtx && payload.length <= 2) {
        this.counters.dtxSkipped++;
        this.outTs = (this.outTs + dur) >>> 0;
        this.pendingMarker = true;
        continue;
      }
      let buf = this.pool[idx];
      if (!buf || buf.length < payload.length) {
        buf = Buffer.allocUnsafe(Math.max(payload.length, 1500));
        this.pool[idx] = buf;
      }
      payload.copy(buf, 0);
      let fr = this.frames[idx];
      if (!fr) {
        fr = { payload: buf, samples: 0, timestamp: 0, marker: false };
        this.frames[idx] = fr;
      }
      // a new view only when the length (or the pool buffer) changed: constant-size codecs allocate nothing here
      if (fr.payload.length !== payload.length || fr.payload.buffer !== buf.buffer || fr.payload.byteOffset !== buf.byteOffset)
        fr.payload = buf.subarray(0, payload.length);
      fr.samples = dur;
      fr.timestamp = this.outTs;
      fr.marker = this.pendingMarker;
      this.pendingMarker = false;
      this.outTs = (this.outTs + dur) >>> 0;
      this.result.push(fr);
      this.counters.framesOut++;
    }
    if (off > 0) {
      this.fifo.copyWithin(0, off, this.fifoLen);
      this.fifoLen -= off;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.close();
    this.encoder.close();
  }
}
