/**
 * Codec object contracts (DESIGN.md "dragon-pbx/codecs").
 *
 * Buffers returned by `encode`/`decode` MAY be reused by the next call on the same object (hot path, no
 * per-packet allocation): copy them if you keep them beyond that.
 */
export interface CodecOptions {
  /** SDP clock rate; defaults to the registry's (8000 for G722, 48000 for opus). */
  rate?: number;
  /** Channels (opus: 1 or 2 in the PCM; others: 1). */
  channels?: number;
  /** Samples per channel per frame at the codec's real sample rate; default from ptime or the registry. */
  frameSamples?: number;
  /** Packetisation time in ms, used when frameSamples is absent. */
  ptime?: number;
  /**
   * Sample rate of the PCM the codec object takes / gives, when the codec can work at several (the RTP clock does
   * not change): G722 16000 (default) or 8000 (narrow-band shortcut, see g722.ts); opus 48000 (default), 24000,
   * 16000, 12000 or 8000 (libopus resamples internally). The transcoding pipeline picks the other side's rate so
   * no resampler runs. Other codecs accept only their own rate.
   */
  pcmRate?: number;
  /** Any fmtp parameters (strings or numbers), e.g. useinbandfec, usedtx, maxaveragebitrate, octet-align. */
  [fmtp: string]: unknown;
}

export interface Encoder {
  readonly name: string;
  /** Real audio sample rate of the PCM taken by encode (G722: 16000 although SDP says 8000). */
  readonly sampleRate: number;
  readonly channels: number;
  /** Samples per channel of one frame for this encoder (its ptime). */
  readonly frameSamples: number;
  /** Encodes one frame (`frameSamples * channels` interleaved samples) into one RTP payload. */
  encode(pcm: Int16Array): Buffer;
  close(): void;
}

export interface Decoder {
  readonly name: string;
  readonly sampleRate: number;
  readonly channels: number;
  readonly frameSamples: number;
  /**
   * Decodes one RTP payload into interleaved PCM. `null` means "this packet was lost": the decoder conceals
   * (Opus PLC, repeat-attenuate for G.722/GSM/G.711, AMR's own substitution) and returns `frameSamples`.
   * Throws CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD') on malformed input.
   */
  decode(payload: Buffer | null): Int16Array;
  /** Same as decode(null). */
  conceal(): Int16Array;
  close(): void;
}
