/**
 * Transcoder plugin for media/relay (its `CreateTranscoder` contract, matched structurally so codecs/ does not
 * import media/): give the relay this module's path, e.g.
 *   createRelay({ transcoder: fileURLToPath(import.meta.resolve('dragon-pbx/codecs/relay-transcoder')) })
 * or, inside the repository, `dist/codecs/relay-transcoder.js`.
 *
 * Each direction gets one TranscodingPipeline (decode → resample → re-packetise → encode, PLC on sequence gaps,
 * bad payloads counted). Unsupported pairs throw a CodecError, which the relay reports as
 * DPBX_ERR_RELAY_TRANSCODER.
 *
 * Per packet: a payload the decoder rejects (wrong size, garbage) makes `transcode` throw one preallocated
 * CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD') — the relay counts it in the leg's `drops.transcodeError` and drops the
 * packet (the pipeline counts it too, in `counters.badPayload`); nothing else ever throws. Frames carry `marker`
 * (start of a talk-spurt after re-packetisation) and `gapSamples` (time skipped before the frame: input silence
 * suppression, opus DTX, a loss too long to conceal) so the relay's output timestamps follow RFC 3550 §5.1.
 * A new input SSRC resynchronises the pipeline (no concealment across streams, marker on the next frame).
 */
import { CodecError } from './errors.js';
import { createTranscoder as createPipeline, findCodec, parseFmtp } from './index.js';
import type { CodecOptions } from './types.js';
import type { PipelineCounters, PushInfo, TranscodingPipeline } from './pipeline.js';

/** Structural copies of media/relay's TranscoderCodec / TranscoderSpec / RtpMeta / TranscodedFrame / Transcoder. */
export interface RelayCodec {
  name: string;
  rate: number;
  channels: number;
  pt: number;
  ptime: number;
  /** a=fmtp parameters: the SDP string ("useinbandfec=1;usedtx=1") or already parsed. */
  fmtp?: string | Record<string, string>;
}
export interface RelaySpec {
  from: RelayCodec;
  to: RelayCodec;
}
export interface RelayRtpMeta {
  pt: number;
  seq: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
}
export interface RelayFrame {
  payload: Uint8Array;
  durationSamples: number;
  /** RTP marker bit for this frame (talk-spurt start). */
  marker: boolean;
  /** Output-clock samples to add to the timestamp BEFORE this frame (0 = continuous). */
  gapSamples: number;
}
export interface RelayTranscoder {
  transcode(payload: Uint8Array, meta: RelayRtpMeta): RelayFrame[] | null;
  close(): void;
  /** Drop / error counters of the underlying pipeline. */
  readonly counters: PipelineCounters;
  /** The underlying pipeline (diagnostics). */
  readonly pipeline: TranscodingPipeline;
}

function endpoint(c: RelayCodec): CodecOptions & { name: string } {
  const info = findCodec(c.name, c.rate);
  const isOpus = c.name.toLowerCase() === 'opus';
  const fmtp: Record<string, string> = typeof c.fmtp === 'string' ? parseFmtp(c.fmtp) : { ...(c.fmtp ?? {}) };
  // opus encoder complexity is a local CPU/quality choice, not SDP: DPBX_OPUS_COMPLEXITY (0..10) sets it for
  // every transcoded opus leg of this process (the plugin runs inside relay workers, so env is its only input)
  const cx = process.env.DPBX_OPUS_COMPLEXITY;
  if (isOpus && cx !== undefined && cx !== '' && fmtp.complexity === undefined) fmtp.complexity = cx;
  // AMR: RFC 4867 §8.1 — without octet-align=1 in the SDP the payload is bandwidth-efficient, so the registry's
  // default (what WE offer) applies only when the relay gave no fmtp at all
  const defaults = c.fmtp === undefined ? (info?.fmtp ?? {}) : {};
  return {
    ...defaults,
    ...fmtp,
    name: c.name,
    rate: c.rate,
    // RFC 7587 §7: opus is always "/2" in SDP; stereo=1 in the fmtp says the receiver wants stereo
    channels: isOpus ? (c.channels === 1 ? 1 : c.channels === 2 && fmtp.stereo === '1' ? 2 : 1) : 1,
    ptime: c.ptime > 0 ? c.ptime : (info?.defaultPtime ?? 20),
  };
}

/** Thrown (one shared instance: no stack capture per bad packet) for a payload the decoder rejected. */
const BAD_PAYLOAD = new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', 'transcoder: payload rejected by the decoder (counted, dropped)');

export function createTranscoder(spec: RelaySpec): RelayTranscoder {
  const pipeline = createPipeline({ from: endpoint(spec.from), to: endpoint(spec.to) });
  const counters = pipeline.counters;
  const frames: RelayFrame[] = [];
  let ssrc = -1;
  /** Output timestamp (pipeline space) the next frame continues from, -1 before the first frame. */
  let nextTs = -1;
  /** Reused per packet (push reads it synchronously and keeps no reference). */
  const info: PushInfo = { seq: 0, timestamp: 0, marker: false };
  return {
    counters,
    pipeline,
    transcode(payload: Uint8Array, meta: RelayRtpMeta): RelayFrame[] | null {
      if (meta.ssrc !== ssrc) {
        if (ssrc !== -1) pipeline.resync();
        ssrc = meta.ssrc;
      }
      const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      const bad = counters.badPayload + counters.errors;
      info.seq = meta.seq;
      info.timestamp = meta.timestamp;
      info.marker = meta.marker;
      const out = pipeline.push(buf, info);
      if (counters.badPayload + counters.errors !== bad) throw BAD_PAYLOAD;
      if (out.length === 0) return null;
      frames.length = out.length;
      for (let i = 0; i < out.length; i++) {
        const f = out[i]!;
        const gap = nextTs < 0 ? 0 : (f.timestamp - nextTs) >>> 0;
        nextTs = (f.timestamp + f.samples) >>> 0;
        let r = frames[i];
        if (!r) {
          r = { payload: f.payload, durationSamples: 0, marker: false, gapSamples: 0 };
          frames[i] = r;
        }
        r.payload = f.payload;
        r.durationSamples = f.samples;
        r.marker = f.marker;
        r.gapSamples = gap < 0x80000000 ? gap : 0;
      }
      return frames;
    },
    close(): void {
      pipeline.close();
    },
  };
}

export default createTranscoder;
